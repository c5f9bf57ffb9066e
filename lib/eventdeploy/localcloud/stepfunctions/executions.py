"""Execution API shapes as AWS documents them: generated names, StartSyncExecution, DescribeExecution,
ListExecutions, GetExecutionHistory paging, SendTaskFailure's cause, SendTaskSuccess's output check, and Express
executions started by StartExecution (asynchronous, an ``:express:`` ARN, and not visible to the Standard-only APIs).

https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html ("Executions of an EXPRESS
state machine aren't supported by DescribeExecution"; likewise GetExecutionHistory, StopExecution and ListExecutions)
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from eventdeploy.localcloud.stepfunctions import json_values

# StartExecution's documented name rules: 1-80 characters, none of these.
_FORBIDDEN_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
MAX_NAME_LENGTH = 80
DEFAULT_HISTORY_PAGE = 100
MAX_HISTORY_PAGE = 1000


def generated_name() -> str:
    """The name AWS gives an execution started without one: a UUID."""
    return str(uuid.uuid4())


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid execution name, or None when it is."""
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        return f"Invalid Name: '{name}' (must be 1 to {MAX_NAME_LENGTH} characters)"
    bad = _FORBIDDEN_NAME.search(name)
    if bad:
        return f"Invalid Name: '{name}' (character {bad.group(0)!r} is not allowed)"
    return None


def history_page(
    events: list[dict[str, Any]], max_results: int | None, next_token: str | None, reverse: bool,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of history events (ascending ids unless ``reverse``) and the token of the next page."""
    ordered = list(reversed(events)) if reverse else list(events)
    size = max_results or DEFAULT_HISTORY_PAGE
    if not 1 <= size <= MAX_HISTORY_PAGE:
        raise ValueError(f"maxResults {size} must be between 1 and {MAX_HISTORY_PAGE}")
    start = decode_token(next_token) if next_token else 0
    page = ordered[start:start + size]
    following = start + size
    return page, (encode_token(following) if following < len(ordered) else None)


def encode_token(offset: int) -> str:
    """Opaque pagination token for ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str) -> int:
    """The offset inside a token made by ``encode_token``; ValueError when it is not one."""
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except Exception as exc:
        raise ValueError(f"Invalid Token: '{token}'") from exc
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"Invalid Token: '{token}'")
    return offset


def _strip_execution_data(event: dict[str, Any]) -> dict[str, Any]:
    """A history event without input/output (GetExecutionHistory's includeExecutionData=false)."""
    stripped = {}
    for key, value in event.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in ("input", "output")}
        stripped[key] = value
    return stripped


# --- backend -----------------------------------------------------------------------------------------------


def is_express_arn(execution_arn: str | None) -> bool:
    """Whether ``execution_arn`` names an Express execution (``arn:aws:states:<region>:<account>:express:...``)."""
    parts = (execution_arn or "").split(":")
    return len(parts) > 5 and parts[5] == "express"


def is_express_type(sm_type: Any) -> bool:
    """Whether a state machine type (moto's enum or its string) is EXPRESS."""
    return getattr(sm_type, "value", sm_type) == "EXPRESS"


def _is_express(state_machine: Any) -> bool:
    return is_express_type(getattr(state_machine, "type", None) or getattr(state_machine, "sm_type", None))


def _wrap_start_execution(previous: Callable[..., Any]) -> Callable[..., Any]:
    def start_execution(self: Any, state_machine_arn: str, name: str | None = None,
                        execution_input: str | None = None, trace_header: str | None = None) -> Any:
        """StartExecution with a generated UUID name when none is given, and AWS's name rules; Express machines
        run asynchronously under an ``:express:`` ARN that the Standard-only APIs do not know."""
        from moto.stepfunctions.parser.api import InvalidName

        name = name or generated_name()
        problem = name_problem(name)
        if problem:
            raise InvalidName(problem)
        state_machine = self.describe_state_machine(state_machine_arn)
        if _is_express(state_machine):
            return _run_express(self, state_machine, name, execution_input, trace_header, sync=False)
        return previous(self, state_machine_arn, name, execution_input, trace_header)

    return start_execution


EXPRESS_UNSUPPORTED_SUFFIXES = (".sync", ".sync:2", ".waitForTaskToken")


def express_integration_problems(definition: Any, path: str = "/States") -> list[str]:
    """The Task resources an Express machine may not use: job-run (``.sync``) and callback (``.waitForTaskToken``)
    integrations (https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html), with their
    paths, searched through Parallel branches and Map item processors."""
    problems: list[str] = []
    states = definition.get("States") if isinstance(definition, dict) else None
    for name, state in (states or {}).items():
        if not isinstance(state, dict):
            continue
        resource = state.get("Resource")
        if isinstance(resource, str) and resource.endswith(EXPRESS_UNSUPPORTED_SUFFIXES):
            pattern = ".waitForTaskToken" if resource.endswith(".waitForTaskToken") else ".sync"
            problems.append(f"Express state machine does not support '{pattern}' service integration "
                            f"at {path}/{name}/Resource")
        for i, branch in enumerate(state.get("Branches") or []):
            problems += express_integration_problems(branch, f"{path}/{name}/Branches[{i}]/States")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                problems += express_integration_problems(state[key], f"{path}/{name}/{key}/States")
    return problems


