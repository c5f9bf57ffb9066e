"""What a notebook's one setup cell calls: validated parameters, AWS access and the run folder, in one object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventdeploy import params as params_mod
from eventdeploy import results
from eventdeploy.aws import AwsAccess, Identity, connect
from eventdeploy.provision import Provisioner


@dataclass(frozen=True)
class SavedFigure:
    """A figure saved in the run folder; Jupyter shows it inline (exactly the PNG that was saved)."""

    path: Path

    def _repr_png_(self) -> bytes:
        return self.path.read_bytes()

    def __repr__(self) -> str:
        return f"<figure saved to {self.path}>"


@dataclass
class Runbook:
    """The context every step of a notebook uses."""

    notebook: str
    params: params_mod.Parameters
    aws: AwsAccess
    run_dir: Path
    identity: Identity

    def record(self, name: str, value: Any) -> Any:
        """Record ``value`` as ``<notebook>.<name>`` in the run's results.json."""
        return results.record(f"{self.notebook}.{name}", value, self.run_dir)

    def save_figure(self, fig: Any, name: str) -> Path:
        """Save ``fig`` as ``figures/<notebook>_<name>.png`` and return its path."""
        return results.save_figure(fig, f"{self.notebook}_{name}", self.run_dir)

    def show(self, fig: Any, name: str) -> SavedFigure:
        """Save ``fig`` under the run folder; the returned object displays the saved PNG inline."""
        return SavedFigure(self.save_figure(fig, name))

    def provisioner(self, account: str | None = None) -> Provisioner:
        """The provisioning context for this notebook (home account unless ``account`` names another)."""
        return Provisioner(aws=self.aws, run_dir=self.run_dir, notebook=self.notebook, account=account)

    def name(self, suffix: str) -> str:
        """A resource name from the run's prefix: ``<prefix>-<suffix>``."""
        return f"{self.params.prefix}-{suffix}"


def parameters_in(namespace: dict[str, Any]) -> dict[str, Any]:
    """The run parameters found in a notebook's namespace (what its parameters cell and papermill set)."""
    return {k: namespace[k] for k in params_mod.Parameters.model_fields if k in namespace}


def setup(notebook: str, namespace: dict[str, Any]) -> Runbook:
    """Validate the notebook's parameters, connect to the target, check identity, and open the run folder.

    ``namespace`` is the notebook's ``globals()``: the parameters cell's values (as papermill left them) are read
    from it, so the setup cell never repeats the parameter list.
    """
    values = parameters_in(namespace)
    run_dir = str(namespace.get("run_dir") or "")
    parameters = params_mod.validate(values, f"notebook {notebook} parameters")
    folder = results.use_run_dir(results.resolve_run_dir(run_dir, parameters.run_id))
    access = connect(parameters)
    # Refuse a wrong account before any step creates anything.
    identity = access.whoami()
    return Runbook(notebook=notebook, params=parameters, aws=access, run_dir=folder, identity=identity)
