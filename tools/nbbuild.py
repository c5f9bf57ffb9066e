"""Write a runbook .ipynb from a compact cell list (kept so notebooks are reviewable as Python, and re-buildable).

Usage: python tools/nbbuild.py  — rebuilds every notebook defined under tools/notebooks/*.py.
Each definition module exposes CELLS: a list of ("md" | "code" | "params", source) pairs.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def build(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook with no outputs, the parameters cell tagged for papermill."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in cells:
        source = source.strip("\n")
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            cell = nbformat.v4.new_code_cell(source)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
            nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:02d}"
    return nb


def load_cells(spec_path: Path) -> list[tuple[str, str]]:
    """The CELLS of one definition module (which may import tools/notebooks/_common.py)."""
    folder = str(spec_path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"nbdef_{spec_path.stem}", spec_path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return list(module.CELLS)


def main() -> None:
    """Rebuild every notebook from tools/notebooks/NN_name.py."""
    for spec_path in sorted((ROOT / "tools" / "notebooks").glob("[0-9][0-9]_*.py")):
        out = ROOT / "notebooks" / f"{spec_path.stem}.ipynb"
        nbformat.write(build(load_cells(spec_path)), out)
        print(f"wrote {out.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
