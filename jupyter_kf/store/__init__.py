"""The run store: sqlite (runs and steps) plus a folder per run.

Layout (docs/architecture.md)::

    <store>/runs.sqlite            runs + steps (WAL; one write transaction per state change)
    <store>/.objects/ .snapshots/  content-addressed snapshots (see snapshots.py)
    <store>/<run_id>/pipeline.json env.json
    <store>/<run_id>/work/         the materialized snapshot: the steps' shared cwd
    <store>/<run_id>/work/kf-values/<step>/   values, manifest.json, metrics.json
    <store>/<run_id>/steps/<step>.ipynb|.log  executed notebook and log of each step

Nothing is created by reading: the folder and ``runs.sqlite`` appear with the first run (a
snapshot creates the folder too), see ``db.py``. Paths inside ``Run``/``StepRun`` records are
relative to the store folder (the REST API shows them from the server root). Each row holds the
model as JSON plus the few columns queries need, so a model field added later needs no migration.
A runner records its pid and process start time; a store opened later marks runs whose runner is
gone as ``interrupted`` (their finished steps stay reusable through their cache keys); a cluster run
whose watcher died is re-attached instead (liveness.py, jupyter_kf.k8s.reattach).
The registry of store folders (``kf-stores.json``) lets :func:`locate` find a run from anywhere.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._fsutil import atomic_write_text
from ..config import Settings
from ..models import Run, RunStatus, StepRun, StepStatus
from .db import Database
from .errors import StoreError, UnknownRun, UnknownStep
from .liveness import process_start_time, runner_alive
from .registry import known_stores, locate, register_store
from .rows import CacheHit, apply_fields, new_run_id, run_json, utcnow

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..snapshots import SnapshotStore

RECOVERY_INTERVAL = 5.0  # seconds between liveness checks of other runners while reading
VALUES_DIR = "kf-values"
_ACTIVE = (RunStatus.queued.value, RunStatus.running.value)


# -- the store --------------------------------------------------------------------------------
class RunStore:
    """Runs and steps in ``<path>/runs.sqlite`` plus a folder per run under ``path``.

    Thread-safe (one connection behind a lock) and safe for several processes at once.
    """

    def __init__(self, path: Path | str, *, settings: Settings | None = None, register: bool = True) -> None:
        self.path = Path(path).resolve()
        self.settings = settings or Settings.from_env()
        self._register = register
        self._last_recovery = 0.0
        # Nothing is created until something is written (a run, a snapshot): see db.py.
        self._dbase = Database(self.path / "runs.sqlite", on_open=self._opened)
        self._lock = self._dbase.lock
        self.interrupted: list[str] = self.recover_interrupted() if self._dbase.exists else []

    def _opened(self) -> None:
        if self._register:
            register_store(self.path, self.settings)

    @property
    def exists(self) -> bool:
        """Whether this store has been created (by a run or a snapshot)."""
        return self._dbase.exists

    @classmethod
    def for_folder(cls, folder: Path | str, settings: Settings | None = None, **kw: Any) -> RunStore:
        """The store used for notebooks in ``folder`` (``<folder>/kf-runs`` by default)."""
        settings = settings or Settings.from_env()
        return cls(settings.store_path(folder), settings=settings, **kw)

    @classmethod
    def for_notebook(cls, notebook: Path | str, settings: Settings | None = None, **kw: Any) -> RunStore:
        return cls.for_folder(Path(notebook).resolve().parent, settings, **kw)

    def close(self) -> None:
        self._dbase.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def snapshots(self) -> SnapshotStore:
        from ..snapshots import SnapshotStore

        return SnapshotStore(self.path)

    # -- transactions -----------------------------------------------------------------------
    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._dbase.write()

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._dbase.read()

    # -- paths ------------------------------------------------------------------------------
    def run_path(self, run_id: str) -> Path:
        """The run's folder ``<store>/<run_id>``."""
        return self.path / run_id

    def work_dir(self, run_id: str) -> Path:
        """The run's working folder (materialized snapshot, cwd of every step)."""
        return self.path / run_id / "work"

    def values_dir(self, run_id: str, step: str | None = None) -> Path:
        d = self.work_dir(run_id) / VALUES_DIR
        return d / step if step else d

    def step_notebook_path(self, run_id: str, step: str) -> Path:
        return self.path / run_id / "steps" / f"{step}.ipynb"

    def step_log_path(self, run_id: str, step: str) -> Path:
        return self.path / run_id / "steps" / f"{step}.log"

    def resolve(self, relative: str | None) -> Path | None:
        """An absolute path for a path stored in a record (relative to the store)."""
        return None if relative is None else self.path / relative

    def _rel(self, p: Path) -> str:
        return p.relative_to(self.path).as_posix()

    # -- creating runs ------------------------------------------------------------------------
    def new_run_id(self) -> str:
        """A fresh run id, reserved by creating its folder (unique across processes)."""
        self._dbase.ensure()
        for _ in range(100):
            run_id = new_run_id()
            try:
                (self.path / run_id).mkdir()
                return run_id
            except FileExistsError:
                continue
        raise StoreError(f"could not allocate a run id in {self.path}")

    def create_run(self, run: Run, pipeline: Pipeline | None = None, *, capture_env: bool = True) -> Run:
        """Record a new run (and its steps) owned by this process; write pipeline.json and env.json.

        ``run.id`` should come from :meth:`new_run_id`. Steps default to the pipeline's, in order.
        Step notebook/log paths and ``run_dir`` are filled in when missing.
        """
        run_dir = self.run_path(run.id)
        (run_dir / "steps").mkdir(parents=True, exist_ok=True)
        steps = list(run.steps) or [StepRun(name=s.name) for s in (pipeline.steps if pipeline else [])]
        steps = [
            s.model_copy(
                update={
                    "notebook": s.notebook or self._rel(self.step_notebook_path(run.id, s.name)),
                    "log": s.log or self._rel(self.step_log_path(run.id, s.name)),
                }
            )
            for s in steps
        ]
        run = run.model_copy(update={"steps": steps, "run_dir": run.run_dir or self._rel(self.work_dir(run.id))})
        if pipeline is not None:
            atomic_write_text(run_dir / "pipeline.json", pipeline.to_json())
            if capture_env:
                from ..envinfo import write_env

                write_env(run_dir, pipeline.kernel.name)
        pid = os.getpid()
        with self._write() as db:
            try:
                db.execute(
                    "INSERT INTO runs (id, notebook, status, created_at, snapshot, runner_pid, runner_start,"
                    " runner_host, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run.id,
                        run.notebook,
                        run.status.value,
                        run.created_at.isoformat(),
                        run.snapshot,
                        pid,
                        process_start_time(pid),
                        socket.gethostname(),
                        run_json(run),
                    ),
                )
            except sqlite3.IntegrityError:
                raise StoreError(f"run {run.id} already exists in {self.path}") from None
            for i, s in enumerate(steps):
                db.execute(
                    "INSERT INTO steps (run_id, name, position, status, cache_key, data) VALUES (?, ?, ?, ?, ?, ?)",
                    (run.id, s.name, i, s.status.value, s.cache_key, s.model_dump_json()),
                )
        return run

    # -- state changes (one transaction each) -------------------------------------------------
    def update_run(self, run_id: str, **fields: Any) -> Run:
        """Change run fields (e.g. ``status=RunStatus.running``, ``error=...``) and return the run.

        ``started_at``/``finished_at`` are stamped when the status starts/finishes the run.
        """
        with self._write() as db:
            run = self._load_run(db, run_id, steps=False)
            run = apply_fields(Run, run, fields)
            if "status" in fields:
                if run.status == RunStatus.running and run.started_at is None:
                    run.started_at = utcnow()
                if run.status.finished and run.finished_at is None:
                    run.finished_at = utcnow()
            db.execute(
                "UPDATE runs SET status = ?, snapshot = ?, data = ? WHERE id = ?",
                (run.status.value, run.snapshot, run_json(run), run_id),
            )
        return self.get_run(run_id)

    def update_step(self, run_id: str, step: str, **fields: Any) -> StepRun:
        """Change a step's fields (status, cache_key, cached_from, error, attempt, ...).

        Timestamps and duration are filled in from status changes when not given. When a step
        succeeds (or is cached) without explicit ``metrics``, its ``metrics.json`` (in this run's
        values, else the cached-from run's) is read; step metrics are merged into the run's.
        """
        with self._write() as db:
            current = self._load_step(db, run_id, step)
            s = apply_fields(StepRun, current, fields)
            if "status" in fields:
                now = utcnow()
                if s.status == StepStatus.running and "started_at" not in fields:
                    s.started_at, s.finished_at, s.duration = now, None, None
                if s.status.finished and s.finished_at is None:
                    s.finished_at = now
                if s.status.finished and s.duration is None and s.started_at and s.finished_at:
                    s.duration = (s.finished_at - s.started_at).total_seconds()
                if s.status in (StepStatus.succeeded, StepStatus.cached) and "metrics" not in fields:
                    s.metrics = self._read_metrics(run_id, s) or s.metrics
            db.execute(
                "UPDATE steps SET status = ?, cache_key = ?, data = ? WHERE run_id = ? AND name = ?",
                (s.status.value, s.cache_key, s.model_dump_json(), run_id, step),
            )
            if s.metrics and s.metrics != current.metrics:
                run = self._load_run(db, run_id, steps=False)
                run.metrics = {**run.metrics, **s.metrics}
                db.execute("UPDATE runs SET data = ? WHERE id = ?", (run_json(run), run_id))
        return s

    def _read_metrics(self, run_id: str, s: StepRun) -> dict[str, Any]:
        for rid in (run_id, s.cached_from):
            if rid:
                f = self.values_dir(rid, s.name) / "metrics.json"
                try:
                    data = json.loads(f.read_text())
                except (OSError, ValueError):
                    continue
                if isinstance(data, dict):
                    return data
        return {}

    def request_cancel(self, run_id: str) -> Run:
        """Ask the run's runner (in any process) to cancel; see :meth:`cancel_requested`.

        A run whose runner is gone is marked cancelled at once.
        """
        with self._write() as db:
            row = db.execute(
                "SELECT status, runner_pid, runner_start, runner_host FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise UnknownRun(run_id, str(self.path))
            db.execute("UPDATE runs SET cancel_requested = 1 WHERE id = ?", (run_id,))
            orphan = row[0] in _ACTIVE and not runner_alive(row[1], row[2], row[3])
        if orphan:
            self._mark_dead(run_id, RunStatus.cancelled, "cancelled (its runner was no longer running)")
        return self.get_run(run_id)

    def cancel_requested(self, run_id: str) -> bool:
        with self._read() as db:
            row = db.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    # -- recovery -----------------------------------------------------------------------------
    def recover_interrupted(self) -> list[str]:
        """Mark queued/running runs whose runner process is gone as interrupted; return their ids.

        Done when the store is opened, and again (at most every few seconds) when runs are read,
        so a long-lived process (the server) also sees a CLI runner that was killed.
        """
        self._last_recovery = time.monotonic()
        with self._read() as db:
            rows = db.execute(
                "SELECT id, runner_pid, runner_start, runner_host FROM runs WHERE status IN (?, ?)", _ACTIVE
            ).fetchall()
        dead = [r[0] for r in rows if not runner_alive(r[1], r[2], r[3])]
        marked = []
        for run_id in dead:
            pid = next(r[1] for r in rows if r[0] == run_id)
            try:
                reason = f"interrupted: the runner (pid {pid}) stopped mid-run"
                self._mark_dead(run_id, RunStatus.interrupted, reason)
            except (sqlite3.OperationalError, OSError) as exc:
                # A reader must not fail because the store cannot be written now (a full disk):
                # the run is marked by the next opener that can write.
                import logging

                logging.getLogger("jupyter_kf.store").warning(
                    "cannot mark run %s interrupted now: %s", run_id, exc
                )
                continue
            marked.append(run_id)
        return marked

    def _mark_dead(self, run_id: str, status: RunStatus, reason: str) -> None:
        with self._write() as db:
            run = self._load_run(db, run_id, steps=True)
            if run.status.finished:
                return
            now = utcnow()
            for s in run.steps:
                if s.status == StepStatus.running:
                    new = {"status": StepStatus.cancelled, "error": reason, "finished_at": now}
                elif s.status == StepStatus.pending:
                    new = {"status": StepStatus.skipped, "error": reason}
                else:
                    continue
                s2 = s.model_copy(update=new)
                db.execute(
                    "UPDATE steps SET status = ?, data = ? WHERE run_id = ? AND name = ?",
                    (s2.status.value, s2.model_dump_json(), run_id, s.name),
                )
            run = run.model_copy(update={"status": status, "error": reason, "finished_at": now, "steps": []})
            db.execute("UPDATE runs SET status = ?, data = ? WHERE id = ?", (status.value, run_json(run), run_id))

    # -- reading ------------------------------------------------------------------------------
    def _maybe_recover(self) -> None:
        if time.monotonic() - self._last_recovery > RECOVERY_INTERVAL:
            self.recover_interrupted()

    def get_run(self, run_id: str) -> Run:
        self._maybe_recover()
        with self._read() as db:
            return self._load_run(db, run_id, steps=True)

    def has_run(self, run_id: str) -> bool:
        with self._read() as db:
            return db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    def get_step(self, run_id: str, step: str) -> StepRun:
        with self._read() as db:
            return self._load_step(db, run_id, step)

    def list_runs(self, notebook: str | Path | None = None, limit: int | None = 50) -> list[Run]:
        """Runs, newest first. ``notebook`` matches the recorded path or its file name."""
        self._maybe_recover()
        sql, args = "SELECT data FROM runs", []
        if notebook is not None:
            nb = str(notebook)
            sql += " WHERE notebook = ? OR notebook LIKE ? ESCAPE '\\' OR notebook = ?"
            name = Path(nb).name
            args += [nb, "%/" + name.replace("%", "\\%").replace("_", "\\_"), name]
        sql += " ORDER BY created_at DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._read() as db:
            runs = [Run.model_validate_json(r[0]) for r in db.execute(sql, args)]
            by_id = {r.id: r for r in runs}
            if by_id:
                marks = ",".join("?" * len(by_id))
                q = f"SELECT run_id, data FROM steps WHERE run_id IN ({marks}) ORDER BY run_id, position"
                for rid, data in db.execute(q, list(by_id)):
                    by_id[rid].steps.append(StepRun.model_validate_json(data))
        return runs

    def find_cached(self, cache_key: str, *, exclude_run: str | None = None) -> CacheHit | None:
        """The newest finished step with this cache key whose outputs are still on disk."""
        with self._read() as db:
            rows = db.execute(
                "SELECT s.run_id, s.data FROM steps s JOIN runs r ON r.id = s.run_id"
                " WHERE s.cache_key = ? AND s.status IN (?, ?) ORDER BY r.created_at DESC",
                (cache_key, StepStatus.succeeded.value, StepStatus.cached.value),
            ).fetchall()
        for run_id, data in rows:
            if run_id == exclude_run:
                continue
            s = StepRun.model_validate_json(data)
            origin = s.cached_from if s.status == StepStatus.cached and s.cached_from else run_id
            notebook = self.step_notebook_path(origin, s.name)
            values = self.values_dir(origin, s.name)
            if not notebook.is_file():
                continue
            log = self.step_log_path(origin, s.name)
            return CacheHit(
                run_id=origin,
                step=s.name,
                cache_key=cache_key,
                notebook=notebook,
                values_dir=values,
                log=log if log.is_file() else None,
                duration=s.duration,
                metrics=s.metrics,
            )
        return None

    def delete_run(self, run_id: str) -> None:
        """Forget a finished run and remove its folder. A run that is still queued or running
        (its runner alive) is refused with :class:`StoreError`, checked in the transaction that
        removes its rows. Which runs may go (what other runs still need) is the caller's call."""
        from .._fsutil import rmtree_force

        with self._write() as db:
            row = db.execute(
                "SELECT status, runner_pid, runner_start, runner_host FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise UnknownRun(run_id, str(self.path))
            if row[0] in _ACTIVE and runner_alive(row[1], row[2], row[3]):
                raise StoreError(f"run {run_id} is {row[0]}: it cannot be removed")
            db.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        rmtree_force(self.run_path(run_id))  # an overlay's leftovers may have no permissions

    def snapshot_refs(self) -> set[str]:
        """Snapshot ids referenced by runs in this store (gc keeps them)."""
        with self._read() as db:
            return {r[0] for r in db.execute("SELECT DISTINCT snapshot FROM runs WHERE snapshot IS NOT NULL")}

    def _load_run(self, db: sqlite3.Connection, run_id: str, *, steps: bool) -> Run:
        row = db.execute("SELECT data FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UnknownRun(run_id, str(self.path))
        run = Run.model_validate_json(row[0])
        if steps:
            q = "SELECT data FROM steps WHERE run_id = ? ORDER BY position"
            run.steps = [StepRun.model_validate_json(r[0]) for r in db.execute(q, (run_id,))]
        return run

    def _load_step(self, db: sqlite3.Connection, run_id: str, step: str) -> StepRun:
        row = db.execute("SELECT data FROM steps WHERE run_id = ? AND name = ?", (run_id, step)).fetchone()
        if row is None:
            self._load_run(db, run_id, steps=False)  # raises UnknownRun first
            known = [r[0] for r in db.execute("SELECT name FROM steps WHERE run_id = ? ORDER BY position", (run_id,))]
            raise UnknownStep(run_id, step, known)
        return StepRun.model_validate_json(row[0])


__all__ = [
    "CacheHit",
    "RunStore",
    "StoreError",
    "UnknownRun",
    "UnknownStep",
    "known_stores",
    "locate",
    "new_run_id",
    "process_start_time",
    "register_store",
    "runner_alive",
    "utcnow",
]
