"""The local DAG executor: steps start as soon as their dependencies finish, up to N at once.

Each step runs its emitted notebook with papermill in a fresh kernel from a :class:`KernelPool`.
Before a step runs, its cache key is computed (its inputs are ready by then); a hit (or, for a
retry, the earlier run's result) reuses the recorded outputs and executed notebook. Every state
change is written to the run store first, then reported through ``on_update(run)``.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models import Run, RunStatus, StepRun, StepStatus
from . import files
from .gpus import VISIBLE, GpuSlots, requested
from .inflight import IN_FLIGHT
from .reuse import Reuse, StepCache
from .step import StepAttempt, StepOutcome, write_input_notebook

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..kernels.pool import KernelPool
    from ..store import RunStore

log = logging.getLogger("jupyter_kf.executor")
OnUpdate = Callable[[Run], None]
LOOKAHEAD = 3  # levels of the DAG behind running steps whose kernels are started in advance
CANCEL_POLL = 0.25  # s between checks of the store's cancel flag (cancel from another process)
BACKOFF_MAX = 30.0  # s: the longest pause between two attempts of a step


def retry_pause(attempt: int, base: float) -> float:
    """Seconds to wait before ``attempt`` (2, 3, ...): ``base``, doubling, at most BACKOFF_MAX."""
    return 0.0 if attempt < 2 or base <= 0 else min(BACKOFF_MAX, base * 2 ** (attempt - 2))


@dataclass
class ExecutionPlan:
    """Everything the executor needs besides the store: prepared by the local backend."""

    pipeline: Pipeline
    run_id: str
    work_dir: Path
    inputs_dir: Path  # emitted (input) step notebooks, <inputs_dir>/<step>.ipynb, written when a step runs
    parameters: dict[str, Any]  # typed overrides
    max_parallel: int
    timeout: float | None = None  # default per-step timeout
    cache: bool = True
    snapshot_key: str | None = None  # the snapshot component of cache keys
    reuse: dict[str, Reuse] = field(default_factory=dict)  # retry: steps taken over from the earlier run
    # First run of this notebook in the store: root steps start without a cache lookup (their
    # kernels are already starting); their keys are computed once they succeed.
    speculative: bool = False
    # GPUs steps tagged limit:nvidia.com/gpu:N take from (None: such steps run without one)
    gpus: GpuSlots | None = None
    retry_backoff: float = 1.0  # s before a step's second attempt (see retry_pause)
    # Writes the run's input files into ``work_dir`` (the snapshot); called once, just before the
    # first step that really runs, so a run whose steps are all cached writes nothing.
    prepare_files: Callable[[], None] | None = None
    # step -> its secret environment variables (executor/secrets.py): for its kernel only
    secret_env: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)


class LocalExecutor:
    def __init__(
        self,
        store: RunStore,
        plan: ExecutionPlan,
        pool: KernelPool | None,
        on_update: OnUpdate | None = None,
        make_pool: Callable[[], KernelPool] | None = None,
    ) -> None:
        self.store = store
        self.plan = plan
        self.p = plan.pipeline
        self._pool = pool
        self._make_pool = make_pool
        self.on_update = on_update
        self.status: dict[str, StepStatus] = {s.name: StepStatus.pending for s in self.p.steps}
        self.errors: dict[str, str] = {}
        self._attempts: dict[str, StepAttempt] = {}
        self._writers: dict[str, str] = {}  # absolute path -> the step whose code last wrote it
        self._done: queue.Queue[tuple[str, StepOutcome]] = queue.Queue()
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self.cache = StepCache(store, plan)
        self._gpus: dict[str, list[str]] = {}  # step -> GPU ids it holds while it runs
        self._waiting_for_gpus: set[str] = set()  # ready steps that wait for free GPUs
        self._looked_up: set[str] = set()  # ready steps whose cache lookup missed
        self._shared_wait: set[str] = set()  # ready steps another run is computing now (inflight.py)
        self._claims: dict[str, str] = {}  # step -> cache key this run claimed while it computes it

    # -- control ------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the run: running steps' kernels are killed, pending steps are skipped."""
        self._cancel.set()
        with self._lock:
            attempts = list(self._attempts.values())
        for a in attempts:
            a.stop()

    @property
    def pool(self) -> KernelPool:
        with self._lock:
            if self._pool is None:
                assert self._make_pool is not None
                self._pool = self._make_pool()
            return self._pool

    # -- reporting ----------------------------------------------------------------------------
    def _notify(self) -> None:
        if self.on_update is None:
            return
        try:
            self.on_update(self.store.get_run(self.plan.run_id))
        except Exception:  # a broken observer must not break the run
            log.exception("on_update callback failed")

    def _set(self, step: str, status: StepStatus, **fields: Any) -> None:
        self.status[step] = status
        self.store.update_step(self.plan.run_id, step, status=status, **fields)
        self._notify()

    # -- the loop -----------------------------------------------------------------------------
    def execute(self) -> Run:
        run_id = self.plan.run_id
        self.store.update_run(run_id, status=RunStatus.running)
        self._notify()
        workers = ThreadPoolExecutor(max_workers=self.plan.max_parallel, thread_name_prefix="kf-step")
        running: set[str] = set()
        next_poll = 0.0
        try:
            while True:
                if not self._cancel.is_set() and time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + CANCEL_POLL
                    if self.store.cancel_requested(run_id):
                        self.cancel()
                if self._cancel.is_set():
                    for name, st in self.status.items():
                        if st == StepStatus.pending:
                            self._set(
                                name,
                                StepStatus.skipped,
                                error="the run was cancelled before this step started",
                            )
                else:
                    self._schedule(running, workers)
                waiting = self._waiting_for_gpus or self._shared_wait
                if not running and waiting and not self._cancel.is_set():
                    time.sleep(CANCEL_POLL)  # GPUs or a shared step held elsewhere: wait for them
                    continue
                if not running:
                    for name, st in self.status.items():  # nothing runs, so nothing can become ready
                        if st == StepStatus.pending:
                            self._set(name, StepStatus.skipped, error="its dependencies can never finish")
                    break
                try:
                    name, outcome = self._done.get(timeout=CANCEL_POLL)
                except queue.Empty:
                    continue
                running.discard(name)
                self._finish(name, outcome)
        finally:
            IN_FLIGHT.release_all(run_id)
            if running:  # leaving early (an error in this loop): stop what still runs
                self.cancel()
            workers.shutdown(wait=True)
            if self._pool is not None:
                self._pool.close()
        return self._finish_run()

    def _schedule(self, running: set[str], workers: ThreadPoolExecutor) -> None:
        """Start every ready step (up to the limit); cached steps make their dependents ready at once."""
        progressed = True
        while progressed:
            progressed = False
            self._skip_blocked()
            self._waiting_for_gpus.clear()
            self._shared_wait.clear()
            for step in self._ready():
                if len(running) >= self.plan.max_parallel:
                    break
                if step not in self._looked_up:  # a step waiting for GPUs is looked up once
                    if self._take_over(step):
                        progressed = True
                        continue
                    if step in self._shared_wait:  # looked up again once the other run is done
                        continue
                    self._looked_up.add(step)
                if not self._hold_gpus(step):
                    self._waiting_for_gpus.add(step)
                    continue
                self._prepare_files()  # first: the pool's kernels may need to know how to see them
                _ = self.pool  # created (and its imports done) here, not racing in the workers
                running.add(step)
                self._set(step, StepStatus.running, attempt=1)
                workers.submit(self._run_step, step)
        self._prestart(running)

    def _hold_gpus(self, step: str) -> bool:
        """Take the GPUs a step asks for; False (the step stays pending) while too few are free."""
        n = requested(self.p.step(step)) if self.plan.gpus is not None else 0
        if n == 0:
            return True
        assert self.plan.gpus is not None
        got = self.plan.gpus.acquire(n)
        if got is None:
            return False
        self._gpus[step] = got
        return True

    def _release_gpus(self, step: str) -> None:
        got = self._gpus.pop(step, None)
        if got and self.plan.gpus is not None:
            self.plan.gpus.release(got)

    def _ready(self) -> list[str]:
        ok = (StepStatus.succeeded, StepStatus.cached)
        return [
            s.name
            for s in self.p.steps
            if self.status[s.name] == StepStatus.pending and all(self.status[d] in ok for d in s.depends_on)
        ]

    def _skip_blocked(self) -> None:
        bad = (StepStatus.failed, StepStatus.skipped, StepStatus.cancelled)
        changed = True
        while changed:
            changed = False
            for s in self.p.steps:
                if self.status[s.name] != StepStatus.pending:
                    continue
                blockers = [d for d in s.depends_on if self.status[d] in bad]
                if blockers:
                    d = blockers[0]
                    why = "failed" if self.status[d] == StepStatus.failed else f"was {self.status[d].value}"
                    self._set(s.name, StepStatus.skipped, error=f"upstream step {d!r} {why}")
                    changed = True

    def _prestart(self, running: set[str]) -> None:
        """Keep a kernel started for each step likely to run soon: pending steps at most
        ``LOOKAHEAD`` levels behind a running step. A step whose inputs all come from cached or
        reused steps may well be a cache hit itself, so it gets no speculative kernel (it starts
        one if it really runs); that is also why a fully cached rerun starts no kernel at all."""
        depth: dict[str, int] = {name: 0 for name in running}
        soon = 0
        for s in self.p.steps:  # notebook order is a topological order
            if self.status[s.name] != StepStatus.pending or s.name in self.plan.reuse:
                continue
            waits = [depth[d] for d in s.depends_on if d in depth]
            unfinished = [d for d in s.depends_on if not self.status[d].finished]
            if waits and len(waits) == len(unfinished):
                depth[s.name] = 1 + max(waits)
                if depth[s.name] <= LOOKAHEAD and not (self.plan.gpus is not None and requested(s)):
                    soon += 1
        if soon or self._pool is not None:
            self.pool.want(soon)

    def _prepare_files(self) -> None:
        prepare, self.plan.prepare_files = self.plan.prepare_files, None
        if prepare is not None:
            prepare()

    # -- cache and retry ----------------------------------------------------------------------
    def _take_over(self, name: str) -> bool:
        """Reuse a retried run's result or a cache hit for ``name``; True when the step is done."""
        step = self.p.step(name)
        reuse = self.plan.reuse.get(name)
        if self.plan.speculative and not step.depends_on:
            return False
        if reuse is None and self.cache.enabled_for(step):
            key = self.cache.key(name)
            if key is not None:
                self.store.update_step(self.plan.run_id, name, cache_key=key)
                reuse = self.cache.lookup(key)
                if reuse is None and not self._claim(name, key):
                    return False
        if reuse is None:
            return False
        try:
            self.cache.copy_outputs(name, reuse)
        except OSError as exc:  # outputs vanished since they were recorded: run the step instead
            log.warning("cannot reuse step %s from run %s: %s", name, reuse.origin_run, exc)
            return False
        fields: dict[str, Any] = {"cached_from": reuse.origin_run, "duration": 0.0}
        if reuse.cache_key:
            fields["cache_key"] = reuse.cache_key
        self._set(name, StepStatus.cached, **fields)
        return True

    def _claim(self, name: str, key: str) -> bool:
        """Claim the step's key while this run computes it; False (the step waits) when another
        run of this process computes the same step now."""
        if IN_FLIGHT.claim(str(self.store.path), key, self.plan.run_id) is not None:
            self._shared_wait.add(name)
            return False
        self._claims[name] = key
        return True

    def _record_key(self, name: str) -> None:
        """Store the cache key of a step that ran without a lookup (so later runs can reuse it)."""
        if not self.cache.records(self.p.step(name)):
            return
        if self.store.get_step(self.plan.run_id, name).cache_key:
            return
        key = self.cache.key(name)
        if key is not None:
            self.store.update_step(self.plan.run_id, name, cache_key=key)

    # -- one step (worker thread) -------------------------------------------------------------
    def _run_step(self, name: str) -> None:
        try:
            outcome = self._attempt_all(name)
        except BaseException as exc:  # never lose a completion: the loop waits for it
            outcome = StepOutcome(ok=False, error=f"step {name!r}: runner error: {type(exc).__name__}: {exc}")
        finally:
            self._release_gpus(name)
        self._done.put((name, outcome))

    def _attempt_all(self, name: str) -> StepOutcome:
        from jupyter_kf_converter.tags import MAX_RETRIES

        step = self.p.step(name)
        tries = 1 + min(max(0, step.retries), MAX_RETRIES)  # also for IRs written before the cap
        timeout = step.timeout or self.plan.timeout
        params = {k: v for k, v in self.plan.parameters.items() if k in step.parameters}
        params["_kf_values_dir"] = str(self.store.values_dir(self.plan.run_id))
        out_nb = self.store.step_notebook_path(self.plan.run_id, name)
        log_path = self.store.step_log_path(self.plan.run_id, name)
        outcome = StepOutcome(ok=False, error="not run")
        input_nb = write_input_notebook(self.p, name, self.plan.inputs_dir / f"{name}.ipynb")
        for attempt in range(1, tries + 1):
            if self._cancel.is_set():
                return StepOutcome(ok=False, error=f"step {name!r} was cancelled", killed=True)
            values = self.store.values_dir(self.plan.run_id, name)
            if values.exists():  # a failed attempt must leave no stale manifest
                shutil.rmtree(values, ignore_errors=True)
            if attempt > 1:
                if self._cancel.wait(retry_pause(attempt, self.plan.retry_backoff)):
                    return StepOutcome(ok=False, error=f"step {name!r} was cancelled", killed=True)
                self.store.update_step(self.plan.run_id, name, attempt=attempt, error=None)
                self._notify()
                with open(log_path, "a") as f:
                    f.write(f"\n--- jupyter-kf: attempt {attempt} of {tries} ---\n")
            gpus = self._gpus.get(name)
            if gpus:
                with open(log_path, "a") as f:
                    f.write(f"--- jupyter-kf: GPU(s) {','.join(gpus)} ({VISIBLE}) ---\n")
            env = {**self.plan.secret_env.get(name, {}), **({VISIBLE: ",".join(gpus)} if gpus else {})}
            km = self.pool.take(env or None)
            a = StepAttempt(
                name, input_nb, out_nb, log_path, params, km, self.p.kernel.name, timeout, self.pool.kill
            )
            with self._lock:
                if self._attempts:  # steps running at the same time share the working folder
                    a.overlapped = True
                    for other in self._attempts.values():
                        other.overlapped = True
                self._attempts[name] = a
            if self._cancel.is_set():
                a.stop()
            before = files.scan(self.plan.work_dir)
            own: set[str] | None = None
            try:
                outcome = a.run()
            finally:
                own = km.written_files()  # read before the kernel (and its log) is discarded
                with self._lock:
                    self._attempts.pop(name, None)
                    for path in own or ():
                        self._writers[path] = name
                self.pool.discard(km)
            if outcome.ok:
                kept = self.store.run_path(self.plan.run_id) / "files" / name
                others = [pid for pid in self.pool.pids if pid != km.pid]  # kernels of running steps
                files.capture(self.plan.work_dir, before, kept, busy_pids=others,
                              may_keep=self._attribution(name, a, own))
            if outcome.ok or self._cancel.is_set():
                return outcome
        return outcome

    def _attribution(
        self, name: str, attempt: StepAttempt, own: set[str] | None
    ) -> Callable[[str], bool] | None:
        """Which changed files ``name`` keeps: all of them when no other step ran beside it (or
        its kernel logged no writes); otherwise those its own code wrote, and those that no other
        step's code wrote (written in C or by a subprocess: their writer cannot be told)."""
        if own is None or not attempt.overlapped:
            return None
        with self._lock:
            others = {p for p, step in self._writers.items() if step != name}
            running = [a.km for a in self._attempts.values()]
        for km in running:
            others |= km.written_files() or set()
        mine = {os.path.realpath(p) for p in own}
        others = {os.path.realpath(p) for p in others}
        return lambda real: real in mine or real not in others

    def _finish(self, name: str, outcome: StepOutcome) -> None:
        if outcome.ok:
            self._record_key(name)
            self._set(name, StepStatus.succeeded, error=None)
        elif self._cancel.is_set() and outcome.killed and not outcome.timed_out:
            self._set(name, StepStatus.cancelled, error=outcome.error)
        else:
            self.errors[name] = outcome.error or f"step {name!r} failed"
            self._set(name, StepStatus.failed, error=self.errors[name], failed_cell=outcome.failed_cell)
        key = self._claims.pop(name, None)
        if key is not None:  # recorded above: a waiting run now finds it in the store
            IN_FLIGHT.release(str(self.store.path), key, self.plan.run_id)

    def _finish_run(self) -> Run:
        run_id = self.plan.run_id
        statuses = self.status.values()
        if self._cancel.is_set() and any(s in (StepStatus.cancelled, StepStatus.skipped) for s in statuses):
            status, error = RunStatus.cancelled, "cancelled"
        elif self.errors:
            first = next(s.name for s in self.p.steps if s.name in self.errors)
            status, error = RunStatus.failed, self.errors[first]
            if len(self.errors) > 1:
                error += f" (and {len(self.errors) - 1} more failed step(s))"
        else:
            status, error = RunStatus.succeeded, None
        self.store.update_run(run_id, status=status, error=error)
        run = self.store.get_run(run_id)
        if self.on_update:
            try:
                self.on_update(run)
            except Exception:
                log.exception("on_update callback failed")
        return run


def step_runs(pipeline: Pipeline) -> list[StepRun]:
    return [StepRun(name=s.name) for s in pipeline.steps]
