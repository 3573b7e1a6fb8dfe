"""The local backend: snapshot the notebook's folder, materialize it as the run's working
folder, emit one notebook per step and run them with the local DAG executor (one fresh kernel
per step, from a fork server and a pre-started pool).

Layout of a run (see ``jupyter_kf.store``): ``<store>/<run>/work/`` (the steps' shared cwd, with
``kf-values/``), ``inputs/<step>.ipynb`` (emitted notebooks), ``steps/<step>.ipynb|.log``, and
``files/<step>/`` (the files each step wrote into ``work/``, hardlinked, restored when it is reused).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._fsutil import disk_full
from ..models import BackendInfo, Run, RunRequest, RunStatus, StepStatus
from .base import Backend, OnUpdate
from .inputs import InputFiles

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..config import Settings
    from ..executor.reuse import Reuse
    from ..executor.runner import LocalExecutor
    from ..kernels.pool import KernelPool

log = logging.getLogger("jupyter_kf.backends.local")
RECORD_RETRY_EVERY = 2.0  # s between tries to record a run's end that a full disk kept out
RECORD_RETRY_FOR = 600.0
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _import_kernel_client() -> None:
    """jupyter_client, fully, before a pool thread starts kernels (a package imported in two
    threads at once can be seen half-made by one of them)."""
    import jupyter_client.kernelspec  # noqa: F401
    import jupyter_client.provisioning  # noqa: F401

    from ..kernels import pool  # noqa: F401


def _import_step_runner() -> None:
    """What running a step needs besides jupyter_client (papermill, nbformat: ~0.35 s)."""
    import papermill  # noqa: F401
    import papermill.translators  # noqa: F401
    from jupyter_kf_converter import emit  # noqa: F401
    from nbformat.validator import get_validator

    from ..executor import engine  # noqa: F401  (registers the papermill engine steps use)

    get_validator(version=4)  # compiles the notebook schema once


class RunSlots:
    """How many local runs execute at once in this process (``Settings.max_runs``); the others
    wait, ``queued``, first come first served. Without it a burst of runs piles up kernels,
    threads and descriptors until the process runs out of them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._queue: deque[object] = deque()

    def acquire(self, limit: int, should_stop: Callable[[], bool], every: float = 0.5) -> bool:
        """Wait for a slot (True), or until ``should_stop()`` says the run was cancelled (False)."""
        me = object()
        with self._cond:
            self._queue.append(me)
        try:
            while True:
                with self._cond:
                    if self._queue[0] is me and self._active < max(1, limit):
                        self._active += 1
                        return True
                    self._cond.wait(every)
                if should_stop():  # outside the lock: it may read the store
                    return False
        finally:
            with self._cond:
                self._queue.remove(me)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    @property
    def active(self) -> int:
        with self._cond:
            return self._active


RUN_SLOTS = RunSlots()


def _not_copied(folder: Path, names: list[str], top: Path) -> list[str]:
    """What a retry does not copy from the earlier run's folder: its values, and the overlay's
    whiteouts (character devices marking files its steps deleted)."""
    import stat

    skip = ["kf-values"] if folder == top else []
    for n in names:
        try:
            if stat.S_ISCHR(os.lstat(folder / n).st_mode):
                skip.append(n)
        except OSError:
            skip.append(n)
    return skip


