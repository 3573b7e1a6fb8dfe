"""Models shared by the core, the CLI, the magics and the REST API (one place, like jupyter-scheduler).

The REST API serialises exactly these; the OpenAPI spec (`jupyter_kf/openapi.yaml`) describes them.
Paths: over REST every path is relative to the server root (``handlers/present.py``). In the core
(store, CLI, magics) a run's ``run_dir`` and its steps' ``notebook``/``log`` are relative to the
run store folder (``RunStore.resolve``), and a snapshot's ``root`` is absolute.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal

from jupyter_kf_converter.ir import Pipeline, Problem
from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    # Strict: "yes" or "10" are refused, not coerced (a typo must not silently mean something).
    cache: bool = Field(default=True, strict=True, description="False forces every step to run.")
    max_parallel: int | None = Field(default=None, ge=1, le=256, strict=True)
    timeout: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, strict=True, description="Default per-step timeout, s."
    )
    retry_of: str | None = Field(default=None, description="Rerun only failed/cancelled/downstream steps of this run.")
    snapshot: str | None = Field(default=None, description="Run from this snapshot instead of a new one.")
    reproduces: str | None = Field(
        default=None, description="Rerun this run from its own snapshot, pipeline and parameters."
    )
    from_step: str | None = Field(
        default=None, description="Run this step and everything downstream; upstream values come from `inputs_from`."
    )
    only_step: str | None = Field(
        default=None, description="Run only this step; upstream values come from `inputs_from`."
    )
    inputs_from: str | None = Field(
        default=None,
        description="With from_step/only_step: the run whose upstream values are reused "
        "(default: the notebook's latest successful run that has them).",
    )
    sweep: str | None = Field(default=None, description="The sweep this run is a trial of (set by sweeps).")
    threads: int | None = Field(
        default=None, ge=1, le=1024,
        description="Threads per step kernel for OpenMP/BLAS libraries (sweeps: cores / parallel trials).",
    )


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
    reproduces: str | None = Field(default=None, description="The run this one reran from its own snapshot.")
    inputs_from: str | None = Field(default=None, description="The run whose upstream values this one reused.")
    from_step: str | None = None
    only_step: str | None = None
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
    schedule: str | None = Field(default=None, description="Id of the schedule that made this run, if one did.")
    scheduled_for: datetime | None = Field(default=None, description="The due time (UTC) it ran for.")
    sweep: str | None = Field(default=None, description="Id of the sweep this run is a trial of, if any.")

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


class EnvDifference(_Model):
    """One way two environments differ (python, kernel or an installed package)."""

    kind: str = Field(description="'python', 'kernel' or 'package'.")
    name: str
    a: str | None = Field(default=None, description="In the first (recorded) environment; null: absent.")
    b: str | None = Field(default=None, description="In the second (current) environment; null: absent.")

    def __str__(self) -> str:
        label = self.name if self.kind == "package" else self.kind
        return f"{label}: {self.a or '(absent)'} -> {self.b or '(absent)'}"


class Reproduction(_Model):
    """Whether a rerun came out the same as the run it reproduces (values by hash, metrics)."""

    original: str
    rerun: str
    values_total: int = Field(description="Values (step/name) in either run's manifests.")
    values_same: int = Field(description="Values with the same sha256 in both runs.")
    differing: list[str] = Field(default_factory=list, description="'step/name' that differ or one run lacks.")
    metric_changes: dict[str, list[Any]] = Field(
        default_factory=dict, description="Metric name -> [original, rerun] where they differ."
    )

    @property
    def identical(self) -> bool:
        return not self.differing and not self.metric_changes


class DataChanges(_Model):
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)


class RunDiff(_Model):
    """What differs between two runs (``a`` -> ``b``); empty fields: nothing differs there."""

    a: str
    b: str
    parameters: dict[str, list[Any]] = Field(default_factory=dict, description="name -> [a, b]")
    metrics: dict[str, list[Any]] = Field(default_factory=dict, description="name -> [a, b]")
    code: dict[str, str] = Field(
        default_factory=dict, description="step -> unified diff of its code (imports, functions, cells)"
    )
    data: DataChanges = Field(default_factory=DataChanges, description="Files of the snapshots, notebook excluded.")
    environment: list[EnvDifference] = Field(default_factory=list)


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
    cache: bool | None = Field(default=None, strict=True)
    timeout: float | None = Field(default=None, gt=0, allow_inf_nan=False, strict=True)


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


# -- schedules and notifications (jupyter_kf/schedules, jupyter_kf/notify) ----------------------


class MissedPolicy(str, Enum):
    """What a scheduler does with due times that passed while no scheduler was running."""

    run_once = "run_once"  # run once at start-up for all of them (the latest due time)
    skip = "skip"  # record them as missed and wait for the next due time


class OverlapPolicy(str, Enum):
    """What a due time does while the schedule's previous run is still going."""

    skip = "skip"  # record the due time as skipped
    queue = "queue"  # start it when the previous run has finished
    allow = "allow"  # start it at once, next to the previous run


