"""Event-bus targets: the hop rules and permission check before an event is put, unchanged, on another bus.

https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html and
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-region.html: the event keeps its ``account``,
``source`` and ``region``; the receiving bus's policy must allow the rule's account; an event crosses at most one
account and one region boundary (THIRD_ACCOUNT_HOP_DETECTED / THIRD_REGION_HOP_DETECTED); a target that would
bring it back to a bus it already passed through is not invoked (DeadLetterInvocations); a bus that admits the
sender only through an organization (wildcard) grant requires the target to carry a RoleArn (PutTargets).
"""

from __future__ import annotations

from dataclasses import dataclass

from eventdeploy.localcloud.events import policy
from eventdeploy.localcloud.events.targets import Arn, DeliveryError

MAX_BUS_HOPS = 4

# (account, region, bus name)
BusKey = tuple[str, str, str]


class LoopDetected(DeliveryError):
    """Delivering would bring the event back to a bus it already passed through."""

    def __init__(self, message: str) -> None:
        super().__init__("LOOP_DETECTED", message, False)


@dataclass(frozen=True)
class Destination:
    """Where a bus target puts the event, and the journey it will have made."""

    account: str
    region: str
    bus_name: str
    hops: tuple[BusKey, ...]


def check_bus_target(arn: Arn, here: BusKey, hops: tuple[BusKey, ...], event: dict[str, object],
                     role_arn: str | None = None) -> Destination:
    """The destination of ``event`` (now on bus ``here`` after ``hops``, target role ``role_arn``); raise
    DeliveryError where AWS would fail the delivery."""
    from moto.events.models import events_backends

    account, region, _ = here
    if not arn.resource.startswith("event-bus/"):
        raise DeliveryError("INVALID_PARAMETER", f"Target {arn.text!r} is not an event bus", False)
    bus_name = arn.resource[len("event-bus/"):]
    crossing_account = arn.account != account
    crossing_region = arn.region != region
    journey = hops + (here,)
    if (arn.account, arn.region, bus_name) in journey or len(journey) > MAX_BUS_HOPS:
        raise LoopDetected(f"Event {event.get('id')} would reach bus {arn.text} again (a loop)")
    if crossing_account and any(a != account for a, _, _ in hops):
        raise DeliveryError("THIRD_ACCOUNT_HOP_DETECTED",
                            f"Event {event.get('id')} already crossed an account boundary", False)
    if crossing_region and any(r != region for _, r, _ in hops):
        raise DeliveryError("THIRD_REGION_HOP_DETECTED",
                            f"Event {event.get('id')} already crossed a region boundary", False)
    missing = "CROSS_ACCOUNT_INGESTION_FAILED" if crossing_account else (
        "CROSS_REGION_INGESTION_FAILED" if crossing_region else "NO_RESOURCE")
    bus = events_backends[arn.account][arn.region].event_buses.get(bus_name)
    if bus is None:
        raise DeliveryError(missing, f"Event bus {arn.text} does not exist.", False)
    how = policy.admission(bus.policy, bus.arn, arn.account, account,
                           str(event.get("source")), str(event.get("detail-type")))
    if how is None:
        raise DeliveryError(
            "CROSS_ACCOUNT_INGESTION_FAILED" if crossing_account else "NO_PERMISSIONS",
            f"Account {account} is not authorized to perform events:PutEvents on {bus.arn}: "
            "the bus's resource policy does not allow it", False)
    if how == "wildcard" and not role_arn:
        # PutTargets docs: a bus that admits the account through an organization (not by account id) needs
        # the target to carry a RoleArn.
        raise DeliveryError(
            "CROSS_ACCOUNT_INGESTION_FAILED",
            f"{bus.arn} admits account {account} only through a wildcard/organization grant: the target "
            "must specify a RoleArn", False)
    return Destination(arn.account, arn.region, bus_name, journey)