class LocalRun:
    """Handle of a local run executing in a background thread."""

    def __init__(
        self,
        backend: LocalBackend,
        pipeline: Pipeline,
        run: Run,
        request: RunRequest,
        on_update: OnUpdate | None,
    ):
        self.backend = backend
        self.store = backend.store
        self.run_id = run.id
        self.pipeline, self.run, self.request, self.on_update = pipeline, run, request, on_update
        self.executor: LocalExecutor | None = None
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self.error: BaseException | None = None
        # Long work before or between steps, for surfaces to show: (what, done, total, (bytes
        # done, bytes total)) while the snapshot is taken or the inputs are written, else None.
        self.activity: tuple[str, int, int, tuple[int, int]] | None = None
        self.thread = threading.Thread(target=self._main, name=f"kf-run-{run.id}", daemon=True)

    def start(self) -> LocalRun:
        self.thread.start()
        return self

    def wait(self, timeout: float | None = None) -> Run:
        self._done.wait(timeout)
        return self.store.get_run(self.run_id)

    def cancel(self) -> None:
        self._cancelled.set()
        ex = self.executor
        if ex is not None:
            ex.cancel()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    # -- background ---------------------------------------------------------------------------
    def _queued_cancel(self) -> bool:
        if self._cancelled.is_set():
            return True
        try:
            return self.store.cancel_requested(self.run_id)  # cancelled from another process
        except Exception:
            return False

    def _main(self) -> None:
        if not RUN_SLOTS.acquire(self.store.settings.max_runs, self._queued_cancel):
            try:
                self._finish_cancelled()
            except BaseException as exc:
                self.error = exc
                log.exception("could not record the cancellation of queued run %s", self.run_id)
            finally:
                self._done.set()
            return
        try:
            self._run()
        finally:
            RUN_SLOTS.release()
            self._done.set()

    def _run(self) -> None:
        pool = None
        try:
            self.store.work_dir(self.run_id).mkdir(parents=True, exist_ok=True)
            if self.backend.speculate(self.pipeline, self.run, self.request) and not self._overlay_possible():
                # First run of this notebook: its root steps will surely run.
                pool = self._make_pool(want=len([s for s in self.pipeline.steps if not s.depends_on]))
            plan = self._prepare(pool is not None)
            if self._cancelled.is_set():
                self._finish_cancelled()
                return
            from ..executor.runner import LocalExecutor

            # Without speculation the pool (and jupyter_client) is only created if a step runs.
            self.executor = LocalExecutor(self.store, plan, pool, self.on_update, make_pool=self._make_pool)
            pool = None  # the executor closes it
            if self._cancelled.is_set():
                self.executor.cancel()
            self.executor.execute()
        except BaseException as exc:  # record why; a run never stays "running" for a dead thread
            self.error = exc
            if disk_full(exc):  # not a bug: say it in one line, and record it if the store can
                log.error("run %s stopped: disk full (%s)", self.run_id, exc)
                self._fail(f"disk full: {exc}".splitlines()[0][:500])
            else:
                log.exception("run %s failed before or outside its steps", self.run_id)
                self._fail(f"{type(exc).__name__}: {exc}".splitlines()[0][:500])
        finally:
            if pool is not None:
                pool.close()
            inputs = getattr(self, "_inputs", None)
            if inputs is not None:
                inputs.finish()
            self._retention()
            env_thread = getattr(self, "_env_thread", None)
            if env_thread is not None:
                env_thread.join()  # env.json is part of the run's record

    def _overlay_possible(self) -> bool:
        """Whether the run's kernels may see its inputs through an overlay: then no kernel may
        start before the snapshot is known (speculative kernels would see an empty folder)."""
        if self.store.settings.materialize == "copy":
            return False
        from ..snapshots.tree import overlay_available

        return overlay_available(self.store.path)

    def _report(self, p: Any) -> None:
        """snapshots.Progress -> :attr:`activity` (cleared when the phase ends)."""
        label = {"scan": "snapshot", "hash": "snapshot", "materialize": "writing inputs"}.get(p.phase, p.phase)
        done = p.files_total > 0 and p.files_done >= p.files_total and p.phase != "scan"
        self.activity = None if done else (label, p.files_done, p.files_total, (p.bytes_done, p.bytes_total))

    def _retention(self) -> None:
        """Apply the store's retention policy (settings ``retain_runs``/``retain_days``), if any."""
        settings = self.store.settings
        if settings.retain_runs is None and settings.retain_days is None:
            return
        try:
            from ..housekeeping import apply_retention

            apply_retention(self.store)
        except Exception:
            log.exception("could not apply the retention policy after run %s", self.run_id)

    def _make_pool(self, want: int = 0) -> KernelPool:
        """The run's kernel pool, created when a step will run (never for a fully cached run),
        with ``want`` kernels starting at once. Called from one thread before any step runs:
        the modules running steps needs are imported here, serially, while kernels start."""
        from ..kernels import warm_up

        warm_up()  # the fork server, if the caller has not started it: it imports while we do
        _import_kernel_client()
        from ..kernels.pool import KernelPool

        from ..executor.gpus import NO_GPU, VISIBLE

        work = self.store.work_dir(self.run_id)
        # A step without limit:nvidia.com/gpu sees no GPU (a GPU step's kernel gets its own).
        env = {"JUPYTER_KF_RUN_ID": self.run_id, VISIBLE: NO_GPU}
        inputs = getattr(self, "_inputs", None)
        if inputs is not None:
            env.update(inputs.kernel_env)  # how kernels see the inputs (an overlay), if so
        if self.request.threads:  # parallel trials or steps must not each take every core
            env.update({v: str(self.request.threads) for v in THREAD_VARS})
        from ..kernels.preload import modules_to_preload

        cap = self.backend.max_parallel(self.request) + 2
        preload = modules_to_preload(self.pipeline, Path(self.request.notebook).parent)
        pool = KernelPool(self.pipeline.kernel.name, work, env, cap=cap, preload=preload)
        pool.want(want)
        _import_step_runner()
        return pool

    def _prepare(self, pool_started: bool) -> Any:
        from ..cache import snapshot_key
        from ..envinfo import write_env
        from ..executor.parameters import resolve_parameters
        from ..executor.runner import ExecutionPlan
        from ..executor.secrets import step_environments

        store, run, req = self.store, self.run, self.request
        self._env_thread = threading.Thread(
            target=write_env, args=(store.run_path(run.id), self.pipeline.kernel.name), daemon=True
        )
        self._env_thread.start()  # ~0.15 s scan of installed packages, off the critical path
        work = store.work_dir(run.id)
        reuse: dict[str, Reuse] = {}
        notebook = Path(req.notebook)  # the service passes it absolute
        if req.retry_of:
            snap, reuse = self._prepare_retry(req.retry_of, work)
        else:
            try:
                snap = req.snapshot or store.snapshots.create(
                    notebook.parent, notebook=notebook.name, progress=self._report
                ).id
            finally:
                self.activity = None
            if req.from_step or req.only_step:  # upstream steps are taken over, not run
                from ..executor import partial

                run_steps = partial.selected(self.pipeline, req.from_step, req.only_step)
                inputs = store.get_run(req.inputs_from) if req.inputs_from else None
                if inputs is None:
                    raise partial.PartialRunError("a run from a step needs the run its inputs come from")
                reuse = partial.upstream_reuse(store, self.pipeline, run_steps, inputs)
        store.update_run(run.id, snapshot=snap)
        self._inputs = InputFiles(store, run.id, snap, report=self._report, kernel=self.pipeline.kernel.name)
        (work / "kf-values").mkdir(exist_ok=True)
        return ExecutionPlan(
            pipeline=self.pipeline,
            run_id=run.id,
            work_dir=work,
            inputs_dir=store.run_path(run.id) / "inputs",
            parameters=resolve_parameters(self.pipeline, req.parameters),
            max_parallel=self.backend.max_parallel(req),
            timeout=req.timeout or store.settings.timeout,
            cache=req.cache,
            snapshot_key=snapshot_key(store.path, snap, notebook.name) if snap else None,
            reuse=reuse,
            speculative=pool_started,
            gpus=self._gpu_slots(),
            retry_backoff=store.settings.retry_backoff,
            prepare_files=self._inputs.write,
            secret_env=step_environments(self.pipeline, notebook.parent),
        )

    def _gpu_slots(self) -> Any:
        """The GPUs this run's GPU steps take from; None when none asks for one or when the
        machine has none and the settings let such steps run on the CPU (``check`` passed)."""
        from ..executor import gpus

        if not any(gpus.requested(s) for s in self.pipeline.steps):
            return None
        ids, _ = gpus.detect(self.store.settings.gpus)
        return gpus.slots_for(ids) if ids else None

    def _prepare_retry(self, old_id: str, work: Path) -> tuple[str | None, dict[str, Reuse]]:
        """The earlier run's working folder (with the files its steps wrote) and the steps to take
        over from it: those that finished there, whose code and parameter values are unchanged
        and whose upstream steps are all taken over too. The rest (failed, cancelled, skipped,
        edited since, and everything downstream of them) runs again."""
        from jupyter_kf_converter.ir import Pipeline

        from ..cache import parameter_values, step_code
        from ..executor.reuse import Reuse

        old = self.store.get_run(old_id)
        old_pipeline = Pipeline.from_json((self.store.run_path(old_id) / "pipeline.json").read_text())
        old_work = self.store.work_dir(old_id)
        if old_work.is_dir():
            shutil.copytree(
                old_work,
                work,
                dirs_exist_ok=True,
                ignore=lambda d, names: _not_copied(Path(d), names, old_work),
            )
        finished = {s.name: s for s in old.steps if s.status in (StepStatus.succeeded, StepStatus.cached)}
        new, params = self.pipeline, self.request.parameters
        reuse: dict[str, Reuse] = {}
        for step in new.steps:  # notebook order is a topological order
            s = finished.get(step.name)
            if s is None or any(d not in reuse for d in step.depends_on):
                continue
            try:
                before = old_pipeline.step(step.name)
            except KeyError:
                continue
            same = step_code(old_pipeline, before) == step_code(new, step) and sorted(
                before.outputs
            ) == sorted(step.outputs)
            same = same and parameter_values(old_pipeline, before, old.parameters) == parameter_values(
                new, step, params
            )
            if not same:
                continue
            origin = s.cached_from if s.status == StepStatus.cached and s.cached_from else old_id
            nb = self.store.step_notebook_path(origin, s.name)
            if nb.is_file():
                logf = self.store.step_log_path(origin, s.name)
                reuse[s.name] = Reuse(
                    origin, nb, self.store.values_dir(origin, s.name), logf, s.cache_key, s.duration
                )
        return old.snapshot, reuse

    def _fail(self, reason: str) -> None:
        try:
            self._record_failure(reason)
        except Exception as exc:
            if disk_full(exc):
                # Keep trying in the background (a long-lived process, e.g. the server, would show
                # the run `running` until it restarts); a process that exits leaves it to the next
                # opener, which marks it interrupted.
                log.error("could not record the failure of run %s: disk full (%s); retrying",
                          self.run_id, exc)
                threading.Thread(target=self._record_later, args=(reason,), daemon=True,
                                 name=f"kf-record-{self.run_id}").start()
            else:
                log.exception("could not record the failure of run %s", self.run_id)

    def _record_failure(self, reason: str) -> None:
        run = self.store.get_run(self.run_id)
        if run.status.finished:
            return
        for s in run.steps:
            if s.status in (StepStatus.pending, StepStatus.running):
                self.store.update_step(self.run_id, s.name, status=StepStatus.skipped, error=reason)
        self.store.update_run(self.run_id, status=RunStatus.failed, error=reason)
        if self.on_update:
            self.on_update(self.store.get_run(self.run_id))

    def _record_later(self, reason: str) -> None:
        deadline = time.monotonic() + RECORD_RETRY_FOR
        while time.monotonic() < deadline:
            time.sleep(RECORD_RETRY_EVERY)
            try:
                self._record_failure(reason)
                return
            except Exception as exc:
                if not disk_full(exc):
                    log.exception("could not record the failure of run %s", self.run_id)
                    return

    def _finish_cancelled(self) -> None:
        for s in self.store.get_run(self.run_id).steps:
            self.store.update_step(
                self.run_id,
                s.name,
                status=StepStatus.skipped,
                error="the run was cancelled before this step started",
            )
        self.store.update_run(self.run_id, status=RunStatus.cancelled, error="cancelled")
        if self.on_update:
            self.on_update(self.store.get_run(self.run_id))