def _check_express_definition(definition: str | None) -> None:
    from moto.stepfunctions.parser.api import InvalidDefinition

    try:
        parsed = json.loads(definition or "{}")
    except ValueError:
        return  # moto's own validation reports malformed JSON
    problems = express_integration_problems(parsed)
    if problems:
        raise InvalidDefinition(f"Invalid State Machine Definition: '{', '.join(problems)}'")


def _wrap_create_state_machine(previous: Callable[..., Any]) -> Callable[..., Any]:
    def create_state_machine(self: Any, *args: Any, **kwargs: Any) -> Any:
        if is_express_type(kwargs.get("sm_type")):
            _check_express_definition(kwargs.get("definition", args[1] if len(args) > 1 else None))
        return previous(self, *args, **kwargs)

    return create_state_machine


def _wrap_update_state_machine(previous: Callable[..., Any]) -> Callable[..., Any]:
    def update_state_machine(self: Any, arn: str, definition: str | None = None, *args: Any, **kwargs: Any) -> Any:
        if definition is not None and _is_express(self.describe_state_machine(arn)):
            _check_express_definition(definition)
        return previous(self, arn, definition, *args, **kwargs)

    return update_state_machine


def _refuse_express(previous: Callable[..., Any]) -> Callable[..., Any]:
    def refuse(self: Any, execution_arn: str, *args: Any, **kwargs: Any) -> Any:
        from moto.stepfunctions.parser.api import InvalidArn

        if is_express_arn(execution_arn):
            raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: express' ({execution_arn}: "
                             "Express executions are recorded in CloudWatch Logs, not by this API)")
        return previous(self, execution_arn, *args, **kwargs)

    return refuse


