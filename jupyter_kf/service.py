"""PipelineService: the one core API that the CLI, the magics and the REST handlers call.

Surfaces hold no pipeline logic: they turn user input into a ``RunRequest`` and call this.
Relative paths given to the service are resolved inside ``root`` (the server root over REST, the
current directory for the CLI); REST handlers check paths (``jupyter_kf.paths``) before calling.
Runs submitted with :meth:`submit` execute in a background thread and never block an asyncio
event loop; ``on_update(run)`` is called (from that thread) after every state change, once the
change is in the run store. Finished work lives in the store, so a restart loses nothing finished
(a local run cut short by the restart is reported as interrupted, its finished steps reused; a
cluster run keeps going on the cluster and the next opener re-attaches to it: jupyter_kf.k8s.reattach).

Errors: ``ConverterError`` (unreadable notebook), :class:`InvalidPipeline` (the pipeline has
problems; nothing ran), ``ParameterError`` (unknown or badly typed parameter; nothing ran),
``UnknownRun``/``UnknownStep`` (from ``jupyter_kf.store``), ``UnknownBackend``, ``BackendNotReady``
(a backend not installed or not configured here; nothing ran), ``BackendError``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .models import (
    BackendInfo,
    EnvDifference,
    PruneRequest,
    PruneResult,
    Run,
    RunRequest,
    Snapshot,
    StepRun,
    StoreUsage,
)

if TYPE_CHECKING:  # keep imports light: the converter and store load on first use
    from jupyter_kf_converter.ir import Pipeline, Problem

    from .backends.base import RunHandle
    from .config import Settings
    from .store import RunStore

OnUpdate = Callable[[Run], None]


class InvalidPipeline(ValueError):
    """The notebook compiles to a pipeline with errors; ``problems`` are located (cell, step)."""

    def __init__(self, pipeline: Pipeline, notebook: str) -> None:
        from jupyter_kf_converter.plan import format_problem

        self.pipeline = pipeline
        self.problems: list[Problem] = [p for p in pipeline.problems if p.severity == "error"]
        lines = [format_problem(p, notebook) for p in self.problems]
        super().__init__(
            f"{notebook}: the pipeline has {len(lines)} problem(s); nothing ran\n" + "\n".join(lines)
        )


class RunConflictError(RuntimeError):
    """The request conflicts with a run's state (e.g. retrying a run that still runs): REST 409."""


