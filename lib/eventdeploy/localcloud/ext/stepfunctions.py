"""Step Functions that really run as AWS documents: integrations in the owning account with Step Functions'
member names, Lambda error names, Retry/Catch wildcards, emulated waits and execution timeouts, AWS's API shapes
and errors, task tokens, stop/timeout endings, CodeBuild ``.sync``, status-change events and AWS/States metrics.
The implementation lives in ``localcloud/stepfunctions/``, one concern per module."""

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
        lambda_results,
        member_names,
        service_clients,
        status_events,
        task_timeouts,
        task_tokens,
    )

    errors.install()
    service_clients.install()
    lambda_errors.install()
    lambda_results.install()
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
