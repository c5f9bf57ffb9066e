"""Install AWS service events for ECR, CloudFormation and AWS Config (see ``localcloud/service_events``)."""

from __future__ import annotations

import threading

from eventdeploy.localcloud.extensions import ExtensionContext
from eventdeploy.localcloud.service_events import (
    cfn_custom_resources,
    cfn_events,
    cfn_lifecycle,
    cfn_local_resources,
    cfn_patch,
    cfn_schema,
    config_api,
    config_change_triggers,
    config_schedule,
    config_store,
    ecr_events,
)


def install(ctx: ExtensionContext) -> None:
    """Patch moto's ECR, CloudFormation and Config so their state changes reach the default bus."""
    ecr_events.install()
    cfn_patch.install()
    config_api.install()
    config_change_triggers.install()
    config_schedule.install()
    ctx.route(cfn_local_resources.SIGNAL_ROUTE, cfn_local_resources.signal_route)
    ctx.route(cfn_custom_resources.RESPONSE_ROUTE, cfn_custom_resources.response_route)
    ctx.on_reset(cfn_events.reset)
    ctx.on_reset(cfn_local_resources.reset)
    ctx.on_reset(cfn_custom_resources.reset)
    ctx.on_reset(cfn_lifecycle.reset)
    ctx.on_reset(config_store.store.clear)
    ctx.on_reset(config_change_triggers.reset)
    ctx.on_reset(config_schedule.reset)
    ctx.on_shutdown(config_change_triggers.shutdown)
    ctx.on_shutdown(config_schedule.shutdown)
    # Reading the registry schemas takes seconds: do it now rather than in the first CreateStack.
    threading.Thread(target=cfn_schema.registry_types, args=("us-east-1",), name="cfn-schemas", daemon=True).start()
