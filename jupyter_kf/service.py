"""PipelineService: the one core API that the CLI, the magics and the REST handlers call.

Surfaces hold no pipeline logic: they turn user input into a ``RunRequest`` and call this.
Paths given to the service are resolved inside ``root`` (the server root over REST, the current
directory for the CLI). Runs submitted with :meth:`submit` execute in a background thread and
never block an asyncio event loop; ``on_update(run)`` is called (from that thread) on every state
change. Finished work is in the run store, so a restart of the process loses nothing finished.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .models import BackendInfo, Run, RunRequest, Snapshot

if TYPE_CHECKING:  # keep imports light: the converter and store load on first use
    from jupyter_kf_converter.ir import Pipeline

OnUpdate = Callable[[Run], None]


class PipelineService:
    """Compile, run, watch and cancel pipelines; read their history."""

    def __init__(self, root: Path | str = ".") -> None:
        self.root = Path(root).resolve()

    # -- compile ------------------------------------------------------------------------------
    def compile(self, notebook: str | Path) -> Pipeline:
        """The Pipeline IR of a notebook (problems included, never raised)."""
        raise NotImplementedError

    # -- runs ---------------------------------------------------------------------------------
    def submit(self, request: RunRequest, on_update: OnUpdate | None = None) -> Run:
        """Start a run in the background and return its record at once (status queued/running)."""
        raise NotImplementedError

    def run(self, request: RunRequest, on_update: OnUpdate | None = None) -> Run:
        """Run to the end and return the finished run (blocks the calling thread)."""
        raise NotImplementedError

    def get_run(self, run_id: str) -> Run:
        raise NotImplementedError

    def list_runs(self, notebook: str | Path | None = None, limit: int = 50) -> list[Run]:
        raise NotImplementedError

    def cancel(self, run_id: str) -> Run:
        """Ask a run to stop (works from any process); returns the run record."""
        raise NotImplementedError

    def retry(self, run_id: str, **overrides: Any) -> Run:
        """Submit a new run that reruns only the failed, cancelled and downstream steps."""
        raise NotImplementedError

    def step_log(self, run_id: str, step: str) -> str:
        raise NotImplementedError

    def step_notebook(self, run_id: str, step: str) -> Path:
        raise NotImplementedError

    # -- snapshots and backends ---------------------------------------------------------------
    def create_snapshot(self, notebook: str | Path) -> Snapshot:
        raise NotImplementedError

    def list_snapshots(self, notebook: str | Path) -> list[Snapshot]:
        raise NotImplementedError

    def backends(self) -> list[BackendInfo]:
        raise NotImplementedError
