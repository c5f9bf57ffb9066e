"""Run the runbooks in order under papermill and write the run folder (notebooks, HTML, figures, results)."""

from __future__ import annotations

import html
import json
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from eventdeploy import params as params_mod
from eventdeploy import results
from eventdeploy.aws import ENDPOINT_ENV

NOTEBOOK_NAME = re.compile(r"^(\d{2})_[a-z0-9_]+\.ipynb$")
# Injected by the runner into every notebook that declares it (not a parameter-file key).
RUNNER_PARAMETERS = ("run_dir",)


class RunnerError(RuntimeError):
    """The run could not start (bad --only, no notebooks); the message says what to do."""


@dataclass
class NotebookOutcome:
    """How one notebook's execution ended."""

    notebook: str
    status: str  # "ok" | "failed" | "not run"
    seconds: float = 0.0
    output: str | None = None
    html: str | None = None
    failed_cell: int | None = None  # execution count ("In [n]") of the failing cell
    error: str | None = None


@dataclass
class RunReport:
    """What a run did: one outcome per notebook, and where it all is."""

    run_dir: str
    params_file: str
    target: str
    endpoint: str | None
    outcomes: list[NotebookOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if every selected notebook ran to the end."""
        return all(o.status == "ok" for o in self.outcomes)


def discover(notebooks_dir: Path, only: list[str] | None = None) -> list[Path]:
    """The numbered notebooks in order; ``only`` keeps those whose number (e.g. '00', '3') is listed."""
    found = sorted(p for p in notebooks_dir.glob("*.ipynb") if NOTEBOOK_NAME.match(p.name))
    if not found:
        raise RunnerError(f"no numbered notebooks (NN_name.ipynb) in {notebooks_dir}")
    if not only:
        return found
    wanted = {w.strip().zfill(2) for w in only if w.strip()}
    numbers = {p.name[:2] for p in found}
    unknown = sorted(wanted - numbers)
    if unknown:
        raise RunnerError(f"--only names {', '.join(unknown)}, which no notebook has; "
                          f"available: {', '.join(sorted(numbers))}")
    return [p for p in found if p.name[:2] in wanted]


def notebook_parameters(path: Path, values: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The subset of ``values`` that ``path`` declares in its parameters cell, plus the runner's own."""
    import papermill as pm

    declared = pm.inspect_notebook(str(path))
    chosen = {k: v for k, v in values.items() if k in declared}
    if "run_dir" in declared:
        chosen["run_dir"] = str(run_dir)
    return chosen


def export_html(notebook: Path) -> Path:
    """Write ``<notebook>.html`` beside an executed notebook."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    out = notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def _execute(path: Path, out: Path, parameters: dict[str, Any], progress: bool) -> None:
    import papermill as pm

    pm.execute_notebook(str(path), str(out), parameters=parameters, kernel_name="python3",
                        cwd=str(path.parent), progress_bar=progress, log_output=False, request_save_on_cell_execute=True)


def _describe_failure(exc: Exception) -> tuple[int | None, str]:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        # exec_count is what the reader sees as In [n] in the executed notebook, whatever papermill inserted.
        return exc.exec_count, f"{exc.ename}: {exc.evalue}"
    return None, f"{type(exc).__name__}: {exc}"


def write_report(report: RunReport, run_dir: Path) -> Path:
    """Write ``report.html`` (index of notebooks, figures, results) and ``report.json`` into the run folder."""
    (run_dir / "report.json").write_text(json.dumps(asdict(report), indent=2))
    rows = "".join(
        f"<tr><td>{html.escape(o.notebook)}</td><td class='{o.status.replace(' ', '-')}'>{o.status}</td>"
        f"<td>{o.seconds:.1f}</td><td>{_link(o.html, run_dir)}</td>"
        f"<td>{html.escape(o.error or '')}{'' if o.failed_cell is None else f' (cell In [{o.failed_cell}])'}</td></tr>"
        for o in report.outcomes)
    figures = "".join(
        f"<figure><img src='figures/{p.name}' width='640'><figcaption>{html.escape(p.name)}</figcaption></figure>"
        for p in sorted((run_dir / results.FIGURES_DIR).glob("*.png")))
    stored = html.escape(json.dumps(results.load(run_dir), indent=2))
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>eventdeploy run</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{padding:4px 10px;border-bottom:1px solid #ddd}}
.ok{{color:#1b7a1b}} .failed{{color:#b00}} .not-run{{color:#888}} figure{{display:inline-block;margin:8px}}</style>
</head><body><h1>eventdeploy run · {html.escape(run_dir.name)}</h1>
<p>Target <b>{html.escape(report.target)}</b> · endpoint {html.escape(report.endpoint or 'AWS')} ·
parameters {html.escape(report.params_file)}</p>
<table><tr><th>notebook</th><th>status</th><th>seconds</th><th>executed</th><th>error</th></tr>{rows}</table>
<h2>Figures</h2>{figures or '<p>none</p>'}<h2>results.json</h2><pre>{stored}</pre></body></html>"""
    out = run_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out


def _link(path: str | None, run_dir: Path) -> str:
    if not path:
        return ""
    rel = os.path.relpath(path, run_dir)
    return f"<a href='{html.escape(rel)}'>{html.escape(rel)}</a>"


def run(params_file: str | Path, notebooks_dir: Path, only: list[str] | None = None,
        output: str | Path | None = None, progress: bool = True, stream: TextIO = sys.stderr) -> RunReport:
    """Execute the selected notebooks in order with the parameter file; stop at the first failing cell."""
    from tqdm.auto import tqdm

    parameters = params_mod.load(params_file)
    selected = discover(notebooks_dir, only)
    run_dir = results.resolve_run_dir(output, parameters.run_id)
    (run_dir / results.FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    started_here, state_dir = _ensure_local_cloud(parameters, stream)
    report = RunReport(run_dir=str(run_dir), params_file=str(params_file), target=parameters.target,
                       endpoint=os.environ.get(ENDPOINT_ENV))
    previous_run_dir = os.environ.get(results.RUN_DIR_ENV)
    os.environ[results.RUN_DIR_ENV] = str(run_dir)
    values = parameters.as_notebook_parameters()
    try:
        overall = tqdm(selected, desc="runbooks", unit="notebook", disable=not progress, file=stream)
        failed = False
        for path in overall:
            if failed:
                report.outcomes.append(NotebookOutcome(path.name, "not run"))
                continue
            overall.set_postfix_str(path.name)
            out = run_dir / path.name
            began = time.perf_counter()
            outcome = NotebookOutcome(path.name, "ok", output=str(out))
            try:
                _execute(path, out, notebook_parameters(path, values, run_dir), progress)
            except Exception as exc:
                outcome.status = "failed"
                outcome.failed_cell, outcome.error = _describe_failure(exc)
                failed = True
                print(f"\n✗ {path.name} failed in cell In [{outcome.failed_cell}]: {outcome.error}\n"
                      f"  partial output kept in {out}", file=stream)
            outcome.seconds = round(time.perf_counter() - began, 2)
            if out.exists():
                outcome.html = str(export_html(out))
            report.outcomes.append(outcome)
        overall.close()
    finally:
        if previous_run_dir is None:
            os.environ.pop(results.RUN_DIR_ENV, None)
        else:
            os.environ[results.RUN_DIR_ENV] = previous_run_dir
        if started_here:
            from eventdeploy.localcloud import lifecycle

            lifecycle.stop(state_dir)
            os.environ.pop(ENDPOINT_ENV, None)
    write_report(report, run_dir)
    return report


def _ensure_local_cloud(parameters: params_mod.Parameters, stream: TextIO) -> tuple[bool, Path | None]:
    """For target local: reuse a running local cloud or start one (True if started here, to stop it after)."""
    if parameters.target != "local" or os.environ.get(ENDPOINT_ENV):
        return False, None
    from eventdeploy.localcloud import lifecycle

    state_dir = lifecycle.default_state_dir()
    current = lifecycle.status(state_dir)
    if current.running:
        os.environ[ENDPOINT_ENV] = str(current.endpoint)
        print(f"using the running local cloud at {current.endpoint}", file=stream)
        return False, state_dir
    started = lifecycle.start(port=parameters.localcloud_port, state_dir=state_dir, time_scale=parameters.time_scale)
    os.environ[ENDPOINT_ENV] = str(started.endpoint)
    print(f"started the local cloud at {started.endpoint} (time scale {parameters.time_scale}); "
          f"it stops when the run ends", file=stream)
    return True, state_dir
