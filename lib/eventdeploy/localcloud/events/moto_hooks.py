"""Where the delivery engine plugs into moto's EventBridge backend (models, so every protocol keeps working).

- ``EventsBackend.put_events`` is replaced: moto delivers synchronously inside the request and raises for
  Lambda/Step Functions targets; ours validates per entry and hands accepted events to the engine.
- ``EventsBackend.put_targets`` is wrapped: target input, RetryPolicy, DeadLetterConfig and the limits (10 per
  request, 5 per rule) are validated as AWS's PutTargets does, then moto stores the targets.
- ``EventsBackend.put_rule`` is wrapped: a ScheduleExpression must parse (rate/cron) as AWS requires.
- ``UpdateEventBus`` (missing from moto 5.2.5) is added to the backend and the response handler.
- ``EventBus.create_from_cloudformation_json`` is wrapped so an ``AWS::Events::EventBus`` ``Policy`` applies.
"""

from __future__ import annotations

import json
import time
from typing import Any

from eventdeploy.localcloud.events.put_events import TooManyEntries, put_events
from eventdeploy.localcloud.events.retry import InvalidRetryPolicy, RetryPolicy
from eventdeploy.localcloud.events.schedule import InvalidSchedule, parse_schedule
from eventdeploy.localcloud.events.transform import InvalidTargetInput, compile_target_input

_installed = False


MAX_TARGETS_PER_RULE = 5
MAX_TARGETS_PER_REQUEST = 10


def validate_target(target: dict[str, Any], rule_account: str | None = None) -> None:
    """Raise ValueError with AWS's reason if PutTargets would reject ``target`` (of a rule in ``rule_account``)."""
    compile_target_input(target)
    RetryPolicy.from_target(target)
    dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dlq is not None and (not isinstance(dlq, str) or ":sqs:" not in dlq or dlq.endswith(".fifo")):
        raise InvalidTargetInput(
            f"DeadLetterConfig.Arn {dlq!r} of target {target.get('Id')!r} is not valid: "
            "it must be the ARN of a standard (non-FIFO) SQS queue"
        )
    arn = str(target.get("Arn", ""))
    parts = arn.split(":")
    # A FIFO queue needs a message group for every message; PutTargets insists on it (AWS's own wording).
    if (len(parts) > 5 and parts[2] == "sqs" and parts[5].endswith(".fifo")
            and not (target.get("SqsParameters") or {}).get("MessageGroupId")):
        raise InvalidTargetInput(f"Parameter(s) SqsParameters must be specified for target: {target.get('Id')}.")
    cross_account_bus = (len(parts) > 5 and parts[2] == "events" and parts[5].startswith("event-bus/")
                         and rule_account is not None and parts[4] != rule_account)
    if cross_account_bus and any(target.get(k) is not None for k in ("Input", "InputPath", "InputTransformer")):
        raise InvalidTargetInput(
            f"Target {target.get('Id')!r} is an event bus of another account: Input, InputPath and "
            "InputTransformer are not available for it (PutTargets)"
        )


def install() -> None:
    """Patch moto's EventBridge models once per process."""
    global _installed
    if _installed:
        return
    _installed = True
    from moto.core.exceptions import JsonRESTError
    from moto.events import models
    from moto.events.exceptions import ValidationException
    from moto.events.responses import EventsHandler

    def _put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            return put_events(self.account_id, self.region_name, events or [])
        except TooManyEntries as exc:
            raise ValidationException(str(exc)) from exc

    previous_put_targets = models.EventsBackend.put_targets

    def _put_targets(self: Any, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]) -> None:
        targets = targets or []
        if len(targets) > MAX_TARGETS_PER_REQUEST:
            raise ValidationException(
                f"1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have "
                f"length less than or equal to {MAX_TARGETS_PER_REQUEST} (got {len(targets)})")
        for target in targets:
            try:
                validate_target(target, self.account_id)
            except (InvalidTargetInput, InvalidRetryPolicy, ValueError) as exc:
                raise ValidationException(str(exc)) from exc
        bus = self.event_buses.get(self._normalize_event_bus_arn(event_bus_arn))
        rule = bus.rules.get(name) if bus is not None else None
        if rule is not None:
            ids = {t["Id"] for t in rule.targets} | {t.get("Id") for t in targets}
            if len(ids) > MAX_TARGETS_PER_RULE:
                raise JsonRESTError(
                    "LimitExceededException",
                    f"The requested resource exceeds the maximum number allowed: rule {name} would have "
                    f"{len(ids)} targets; a rule can have at most {MAX_TARGETS_PER_RULE}.")
        return previous_put_targets(self, name, event_bus_arn, targets)

    previous_put_rule = models.EventsBackend.put_rule

    def _put_rule(self: Any, *args: Any, **kwargs: Any) -> Any:
        expression = kwargs.get("scheduled_expression", args[5] if len(args) > 5 else None)
        if expression:
            try:
                parse_schedule(expression)
            except InvalidSchedule as exc:
                raise ValidationException(f"Parameter ScheduleExpression is not valid. ({exc})") from exc
        return previous_put_rule(self, *args, **kwargs)

    def _update_event_bus(self: Any, name: str | None, description: str | None = None,
                          kms_key_identifier: str | None = None,
                          dead_letter_config: dict[str, str] | None = None) -> Any:
        bus = self.describe_event_bus(name or "default")
        if description is not None:
            bus.description = description
        if kms_key_identifier is not None:
            bus.kms_key_identifier = kms_key_identifier
        if dead_letter_config is not None:
            bus.dead_letter_config = dead_letter_config
        bus.last_modified_time = time.time()
        return bus

    def _update_event_bus_response(self: Any) -> tuple[str, dict[str, Any]]:
        bus = self.events_backend.update_event_bus(
            self._get_param("Name"), description=self._get_param("Description"),
            kms_key_identifier=self._get_param("KmsKeyIdentifier"),
            dead_letter_config=self._get_param("DeadLetterConfig"))
        body: dict[str, Any] = {"Arn": bus.arn, "Name": bus.name}
        for key, value in (("Description", bus.description), ("KmsKeyIdentifier", bus.kms_key_identifier),
                           ("DeadLetterConfig", bus.dead_letter_config)):
            if value:
                body[key] = value
        return json.dumps(body), self.response_headers

    if not hasattr(models.EventsBackend, "update_event_bus"):
        # moto 5.2.5 lacks UpdateEventBus; AWS has it (API_UpdateEventBus).
        models.EventsBackend.update_event_bus = _update_event_bus
        EventsHandler.update_event_bus = _update_event_bus_response
    models.EventsBackend.put_events = _put_events
    models.EventsBackend.put_targets = _put_targets
    models.EventsBackend.put_rule = _put_rule

    previous_cfn = models.EventBus.create_from_cloudformation_json.__func__

    def _create_from_cfn(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                         region_name: str, **kwargs: Any) -> Any:
        bus = previous_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        policy = (cloudformation_json.get("Properties") or {}).get("Policy")
        if policy:
            text = policy if isinstance(policy, str) else json.dumps(policy)
            models.EventsBackend._put_permission_from_policy(bus, text)
        return bus

    models.EventBus.create_from_cloudformation_json = classmethod(_create_from_cfn)
