"""How core records are shown over REST: every path relative to the server root.

The core keeps a run's paths (``run_dir``, each step's ``notebook`` and ``log``) relative to its
run store folder, which the CLI resolves with ``RunStore.resolve``; a snapshot's ``root`` is
absolute and its ``notebook`` relative to that root. JupyterLab opens files by their path from
the server root, so every response gives those paths from the root (null when a path is outside
it, e.g. an absolute ``JUPYTER_KF_STORE`` elsewhere).
"""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..models import Run, Snapshot
from ..paths import relative_to_root


def run_view(run: Run, store: Path | None, root: Path, settings: Settings) -> Run:
    """``run`` (from the store at ``store``) with its paths relative to the server ``root``
    (with ``store`` None, e.g. a run deleted meanwhile, its files' paths are unknown: null)."""
    # A run records its notebook relative to the root of whoever started it (the server's root,
    # or the current folder of a CLI run); the notebook sits in the folder its store serves.
    nb = settings.run_notebook(run.notebook, store, root)

    def rel(path: str | None) -> str | None:
        return None if path is None or store is None else relative_to_root(root, store / path)

    steps = [s.model_copy(update={"notebook": rel(s.notebook), "log": rel(s.log)}) for s in run.steps]
    return run.model_copy(
        update={
            "notebook": relative_to_root(root, nb) or run.notebook,
            "run_dir": rel(run.run_dir),
            "steps": steps,
        }
    )


def snapshot_view(snapshot: Snapshot, root: Path) -> Snapshot:
    """``snapshot`` with its folder and notebook relative to the server ``root`` (the root is '')."""
    folder = relative_to_root(root, snapshot.root)
    if folder is None:
        return snapshot
    notebook = snapshot.notebook and relative_to_root(root, Path(snapshot.root) / snapshot.notebook)
    return snapshot.model_copy(update={"root": "" if folder == "." else folder, "notebook": notebook})