class ScheduleFields(_Model):
    """The editable fields of a schedule (every one optional: an edit changes only those given)."""

    name: str | None = Field(default=None, max_length=200, description="A label; defaults to the notebook's name.")
    cron: str | None = Field(
        default=None, max_length=200,
        description="Cron expression (5 fields, e.g. `0 3 * * *`), in `timezone`. One of `cron`, `interval`.",
    )
    interval: float | None = Field(
        default=None, ge=60, le=366 * 86400, description="Seconds between runs (at least 60). One of `cron`, `interval`."
    )
    timezone: str | None = Field(default=None, max_length=100, description="IANA time zone of `cron` (default UTC).")
    backend: str | None = None
    parameters: dict[str, Any] | None = None
    cache: bool | None = Field(default=None, description="False forces every step to run.")
    max_parallel: int | None = Field(default=None, ge=1, le=256)
    timeout: float | None = Field(default=None, gt=0, description="Default per-step timeout, s.")
    missed: MissedPolicy | None = None
    overlap: OverlapPolicy | None = None
    paused: bool | None = None

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str | None) -> str | None:
        from .schedules.timing import check_cron

        return None if v is None else check_cron(v)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str | None) -> str | None:
        from .schedules.timing import check_timezone

        if v is not None:
            check_timezone(v)
        return v


class ScheduleRequest(ScheduleFields):
    """Create a schedule: a notebook pipeline run on a cron expression or an interval."""

    notebook: str = Field(description="Notebook path (relative to the server root over REST).")


class ScheduleFire(_Model):
    """What one due time of a schedule did (one row per due time: a due time never runs twice)."""

    due: datetime = Field(description="The due time (UTC).")
    state: str = Field(
        description="claimed | queued | started | skipped | missed | failed: started made `run`; "
        "skipped (overlap), missed (while no scheduler ran) and failed (`error`) made none."
    )
    run: str | None = Field(default=None, description="The run it made.")
    run_status: RunStatus | None = None
    error: str | None = None
    at: datetime = Field(description="When it was decided (UTC).")


class ScheduleDeployment(_Model):
    """Where a schedule was handed to the cluster's own scheduler (jupyter-kf then runs it no more)."""

    target: str = Field(description="argo (a CronWorkflow) or kfp (a recurring run).")
    namespace: str
    name: str = Field(description="The CronWorkflow's name or the KFP recurring run's id.")
    deployed_at: datetime


