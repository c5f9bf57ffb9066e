"""Install the depth-independent SQS message store into moto (see ``eventdeploy.localcloud.sqs_fast``)."""

from __future__ import annotations

from eventdeploy.localcloud import sqs_fast
from eventdeploy.localcloud.extensions import ExtensionContext

# Early: it replaces moto's SQS storage outright, so extensions that wrap SQS methods must wrap this version.
ORDER = 10


def install(ctx: ExtensionContext) -> None:
    """Replace moto's list-scanning SQS queue internals with the indexed store."""
    sqs_fast.install()
