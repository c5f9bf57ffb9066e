"""Idempotent provisioning: each ``ensure_*`` brings one resource to its desired state and returns its ARN.

One module per service. Every resource is named from the run's prefix, tagged with the project and run id, and
recorded in the run folder's manifest, so a second run changes nothing and ``99_teardown`` can remove it all.
"""

from eventdeploy.provision.context import Provisioner

__all__ = ["Provisioner"]
