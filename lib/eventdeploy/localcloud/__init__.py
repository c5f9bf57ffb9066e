"""The embedded local cloud: moto's server plus eventdeploy's extensions.

Only `eventdeploy.aws` and the runner may import this package; everything else talks plain boto3.
"""

from eventdeploy.localcloud.lifecycle import (
    LocalCloudError,
    LocalCloudStatus,
    reset,
    start,
    status,
    stop,
)

__all__ = ["LocalCloudError", "LocalCloudStatus", "reset", "start", "status", "stop"]