class LocalBackend(Backend):
    """Runs pipelines on this machine (always available)."""

    name = "local"

    def info(self) -> BackendInfo:
        return BackendInfo(
            name=self.name,
            available=True,
            configured=True,
            description="Each step in a fresh local kernel (papermill); independent steps in parallel.",
        )

    @classmethod
    def check(cls, pipeline: Pipeline, settings: Settings) -> None:
        """Steps asking for more GPUs than the machine has, or for a secret this machine does not
        have, are refused before the run."""
        from ..executor import gpus
        from ..executor.secrets import step_environments

        step_environments(pipeline)
        if any(gpus.requested(s) for s in pipeline.steps):
            ids, source = gpus.detect(settings.gpus)
            gpus.check(pipeline, ids, source, settings.gpu_fallback)

    def start(
        self, pipeline: Pipeline, run: Run, request: RunRequest, on_update: OnUpdate | None = None
    ) -> LocalRun:
        return LocalRun(self, pipeline, run, request, on_update).start()

    # -- policy -------------------------------------------------------------------------------
    def max_parallel(self, request: RunRequest) -> int:
        return request.max_parallel or self.store.settings.max_parallel

    def speculate(self, pipeline: Pipeline, run: Run, request: RunRequest) -> bool:
        """Start root steps' kernels before their cache keys are known? Only when they will
        certainly run: caching off, or no earlier run of this notebook in the store."""
        if request.retry_of or request.from_step or request.only_step:
            return False
        if request.sweep:  # trials start together: root steps must be looked up (and shared)
            return False
        if not request.cache:
            return True
        return not any(r.id != run.id for r in self.store.list_runs(run.notebook, limit=2))
