"""Step Functions that really run: per-account integrations, Lambda error names, emulated waits, AWS's API
shapes, CodeBuild ``.sync`` and status-change events (implementation in ``localcloud/stepfunctions/``)."""

from __future__ import annotations

from eventdeploy.localcloud.extensions import ExtensionContext


def install(ctx: ExtensionContext) -> None:
    """Patch moto's Step Functions interpreter and API, and clear our bookkeeping on reset."""
    from eventdeploy.localcloud.stepfunctions import (
        codebuild_task,
        emulated_time,
        error_matching,
        errors,
        execution_end,
        executions,
        json_values,
        lambda_errors,
        member_names,
        service_clients,
        status_events,
        task_timeouts,
        task_tokens,
    )

    errors.install()
    service_clients.install()
    lambda_errors.install()
    task_timeouts.install()
    error_matching.install()
    emulated_time.install()
    json_values.install()
    member_names.install()
    executions.install()
    task_tokens.install()
    execution_end.install()
    codebuild_task.install()
    status_events.install()
    ctx.on_reset(service_clients.clear)
    ctx.on_reset(status_events.clear)
    ctx.on_shutdown(status_events.dispatcher.stop)
