"""Models shared by the core, the CLI, the magics and the REST API (one place, like jupyter-scheduler).

The REST API serialises exactly these; the OpenAPI spec (`jupyter_kf/openapi.yaml`) describes them.
Paths: over REST every path is relative to the server root (``handlers/present.py``). In the core
(store, CLI, magics) a run's ``run_dir`` and its steps' ``notebook``/``log`` are relative to the
run store folder (``RunStore.resolve``), and a snapshot's ``root`` is absolute.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from jupyter_kf_converter.ir import Pipeline, Problem
from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunStatus(str, Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    interrupted = "interrupted"  # the runner died (e.g. SIGKILL) before the run ended

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.queued, RunStatus.running)


class StepStatus(str, Enum):
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    cached = "cached"
    failed = "failed"
    skipped = "skipped"  # an upstream step failed or the run was cancelled before it started
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (StepStatus.pending, StepStatus.running)


class RunRequest(_Model):
    """What a surface asks a backend to run. Parameters are checked against the pipeline's."""

    notebook: str = Field(description="Notebook path (relative to the server root over REST).")
    backend: str = "local"
    parameters: dict[str, Any] = Field(default_factory=dict)
    cache: bool = Field(default=True, description="False forces every step to run.")
    max_parallel: int | None = Field(default=None, ge=1, le=256)
    timeout: float | None = Field(default=None, gt=0, description="Default per-step timeout, s.")
    retry_of: str | None = Field(default=None, description="Rerun only failed/cancelled/downstream steps of this run.")
    snapshot: str | None = Field(default=None, description="Run from this snapshot instead of a new one.")


class StepRun(_Model):
    name: str
    status: StepStatus = StepStatus.pending
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float | None = Field(default=None, description="Seconds.")
    attempt: int = 0
    cache_key: str | None = None
    cached_from: str | None = Field(default=None, description="Run id whose outputs were reused.")
    error: str | None = Field(default=None, description="One-line reason when failed or skipped.")
    failed_cell: int | None = Field(default=None, description="Source-notebook cell index that failed.")
    notebook: str | None = Field(
        default=None,
        description="Executed step notebook: relative to the server root over REST (null when outside it); "
        "relative to the run store folder in the core.",
    )
    log: str | None = Field(
        default=None,
        description="Step log: relative to the server root over REST (null when outside it); "
        "relative to the run store folder in the core.",
    )
    metrics: dict[str, Any] = Field(default_factory=dict)


class Run(_Model):
    id: str
    pipeline: str
    notebook: str = Field(
        description="The notebook that ran: relative to the server root over REST; in the core, relative to "
        "the folder the run was started from (absolute when outside it)."
    )
    backend: str = "local"
    status: RunStatus = RunStatus.queued
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    cache: bool = True
    snapshot: str | None = None
    retry_of: str | None = None
    run_dir: str | None = Field(
        default=None,
        description="The run's working folder (its steps' cwd and files): relative to the server root over "
        "REST (null when outside it); relative to the run store folder in the core.",
    )
    error: str | None = Field(default=None, description="One-line reason when failed.")
    steps: list[StepRun] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    external_id: str | None = Field(default=None, description="Cluster-side id (KFP run / Argo workflow).")
    external_url: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def step(self, name: str) -> StepRun:
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"run {self.id} has no step {name!r}")


class Snapshot(_Model):
    id: str = Field(description="Content address of the snapshot's manifest.")
    created_at: datetime
    root: str = Field(
        description="The folder that was snapshotted: relative to the server root over REST ('' for the "
        "root itself); absolute in the core."
    )
    notebook: str | None = Field(
        default=None,
        description="The pipeline's notebook: relative to the server root over REST; relative to `root` "
        "in the core.",
    )
    files: int = 0
    bytes: int = 0
    new_bytes: int = Field(default=0, description="Bytes stored that no earlier snapshot had.")


class BackendInfo(_Model):
    name: str
    available: bool
    configured: bool
    description: str = ""
    reason: str | None = Field(default=None, description="Why not available/configured.")


# -- REST API bodies (requests and responses of jupyter_kf/openapi.yaml) -----------------------


class CompileRequest(_Model):
    """Compile a saved notebook (``notebook``) or notebook JSON (``content``, e.g. unsaved edits)."""

    notebook: str | None = Field(
        default=None,
        description="Notebook path relative to the server root. With `content`, it only names the pipeline.",
    )
    content: dict[str, Any] | None = Field(default=None, description="Notebook JSON (nbformat 4).")


class CompileResult(_Model):
    pipeline: Pipeline = Field(description="The Pipeline IR.")
    graph: dict[str, Any] = Field(description="jupyter_kf_converter.graph.graph_json(pipeline).")
    problems: list[Problem] = Field(description="Every validation problem (cell, step, name).")
    valid: bool = Field(description="False when any problem has severity 'error'.")


class RetryRequest(_Model):
    """Overrides for a retry; omitted fields keep the original run's values."""

    backend: str | None = None
    parameters: dict[str, Any] | None = None
    cache: bool | None = None
    timeout: float | None = Field(default=None, gt=0)


class SnapshotRequest(_Model):
    notebook: str = Field(description="Notebook path relative to the server root; its folder is snapshotted.")


class RunList(_Model):
    runs: list[Run]
    cursor: str = Field(description="Pass as `since` to get only runs changed after this answer.")


class BackendList(_Model):
    backends: list[BackendInfo]


class SnapshotList(_Model):
    snapshots: list[Snapshot]


class StoreUsage(_Model):
    """Disk used by the run store of a notebook's folder."""

    runs: int = Field(description="Runs recorded in the store.")
    runs_bytes: int = Field(description="Bytes of the run folders (what runs wrote, values, notebooks, logs).")
    snapshots: int
    objects_bytes: int = Field(description="Bytes of the snapshots' content, each distinct file once.")
    bytes: int = Field(description="Everything in the store.")


class PruneRequest(_Model):
    """Which runs of a notebook's store to remove (every criterion given must match)."""

    notebook: str = Field(description="Notebook path relative to the server root: its folder's store.")
    older_than: str | None = Field(default=None, description="Runs created more than this ago: 30m, 12h, 7d, 2w.")
    keep: int | None = Field(default=None, ge=0, description="All but the newest N runs of each notebook.")
    status: list[RunStatus] = Field(default_factory=list, description="Runs with one of these statuses.")
    only_this_notebook: bool = Field(default=True, description="Only runs of `notebook` (else every notebook's).")
    include_latest: bool = Field(default=False, description="May remove a notebook's latest successful run.")
    dry_run: bool = Field(default=False, description="Say what would go and how much, remove nothing.")


class PruneResult(_Model):
    dry_run: bool
    removed: list[str] = Field(description="Runs removed (or that would be).")
    bytes: int = Field(description="Bytes freed (or that would be), snapshots and objects only they used included.")
    kept: dict[str, str] = Field(default_factory=dict, description="Runs that matched but stay, and why.")


class StepLog(_Model):
    run: str
    step: str
    text: str
    path: str | None = Field(default=None, description="Log file path relative to the server root, if inside it.")


class StepNotebook(_Model):
    run: str
    step: str
    path: str | None = Field(
        default=None, description="Executed notebook path relative to the server root (open it in JupyterLab)."
    )
    content: dict[str, Any] = Field(description="The executed notebook JSON (nbformat 4).")


class ApiError(_Model):
    """Every 4xx/5xx body of the REST API."""

    message: str
    reason: str | None = None
    field: str | None = Field(default=None, description="The request field at fault (dotted path), if one.")
    problems: list[Problem] = Field(default_factory=list, description="Pipeline problems, for 422.")
