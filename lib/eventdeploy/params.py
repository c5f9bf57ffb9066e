"""Run parameters: one pydantic model validates every parameter file and every notebook's parameters cell.

Errors name the source (file or notebook), the key and the fix, all at once, so nothing is lost in a retry loop.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")

# Where each key is explained to the reader of an error; also the README's parameter table.
KEY_HELP: dict[str, str] = {
    "target": "'local' (the embedded local cloud) or 'aws' (a real account through your credentials)",
    "region": "the AWS region every resource is created in, e.g. 'us-east-1'",
    "prefix": "lower-case name prefix of every resource created: 2-20 of a-z, 0-9, '-', starting with a letter",
    "run_id": "identifies this run in tags and the run folder: 1-64 of A-Z a-z 0-9 . _ -",
    "profile": "AWS named profile to use for target 'aws' (null = the default credential chain); never credentials",
    "home_account": "the name (a key of 'accounts') of the account the pipeline is built in",
    "accounts": "map of account name -> {account_id: '<12 digits>', role_arn: <role to assume or null>}",
    "allowed_account_ids": "the only account ids the runbooks may touch; anything else is refused before creating",
    "confirm_teardown": "true to really delete in 99_teardown; false is a dry run that only lists",
    "localcloud_port": "TCP port of the local cloud (target 'local')",
    "time_scale": "local cloud only: emulated waits (retry backoff, Wait states) run at this fraction of real time",
    "inject_events": "07_inject_and_measure: how many test events to inject (1-1,000,000)",
    "inject_rate": "07_inject_and_measure: events per second to send (0 = as fast as the injector can)",
    "inject_duplicate_ratio": "07_inject_and_measure: share of events that repeat an earlier push (0-0.5)",
    "inject_poison_ratio": "07_inject_and_measure: share of events a handler rejects (malformed digest; 0-0.5)",
    "inject_bad_ratio": "07_inject_and_measure: share of entries PutEvents must refuse (oversize, no detail-type, "
                        "unknown bus; 0-0.5)",
    "inject_wait_s": "07_inject_and_measure: how long to wait for the pipeline to settle after sending (seconds)",
    "inject_profile": "07_inject_and_measure: a burst profile [[seconds, events_per_s], ...] repeated until every "
                      "event is sent, instead of the steady inject_rate ([] = steady)",
}


class ParameterError(ValueError):
    """Parameters that cannot be used; ``problems`` holds (key, message) pairs, the message says what to do."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [f"{source}: {len(problems)} problem(s) in the parameters:"]
        lines += [f"  - key '{key}': {message}" for key, message in problems]
        super().__init__("\n".join(lines))