class Schedule(_Model):
    id: str
    name: str
    notebook: str = Field(
        description="The notebook: relative to the server root over REST; absolute in the core."
    )
    cron: str | None = None
    interval: float | None = None
    timezone: str = "UTC"
    backend: str = "local"
    parameters: dict[str, Any] = Field(default_factory=dict)
    cache: bool = True
    max_parallel: int | None = None
    timeout: float | None = None
    missed: MissedPolicy = MissedPolicy.run_once
    overlap: OverlapPolicy = OverlapPolicy.skip
    paused: bool = False
    created_at: datetime
    updated_at: datetime
    anchor: datetime = Field(description="Due times are counted from here (creation, or the last edit of timing).")
    next_due: list[datetime] = Field(default_factory=list, description="The next due times (UTC); empty when paused.")
    last: ScheduleFire | None = Field(default=None, description="The latest due time handled.")
    history: list[ScheduleFire] = Field(default_factory=list, description="Recent due times, newest first.")
    deployed: ScheduleDeployment | None = Field(
        default=None, description="Set when the cluster runs it (`jupyter kf schedule deploy`)."
    )


class ScheduleList(_Model):
    schedules: list[Schedule]


class Notification(_Model):
    """What hooks send when a run finishes or fails, or a schedule cannot start its run."""

    event: str = Field(description="run.succeeded | run.failed | run.cancelled | run.interrupted | schedule.failed")
    text: str = Field(description="One line for people (Slack and Teams show this).")
    status: str
    notebook: str
    pipeline: str | None = None
    run: str | None = None
    schedule: str | None = None
    scheduled_for: datetime | None = None
    duration: float | None = Field(default=None, description="Seconds.")
    metrics: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


# -- sweeps (jupyter_kf.sweeps) ------------------------------------------------------------------
class SweepParameter(_Model):
    """One dimension of a search space: ``choices``, or a range ``low``..``high`` (ints or floats by
    the parameter's type), on a log scale or in steps of ``step``."""

    name: str
    choices: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(default=None, description="Range step (grid search needs one for float ranges).")


class SweepRequest(_Model):
    """A sweep: many runs (trials) of one notebook's pipeline over a search space."""

    notebook: str = Field(description="Notebook path (relative to the server root over REST).")
    space: list[SweepParameter] = Field(description="The swept pipeline parameters.")
    objective: str = Field(description="A pipeline metric of the notebook.")
    direction: Literal["max", "min"] = "max"
    algorithm: Literal["grid", "random", "tpe"] = "tpe"
    trials: int | None = Field(default=None, description="Trial budget (grid: at most the grid's size).")
    max_time: float | None = Field(default=None, description="Time budget, s: no trial starts after it.")
    parallel: int | None = Field(default=None, description="Trials at once (default: the max_parallel setting).")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Fixed values of other parameters.")
    cache: bool = True
    seed: int | None = None
    timeout: float | None = Field(default=None, gt=0, description="Default per-step timeout, s.")


class Trial(_Model):
    number: int
    run: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    status: Literal["running", "succeeded", "failed", "pruned", "cancelled"] = "running"
    value: float | None = Field(default=None, description="The objective metric's value.")
    metrics: dict[str, Any] = Field(default_factory=dict)
    duration: float | None = None
    error: str | None = None


class Sweep(_Model):
    id: str
    notebook: str
    created_at: datetime
    finished_at: datetime | None = None
    status: RunStatus = RunStatus.running
    request: SweepRequest
    snapshot: str | None = None
    budget: int | None = Field(default=None, description="Trials the sweep will run at most.")
    trials: list[Trial] = Field(default_factory=list)
    best: int | None = Field(default=None, description="Number of the best trial so far.")
    best_value: float | None = None
    error: str | None = None

    @property
    def done(self) -> int:
        return sum(t.status != "running" for t in self.trials)


class SweepList(_Model):
    sweeps: list[Sweep]


class RunComparison(_Model):
    """Runs side by side (``jupyter kf compare``)."""

    runs: list[Run]
    parameters: dict[str, list[Any]] = Field(default_factory=dict, description="name -> value per run")
    metrics: dict[str, list[Any]] = Field(default_factory=dict, description="name -> value per run")
    durations: list[float | None] = Field(default_factory=list)
    changes: list[RunDiff] = Field(default_factory=list, description="Each run against the first.")
