"""Step Functions state machines from the ASL files in ``eventdeploy/statemachines``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from eventdeploy.provision.context import Provisioner

PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")
ASL_DIR = Path(__file__).resolve().parent.parent / "statemachines"


def render(asl_file: str, substitutions: dict[str, str]) -> str:
    """The ASL document with ``${Name}`` placeholders replaced; a missing substitution is an error, not a blank."""
    text = (ASL_DIR / asl_file).read_text()
    # Only ${Name} is a placeholder: ASL itself is full of "$." paths that string.Template would reject.
    missing = sorted(set(PLACEHOLDER.findall(text)) - set(substitutions))
    if missing:
        raise KeyError(f"{asl_file} needs a value for " + ", ".join(f"${{{m}}}" for m in missing))
    rendered = PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], text)
    return json.dumps(json.loads(rendered), indent=2, sort_keys=True)


def _find(sfn: Any, name: str) -> str | None:
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                return str(machine["stateMachineArn"])
    return None


def ensure_state_machine(p: Provisioner, suffix: str, definition: str, role_arn: str,
                         kind: str = "STANDARD") -> str:
    """A state machine ``<prefix>-<suffix>`` with ``definition`` and ``role_arn``; updated only when they differ."""
    sfn = p.client("stepfunctions")
    name = p.name(suffix)
    arn = _find(sfn, name)
    if arn is None:
        arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn, type=kind,
                                       tags=p.tag_list("key", "value"))["stateMachineArn"]
        p.changed("create", "state machine", name)
    else:
        current = sfn.describe_state_machine(stateMachineArn=arn)
        if json.loads(current["definition"]) != json.loads(definition) or current["roleArn"] != role_arn:
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
            p.changed("update", "state machine", name)
    return p.record("stepfunctions", "state-machine", name, arn)
