"""Cells shared by every runbook definition."""

PARAMS = r'''
target: str = "local"                     # "local" (embedded local cloud) or "aws" (a real account)
region: str = "us-east-1"                 # region every resource is created in
prefix: str = "evd"                       # name prefix of every resource the runbooks create
run_id: str = "dev"                       # names the run folder and tags every resource
profile: str = ""                         # AWS named profile for target "aws" (empty: default chain); never credentials
home_account: str = "tooling"             # the account (key of `accounts`) the pipeline is built in
accounts: dict = {"tooling": {"account_id": "123456789012", "role_arn": None}}  # name -> id / role to assume
allowed_account_ids: list = ["123456789012"]  # the only accounts the runbooks may touch
localcloud_port: int = 4566               # local cloud only: its TCP port
time_scale: float = 1.0                   # local cloud only: emulated waits run at this fraction of real time
run_dir: str = ""                         # run folder; empty means runs/<run_id> (the runner sets it)
'''

PARAMS_INTRO = r'''
## Parameters

Defaults for a run on the local cloud; `eventdeploy run --params parameters/<file>.yaml` replaces them, and the
setup cell validates them all (an unknown key, a wrong type or an account not allowed stops here, by name).
'''

SETUP_INTRO = r'''
## Setup

One call validates the parameters, connects to the target (starting the local cloud if it is the target and none
runs), refuses any account outside `allowed_account_ids`, and opens the run folder. `p` is the provisioning
context: every resource it creates is named `<prefix>-…`, tagged with the project and run id, and recorded in the
run's manifest for `99_teardown`.
'''


def setup(notebook: str, imports: str) -> str:
    """The setup cell of ``notebook``."""
    return f'''
{imports}
from eventdeploy import runbook

rb = runbook.setup("{notebook}", globals())
p = rb.provisioner()
rb.identity
'''