class PipelineService:
    """Compile, run, watch and cancel pipelines; read their history."""

    def __init__(self, root: Path | str = ".", settings: Settings | None = None) -> None:
        from .config import Settings

        self.root = Path(root).resolve()
        self.settings = settings or Settings.from_env()
        self._stores: dict[Path, RunStore] = {}
        self._handles: dict[str, RunHandle] = {}
        self._lock = threading.Lock()
        self._listeners: list[OnUpdate] = []

    def add_listener(self, listener: OnUpdate) -> None:
        """Call ``listener(run)`` after every state change of every run this service submits
        (notifications use it); a listener that raises is ignored."""
        self._listeners.append(listener)

    def _observed(self, on_update: OnUpdate | None) -> OnUpdate | None:
        listeners = [*self._listeners, *([on_update] if on_update else [])]
        if not listeners:
            return None

        def notify(run: Run) -> None:
            for fn in listeners:
                try:
                    fn(run)
                except Exception:  # noqa: BLE001  (an observer never breaks a run)
                    import logging

                    logging.getLogger("jupyter_kf").exception("run listener failed")

        return notify

    # -- paths and stores ---------------------------------------------------------------------
    def resolve(self, notebook: str | Path) -> Path:
        p = Path(notebook).expanduser()
        return (p if p.is_absolute() else self.root / p).resolve()

    def _display(self, path: Path) -> str:
        """How a notebook is recorded: relative to the root when inside it."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def store_for(self, notebook: str | Path) -> RunStore:
        """The run store of a notebook's folder (opened once per service; created by the first
        run or snapshot written to it, never by reading)."""
        return self._store(self.settings.store_path(self.resolve(notebook).parent))

    def _existing_store(self, path: Path) -> RunStore | None:
        """The store at ``path`` if it holds runs (reads of a store that was never written need
        not open it, nor remember every folder a caller asked about)."""
        path = Path(path).resolve()
        with self._lock:
            store = self._stores.get(path)
        if store is None and (path / "runs.sqlite").is_file():
            store = self._store(path)
        return store

    def _store(self, path: Path) -> RunStore:
        from .store import RunStore

        path = Path(path).resolve()
        with self._lock:
            store = self._stores.get(path)
            if store is None:
                store = self._stores[path] = RunStore(path, settings=self.settings)
            return store

    def store_of(self, run_id: str) -> RunStore:
        """The run store holding ``run_id`` (stores opened here, this root's, then registered ones)."""
        return self._locate(run_id)

    def _locate(self, run_id: str) -> RunStore:
        from .store import locate

        with self._lock:
            opened = list(self._stores.values())
        for store in opened:
            if store.has_run(run_id):
                return store
        found = locate(run_id, self.settings, first=[self.settings.store_path(self.root)])
        return self._store(found.path)

    # -- compile ------------------------------------------------------------------------------
    def compile(self, notebook: str | Path) -> Pipeline:
        """The Pipeline IR of a notebook (problems included, never raised)."""
        from jupyter_kf_converter import compile_notebook

        path = self.resolve(notebook)
        return compile_notebook(path, notebook_path=self._display(path))

    # -- runs ---------------------------------------------------------------------------------
    def prepare(self, request: RunRequest) -> tuple[Pipeline, RunRequest, RunStore]:
        """Compile and check a request without running anything (raises on any problem)."""
        from .backends import backend_class
        from .executor.parameters import resolve_parameters

        backend_class(request.backend)  # unknown backend: fail before anything else
        if "cache" not in request.model_fields_set:
            # Not asked either way: the configured default (JUPYTER_KF_CACHE / KfConfig.cache).
            request = request.model_copy(update={"cache": self.settings.cache})
        kinds = [k for k, v in (("retry_of", request.retry_of), ("reproduces", request.reproduces),
                                ("from_step/only_step", request.from_step or request.only_step)) if v]
        if len(kinds) > 1:
            raise ValueError(f"give only one of {' and '.join(kinds)}: they ask for different runs")
        if request.retry_of or request.reproduces:
            if request.retry_of:
                prepared = self._prepare_retry(request)
            else:
                from .reproduce import prepare_rerun

                prepared = prepare_rerun(self, request)
            self._require_backend(request.backend, prepared[2])
            return prepared
        path = self.resolve(request.notebook)
        if not path.is_file():
            raise FileNotFoundError(f"notebook not found: {path}")
        pipeline = self.compile(path)
        if not pipeline.valid:
            raise InvalidPipeline(pipeline, self._display(path))
        params = resolve_parameters(pipeline, request.parameters)
        store = self.store_for(path)
        self._require_backend(request.backend, store)
        backend_class(request.backend).check(pipeline, self.settings)
        update: dict[str, Any] = {"notebook": str(path), "parameters": params}
        if request.snapshot is not None:
            update["snapshot"] = self._check_snapshot(store, request.snapshot)
        request = request.model_copy(update=update)
        if request.from_step or request.only_step:
            from .run_from import prepare_partial

            pipeline, request = prepare_partial(store, pipeline, request, self._display(path))
        return pipeline, request, store

    @staticmethod
    def _require_backend(name: str, store: RunStore) -> None:
        """Refuse a backend that is not installed or configured before any record or snapshot
        (``BackendNotReady``; the local backend is always ready)."""
        from .backends import require_ready

        if name != "local":
            require_ready(name, store)

    @staticmethod
    def _check_snapshot(store: RunStore, ref: str) -> str:
        """The full id of a snapshot the run may start from: a hex id or prefix of a snapshot in
        the notebook's store, whose manifest is safe to restore. Raised before any run exists:
        ``BadSnapshotRef``/``DamagedSnapshot`` (ValueError, 422), ``UnknownSnapshot`` (404)."""
        from .snapshots import SnapshotError, check_entries

        try:
            snap_id = store.snapshots.resolve(ref)
            check_entries(store.snapshots.show(snap_id))
        except SnapshotError as exc:
            exc.field = "snapshot"  # type: ignore[attr-defined]
            raise
        return snap_id

    def _prepare_retry(self, request: RunRequest) -> tuple[Pipeline, RunRequest, RunStore]:
        """A retry runs the notebook as it is now (a fix made since the failure is picked up) with
        the earlier run's parameters; when the notebook is gone or no longer compiles cleanly, the
        earlier run's own pipeline. Which steps are reused is the backend's decision."""
        from jupyter_kf_converter.ir import Pipeline

        from .backends import backend_class
        from .executor.parameters import resolve_parameters

        store = self._locate(request.retry_of)  # type: ignore[arg-type]
        old = store.get_run(request.retry_of)  # type: ignore[arg-type]
        if not old.status.finished:
            raise RunConflictError(
                f"run {old.id} is still {old.status.value}: cancel it or wait before retrying"
            )
        path = self.resolve(old.notebook)
        if request.notebook and Path(request.notebook).name != path.name:
            raise ValueError(f"run {old.id} is a run of {old.notebook}, not of {request.notebook}")
        pipeline = self.compile(path) if path.is_file() else None
        if pipeline is None or not pipeline.valid:
            pipeline = Pipeline.from_json((store.run_path(old.id) / "pipeline.json").read_text())
        known = {p.name for p in pipeline.parameters}
        params = {k: v for k, v in old.parameters.items() if k in known}
        params.update(resolve_parameters(pipeline, request.parameters))
        backend_class(request.backend).check(pipeline, self.settings)
        return pipeline, request.model_copy(update={"notebook": str(path), "parameters": params}), store

    def submit(
        self, request: RunRequest, on_update: OnUpdate | None = None, *,
        schedule: str | None = None, scheduled_for: datetime | None = None,
        prepared: tuple[Pipeline, RunRequest, RunStore] | None = None,
    ) -> Run:
        """Start a run in the background and return its record at once (status queued).

        Raises before anything runs if the notebook, the pipeline or a parameter is invalid.
        ``schedule``/``scheduled_for`` record the schedule and due time that made the run;
        ``prepared`` is what :meth:`prepare` returned for ``request`` (sweeps compile once).
        """
        from .backends import get_backend
        from .store import utcnow

        pipeline, request, store = prepared or self.prepare(request)
        run_id = store.new_run_id()
        run = Run(
            id=run_id,
            pipeline=pipeline.name,
            notebook=self._display(Path(request.notebook)),
            backend=request.backend,
            created_at=utcnow(),
            parameters=request.parameters,
            cache=request.cache,
            snapshot=request.snapshot,
            retry_of=request.retry_of,
            reproduces=request.reproduces,
            sweep=request.sweep,
            inputs_from=request.inputs_from,
            from_step=request.from_step,
            only_step=request.only_step,
            steps=[StepRun(name=s.name) for s in pipeline.steps],
            schedule=schedule,
            scheduled_for=scheduled_for,
        )
        run = store.create_run(run, pipeline, capture_env=False)  # the backend writes env.json
        handle = get_backend(request.backend, store).start(pipeline, run, request, self._observed(on_update))
        with self._lock:
            self._handles[run_id] = handle
        return run

    def handle(self, run_id: str) -> RunHandle | None:
        """The in-process handle of a run started by this service (None otherwise)."""
        with self._lock:
            return self._handles.get(run_id)

    def wait(self, run_id: str, timeout: float | None = None) -> Run:
        h = self.handle(run_id)
        return h.wait(timeout) if h else self.get_run(run_id)

    def run(self, request: RunRequest, on_update: OnUpdate | None = None) -> Run:
        """Run to the end and return the finished run (blocks the calling thread)."""
        run = self.submit(request, on_update)
        return self.wait(run.id)

    def get_run(self, run_id: str) -> Run:
        return self._locate(run_id).get_run(run_id)

    def list_runs(self, notebook: str | Path | None = None, limit: int = 50) -> list[Run]:
        """Runs of one notebook, or of every known store under the root, newest first."""
        from .store import known_stores

        if notebook is not None:
            nb = self.resolve(notebook)
            store = self._existing_store(self.settings.store_path(nb.parent))
            return store.list_runs(self._display(nb), limit=limit) if store else []
        paths = {self.settings.store_path(self.root).resolve()}
        paths |= {p.resolve() for p in known_stores(self.settings) if p.resolve().is_relative_to(self.root)}
        runs: list[Run] = []
        for p in paths:
            store = self._existing_store(p)
            if store is not None:
                runs += store.list_runs(limit=limit)
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return runs[:limit]

    def cancel(self, run_id: str) -> Run:
        """Ask a run to stop (works from any process: the runner polls the store's flag)."""
        store = self._locate(run_id)
        run = store.request_cancel(run_id)
        h = self.handle(run_id)
        if h is not None:
            h.cancel()
        return run

    def retry(self, run_id: str, on_update: OnUpdate | None = None, **overrides: Any) -> Run:
        """Submit a new run that reruns only the failed, cancelled and downstream steps of ``run_id``.

        It works in a copy of that run's working folder, with its parameters, and runs the notebook
        as it is now: steps that finished there are taken over unless their code or parameters
        changed since. ``overrides`` are RunRequest fields (e.g. ``max_parallel``, ``parameters``).
        """
        old = self.get_run(run_id)
        fields = {
            "notebook": old.notebook,
            "backend": old.backend,
            "cache": old.cache,
            **overrides,
            "retry_of": run_id,
        }
        return self.submit(RunRequest(**fields), on_update)

    def rerun(self, run_id: str, on_update: OnUpdate | None = None, **overrides: Any) -> Run:
        """Submit a rerun of ``run_id`` from its own snapshot, pipeline and parameters
        (``jupyter_kf.reproduce``); ``overrides`` are RunRequest fields (backend, cache, ...)."""
        old = self.get_run(run_id)
        fields = {"notebook": old.notebook, "backend": old.backend, "cache": old.cache, **overrides}
        return self.submit(RunRequest(**fields, reproduces=run_id), on_update)

    def environment_check(self, run_id: str) -> list[EnvDifference]:
        """How this environment differs from the one ``run_id`` recorded."""
        from .reproduce import environment_check

        return environment_check(self._locate(run_id), run_id)

    def step_log(self, run_id: str, step: str) -> str:
        store = self._locate(run_id)
        store.get_step(run_id, step)  # UnknownStep names the known steps
        path = store.step_log_path(run_id, step)
        return path.read_text(errors="replace") if path.is_file() else ""

    def step_notebook(self, run_id: str, step: str) -> Path:
        store = self._locate(run_id)
        store.get_step(run_id, step)
        return store.step_notebook_path(run_id, step)

    @property
    def sweeps(self) -> Any:
        """Parameter sweeps of this service's notebooks (``jupyter_kf.sweeps.Sweeps``)."""
        with self._lock:
            if getattr(self, "_sweeps", None) is None:
                from .sweeps import Sweeps

                self._sweeps = Sweeps(self)
            return self._sweeps

    # -- snapshots and backends ---------------------------------------------------------------
    def create_snapshot(self, notebook: str | Path) -> Snapshot:
        nb = self.resolve(notebook)
        return self.store_for(nb).snapshots.create(nb.parent, notebook=nb.name)

    def list_snapshots(self, notebook: str | Path) -> list[Snapshot]:
        from .snapshots import SnapshotStore

        nb = self.resolve(notebook)
        return SnapshotStore(self.settings.store_path(nb.parent)).list(nb.parent)

    def store_usage(self, notebook: str | Path) -> StoreUsage:
        """Disk used by the store of a notebook's folder (zero when it has none yet)."""
        from .housekeeping import store_usage

        store = self._existing_store(self.settings.store_path(self.resolve(notebook).parent))
        return store_usage(store)

    def prune(self, request: PruneRequest) -> PruneResult:
        """Remove runs of a notebook's store (``housekeeping.plan_prune`` says which may go),
        then what only they used; ``dry_run`` removes nothing. Raises ValueError for a request
        that names no criterion."""
        from .housekeeping import collect, parse_age, plan_prune, prune

        if request.older_than is None and request.keep is None and not request.status:
            # the notebook only says which store: alone it would be "every run of it"
            raise ValueError("say which runs to prune: older_than, keep or status")
        nb = self.resolve(request.notebook)
        store = self._existing_store(self.settings.store_path(nb.parent))
        if store is None:
            return PruneResult(dry_run=request.dry_run, removed=[], bytes=0)
        plan = plan_prune(
            store,
            older_than=parse_age(request.older_than) if request.older_than else None,
            keep=request.keep,
            statuses=[s.value for s in request.status],
            notebook=nb.name if request.only_this_notebook else None,
            keep_latest_success=not request.include_latest,
        )
        removed, freed = [r.id for r in plan.remove], plan.bytes
        if not request.dry_run and plan.remove:
            removed, freed = prune(store, plan)
            freed += collect(store).bytes_freed
        return PruneResult(dry_run=request.dry_run, removed=removed, bytes=freed, kept=plan.kept)

    def backends(self) -> list[BackendInfo]:
        from .backends import backend_infos

        return backend_infos(self._store(self.settings.store_path(self.root)))  # opened, not created

    def close(self) -> None:
        """Cancel runs this service started that are still active, then close the stores."""
        if getattr(self, "_sweeps", None) is not None:
            self._sweeps.close()
        with self._lock:
            handles = list(self._handles.values())
        for h in handles:
            if not getattr(h, "done", True):
                h.cancel()
                h.wait(30)
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
