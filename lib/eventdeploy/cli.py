"""The ``eventdeploy`` command: run the runbooks, manage the local cloud, check parameters."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eventdeploy import params as params_mod
from eventdeploy import results


def _cmd_run(args: argparse.Namespace) -> int:
    from eventdeploy import runner

    notebooks = Path(args.notebooks) if args.notebooks else results.project_root() / "notebooks"
    only = args.only.split(",") if args.only else None
    report = runner.run(args.params, notebooks, only=only, output=args.output, progress=not args.no_progress)
    for o in report.outcomes:
        mark = {"ok": "✓", "failed": "✗", "not run": "·"}[o.status]
        print(f"{mark} {o.notebook:32s} {o.status:8s} {o.seconds:7.1f} s")
    print(f"run folder: {report.run_dir} (report.html, results.json, figures/, executed notebooks + HTML)")
    return 0 if report.ok else 1


def _cmd_localcloud(args: argparse.Namespace) -> int:
    from eventdeploy.localcloud import lifecycle

    state_dir = Path(args.state_dir) if args.state_dir else None
    if args.action == "start":
        st = lifecycle.start(port=args.port, host=args.host, state_dir=state_dir, time_scale=args.time_scale)
        how = "already running" if st.reused else "started"
        print(f"local cloud {how} at {st.endpoint} (pid {st.pid}, log {st.log_file})")
        print(st.endpoint)
    elif args.action == "stop":
        print("stopped" if lifecycle.stop(state_dir) else "no local cloud was running")
    elif args.action == "status":
        st = lifecycle.status(state_dir)
        print(json.dumps(st.as_dict(), indent=2) if args.json else
              (f"running at {st.endpoint} (pid {st.pid}, time scale {st.time_scale}, log {st.log_file})"
               if st.running else "not running"))
        return 0 if st.running else 3
    elif args.action == "reset":
        lifecycle.reset(state_dir)
        print("local cloud state cleared")
    return 0


def _cmd_params(args: argparse.Namespace) -> int:
    p = params_mod.load(args.file)
    print(f"{args.file}: valid (target {p.target}, region {p.region}, home account {p.home.account_id})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="eventdeploy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute the runbooks in order under papermill",
                         description="Execute notebooks/NN_*.ipynb in order with a parameter file; write the run "
                                     "folder (executed notebooks, HTML, figures/, results.json, report.html).")
    run.add_argument("--params", default="parameters/local.yaml", help="parameter file (default: %(default)s)")
    run.add_argument("--only", help="comma-separated notebook numbers to run, e.g. 00,03")
    run.add_argument("--output", help="run folder (default: runs/<run_id>)")
    run.add_argument("--notebooks", help="folder of notebooks (default: the project's notebooks/)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")
    run.set_defaults(func=_cmd_run)

    lc = sub.add_parser("localcloud", help="start, stop, inspect or reset the embedded local cloud",
                        description="Manage the local AWS emulator (moto's server + eventdeploy's extensions).")
    lc_sub = lc.add_subparsers(dest="action", required=True)
    for action, text in [("start", "start in the background (or reuse the running one) and print the endpoint"),
                         ("stop", "stop it (and every Lambda worker it started)"),
                         ("status", "say whether it runs and where (exit 3 if not)"),
                         ("reset", "clear every resource and all state")]:
        p = lc_sub.add_parser(action, help=text, description=text)
        p.add_argument("--state-dir", help="where pid, port and log are recorded (default: <project>/.localcloud)")
        if action == "start":
            p.add_argument("--port", type=int, default=4566, help="TCP port (default: %(default)s)")
            p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
            p.add_argument("--time-scale", type=float, default=1.0,
                           help="emulated waits run at this fraction of real time (default: %(default)s)")
        if action == "status":
            p.add_argument("--json", action="store_true", help="print the status as JSON")
        p.set_defaults(func=_cmd_localcloud)

    pc = sub.add_parser("params", help="validate a parameter file",
                        description="Validate a parameter file and print each problem with its key and fix.")
    pc.add_argument("file")
    pc.set_defaults(func=_cmd_params)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``eventdeploy`` console script."""
    args = build_parser().parse_args(argv)
    from eventdeploy.localcloud.lifecycle import LocalCloudError
    from eventdeploy.runner import RunnerError

    try:
        return int(args.func(args))
    except (params_mod.ParameterError, LocalCloudError, RunnerError) as exc:
        print(f"eventdeploy: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