def _wrap_backend_list_executions(previous: Callable[..., Any]) -> Callable[..., Any]:
    def list_executions(self: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
        from moto.stepfunctions.parser.api import StateMachineTypeNotSupported

        if _is_express(self.describe_state_machine(state_machine_arn)):
            raise StateMachineTypeNotSupported(
                f"This operation is not supported by this type of state machine: {state_machine_arn} is EXPRESS")
        return previous(self, state_machine_arn, *args, **kwargs)

    return list_executions


def start_sync_execution(self: Any, state_machine_arn: str, name: str | None = None,
                         execution_input: str | None = None, trace_header: str | None = None) -> Any:
    """Run an Express state machine to its end in the caller's request, as StartSyncExecution does."""
    from moto.stepfunctions.parser.api import InvalidName, StateMachineTypeNotSupported

    state_machine = self.describe_state_machine(state_machine_arn)
    if not _is_express(state_machine):
        raise StateMachineTypeNotSupported(
            f"This operation is not supported by this type of state machine: {state_machine_arn} is "
            f"{state_machine.type}; StartSyncExecution runs EXPRESS state machines only"
        )
    name = name or generated_name()
    problem = name_problem(name)
    if problem:
        raise InvalidName(problem)
    return _run_express(self, state_machine, name, execution_input, trace_header, sync=True)


def _run_express(backend: Any, state_machine: Any, name: str, execution_input: str | None,
                 trace_header: str | None, sync: bool) -> Any:
    """Start an Express execution: to its end in this call when ``sync``, else in the background.

    Express executions are not kept in the state machine's list: AWS records them only in CloudWatch Logs."""
    from moto.stepfunctions.parser.api import InvalidExecutionInput
    from moto.stepfunctions.parser.backend.execution import Execution, SyncExecution

    input_data = execution_input if execution_input is not None else "{}"
    try:
        json.loads(input_data)
    except ValueError as exc:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from exc
    # Snapshot of the definition, as start_execution takes (without live executions or the backend).
    clone = copy.deepcopy(state_machine, {id(state_machine.executions): [], id(state_machine.backend): state_machine.backend})
    execution_arn = (f"arn:{backend.partition}:states:{backend.region_name}:{backend.account_id}:express:"
                     f"{state_machine.name}:{name}:{uuid.uuid4()}")
    kind = SyncExecution if sync else Execution
    execution = kind(
        name=name, sm_type=clone.sm_type, role_arn=clone.roleArn, exec_arn=execution_arn,
        account_id=backend.account_id, region_name=backend.region_name, state_machine=clone,
        start_date=datetime.datetime.now(tz=datetime.UTC), cloud_watch_logging_session=None,
        input_data=input_data, trace_header=trace_header, activity_store={},
    )
    execution.start()
    return execution


# --- responses ---------------------------------------------------------------------------------------------


def _response_start_sync_execution(self: Any) -> Any:
    from moto.core.responses import ActionResult

    execution = self.stepfunction_backend.start_sync_execution(
        self._get_param("stateMachineArn"), self._get_param("name"), self._get_param("input"),
        self._get_param("traceHeader"),
    )
    body = dict(execution.to_start_sync_execution_output())
    elapsed = (execution.stop_date or execution.start_date) - execution.start_date
    billed_ms = max(100, -(-int(elapsed.total_seconds() * 1000) // 100) * 100)
    body["billingDetails"] = {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed_ms}
    return ActionResult(json_values.drop_none(body))


def _wrap_describe_execution(previous: Callable[..., Any]) -> Callable[..., Any]:
    def describe_execution(self: Any) -> Any:
        """DescribeExecution from the interpreter's own description (inputDetails, compact JSON)."""
        from moto.core.responses import ActionResult

        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        if not hasattr(execution, "to_describe_output"):
            return previous(self)
        return ActionResult(json_values.drop_none(dict(execution.to_describe_output())))

    return describe_execution


def _wrap_list_executions(previous: Callable[..., Any]) -> Callable[..., Any]:
    def list_executions(self: Any) -> Any:
        """ListExecutions items as the interpreter describes them (stopDate for every ended status)."""
        from moto.core.responses import ActionResult

        arn = self._get_param("stateMachineArn")
        self.stepfunction_backend.describe_state_machine(arn)
        results, next_token = self.stepfunction_backend.list_executions(
            arn, status_filter=self._get_param("statusFilter"),
            max_results=self._get_int_param("maxResults"), next_token=self._get_param("nextToken"),
        )
        if results and not all(hasattr(e, "to_execution_list_item") for e in results):
            return previous(self)
        items = [json_values.drop_none(dict(e.to_execution_list_item())) for e in results]
        return ActionResult({"executions": items, "nextToken": next_token})

    return list_executions


def _response_get_execution_history(self: Any) -> Any:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.api import InvalidToken

    history = self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))
    events = list(history.get("events") or [])
    include_data = self._get_param("includeExecutionData")
    if include_data is False:
        events = [_strip_execution_data(e) for e in events]
    try:
        page, token = history_page(events, self._get_int_param("maxResults"), self._get_param("nextToken"),
                                   bool(self._get_param("reverseOrder")))
    except ValueError as exc:
        raise InvalidToken(str(exc)) from exc
    body: dict[str, Any] = {"events": page}
    if token:
        body["nextToken"] = token
    return ActionResult(body)


def _response_send_task_failure(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause"),
    )
    return EmptyResult()


def _wrap_send_task_success(previous: Callable[..., Any]) -> Callable[..., Any]:
    def send_task_success(self: Any, task_token: str, outcome: str) -> Any:
        """SendTaskSuccess, refusing output that is not JSON (InvalidOutput)."""
        from moto.stepfunctions.parser.api import InvalidOutput

        try:
            json.loads(outcome)
        except (TypeError, ValueError) as exc:
            raise InvalidOutput(f"Invalid Output: '{outcome}' is not JSON ({exc})") from exc
        return previous(self, task_token, outcome)

    return send_task_success


def install() -> None:
    """Patch moto's Step Functions backend and responses for AWS's execution API shapes."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    backend = StepFunctionsParserBackend
    backend.start_execution = _wrap_start_execution(backend.start_execution)
    backend.start_sync_execution = start_sync_execution
    for method in ("describe_execution", "get_execution_history", "stop_execution",
                   "describe_state_machine_for_execution"):
        if hasattr(backend, method):
            setattr(backend, method, _refuse_express(getattr(backend, method)))
    backend.list_executions = _wrap_backend_list_executions(backend.list_executions)
    backend.create_state_machine = _wrap_create_state_machine(backend.create_state_machine)
    backend.update_state_machine = _wrap_update_state_machine(backend.update_state_machine)
    backend.send_task_success = _wrap_send_task_success(backend.send_task_success)
    StepFunctionResponse.start_sync_execution = _response_start_sync_execution
    StepFunctionResponse.describe_execution = _wrap_describe_execution(StepFunctionResponse.describe_execution)
    StepFunctionResponse.list_executions = _wrap_list_executions(StepFunctionResponse.list_executions)
    # Replaced: moto's versions drop reverseOrder/maxResults/nextToken and SendTaskFailure's cause.
    StepFunctionResponse.get_execution_history = _response_get_execution_history
    StepFunctionResponse.send_task_failure = _response_send_task_failure