class Account(BaseModel):
    """One AWS account the runbooks use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str
    role_arn: str | None = None

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_id(cls, value: Any) -> str:
        text = str(value)
        if not ACCOUNT_ID.match(text):
            raise ValueError(f"{value!r} is not a 12-digit AWS account id; quote it in YAML ('0123...') so "
                             "leading zeros survive")
        return text

    @model_validator(mode="after")
    def _role_in_account(self) -> Account:
        if self.role_arn is not None:
            match = ROLE_ARN.match(self.role_arn)
            if not match:
                raise ValueError(f"role_arn {self.role_arn!r} is not an IAM role ARN like "
                                 "'arn:aws:iam::123456789012:role/Name'")
            if match.group(1) != self.account_id:
                raise ValueError(f"role_arn {self.role_arn!r} is in account {match.group(1)}, not in this entry's "
                                 f"account_id {self.account_id}; fix one of them")
        return self


class Parameters(BaseModel):
    """Everything a run needs; the same keys are the notebooks' papermill parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Literal["local", "aws"] = "local"
    region: str = "us-east-1"
    prefix: str = "evd"
    run_id: str = "dev"
    profile: str | None = None
    home_account: str = "tooling"
    accounts: dict[str, Account] = Field(default_factory=lambda: {"tooling": Account(account_id="123456789012")})
    allowed_account_ids: list[str] = Field(default_factory=lambda: ["123456789012"])
    confirm_teardown: bool = False
    localcloud_port: int = Field(default=4566, ge=1024, le=65535)
    time_scale: float = Field(default=1.0, gt=0.0, le=1.0)
    inject_events: int = Field(default=2000, ge=1, le=1_000_000)
    inject_rate: float = Field(default=50.0, ge=0.0, le=100_000.0)
    inject_duplicate_ratio: float = Field(default=0.02, ge=0.0, le=0.5)
    inject_poison_ratio: float = Field(default=0.01, ge=0.0, le=0.5)
    inject_bad_ratio: float = Field(default=0.01, ge=0.0, le=0.5)
    inject_wait_s: float = Field(default=120.0, gt=0.0, le=3600.0)
    inject_profile: list[tuple[float, float]] = Field(default_factory=list)

    @field_validator("inject_profile")
    @classmethod
    def _profile_phases(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        bad = [phase for phase in value if phase[0] <= 0 or phase[1] <= 0]
        if bad:
            raise ValueError(f"phases {bad} need seconds > 0 and events_per_s > 0")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region name like 'us-east-1'")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]{1,19}$", value):
            raise ValueError(f"{value!r} must be 2-20 of a-z, 0-9, '-', starting with a letter (names of "
                             "S3-like resources and ECR repositories must be lower case)")
        return value

    @field_validator("run_id")
    @classmethod
    def _run_id(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", value):
            raise ValueError(f"{value!r} must be 1-64 of A-Z a-z 0-9 . _ - (it names the run folder and tags)")
        return value

    @field_validator("profile", mode="before")
    @classmethod
    def _profile(cls, value: Any) -> str | None:
        # Notebooks declare `profile: str = ""` (papermill's inspect cannot read Optional types): "" is "none".
        return value or None

    @field_validator("allowed_account_ids", mode="before")
    @classmethod
    def _allowed(cls, value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise ValueError("must be a non-empty list of 12-digit account ids (quoted strings)")
        bad = [v for v in value if not ACCOUNT_ID.match(str(v))]
        if bad:
            raise ValueError(f"{bad!r} are not 12-digit account ids; quote them in YAML")
        return [str(v) for v in value]

    @model_validator(mode="after")
    def _accounts_consistent(self) -> Parameters:
        if not self.accounts:
            raise ValueError("[accounts] name at least one account")
        if self.home_account not in self.accounts:
            raise ValueError(f"[home_account] {self.home_account!r} is not a key of accounts "
                             f"({', '.join(sorted(self.accounts))}); name one of them")
        for name, account in self.accounts.items():
            if account.account_id not in self.allowed_account_ids:
                raise ValueError(f"[accounts.{name}.account_id] {account.account_id} is not in allowed_account_ids "
                                 f"{self.allowed_account_ids}; add it there only if the runbooks may touch it")
        if self.target == "local" and self.profile:
            raise ValueError("[profile] is only for target 'aws'; set it to null for the local cloud")
        return self

    @property
    def home(self) -> Account:
        """The account the pipeline is built in."""
        return self.accounts[self.home_account]

    def as_notebook_parameters(self) -> dict[str, Any]:
        """Plain values for papermill (what a notebook's parameters cell receives)."""
        return self.model_dump(mode="json")


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(whole file)"
        if err["type"] == "extra_forbidden":
            out.append((key, f"unknown key; remove it or fix its spelling (known keys: {', '.join(KEY_HELP)})"))
            continue
        message = str(err["msg"]).removeprefix("Value error, ")
        keyed = re.match(r"^\[([\w.]+)\] (.*)$", message, re.S)
        if keyed:  # model-level checks name their key in brackets, since pydantic gives them no location
            key, message = keyed.group(1), keyed.group(2)
        top = key.split(".")[0]
        hint = f" — expected {KEY_HELP[top]}" if top in KEY_HELP else ""
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) or err["type"] == "value_error" else f" (got {got!r})"
        out.append((key, f"{message}{shown}{hint}"))
    return out


def validate(values: dict[str, Any], source: str) -> Parameters:
    """Validate ``values`` (from a file or a notebook) or raise ParameterError naming ``source``."""
    try:
        return Parameters.model_validate(values)
    except ValidationError as exc:
        raise ParameterError(source, _problems(exc)) from None


def load(path: str | Path) -> Parameters:
    """Load and validate a YAML parameter file."""
    path = Path(path)
    if not path.is_file():
        near = sorted(p.name for p in path.parent.glob("*.yaml")) if path.parent.is_dir() else []
        hint = f"; files there: {', '.join(near)}" if near else ""
        raise ParameterError(str(path), [("(file)", f"no such parameter file{hint}; pass --params <file>")])
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(str(path), [("(file)", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise ParameterError(str(path), [("(file)", "must be a mapping of key: value at the top level")])
    return validate(data, str(path))
