"""Running one sweep: Optuna asks for parameters, each trial is a run of the pipeline.

Trials are ordinary runs (recorded in the run store with ``sweep`` set), all from one snapshot
and one compiled pipeline, so every step no swept parameter reaches has the same cache key in every
trial: it runs once, and trials in flight wait for it (``executor/inflight.py``) instead of
computing it again. ``parallel`` trials run at once, each one step at a time, so the sweep never
runs more than ``parallel`` steps at once. A failed trial is told to Optuna as failed and the
sweep goes on; cancel stops every trial (their executors kill their kernels).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..models import Run, RunRequest, RunStatus, StepStatus, Sweep, SweepParameter, Trial
from . import space as spaces

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..service import PipelineService
    from ..store import RunStore
    from .records import SweepRecords

log = logging.getLogger("jupyter_kf.sweeps")
POLL = 0.25


def make_sampler(algorithm: str, grid: dict[str, list[Any]] | None, seed: int | None) -> Any:
    import optuna

    if algorithm == "grid":

        class AskTellGrid(optuna.samplers.GridSampler):
            def after_trial(self, *args: Any, **kwargs: Any) -> None:
                """GridSampler stops an exhausted study with Study.stop, which only works inside
                study.optimize; with ask/tell the sweep's budget (the grid's size) ends it."""

        return AskTellGrid(grid or {}, seed=seed)
    if algorithm == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: trials in flight count as pessimistic guesses, so parallel trials spread out
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


class SweepRunner:
    """One sweep executing in a background thread."""

    def __init__(
        self,
        service: PipelineService,
        records: SweepRecords,
        sweep: Sweep,
        pipeline: Pipeline,
        prepared_request: RunRequest,
        store: RunStore,
        space: list[SweepParameter],
        parallel: int,
        on_update: Callable[[Sweep], None] | None = None,
    ) -> None:
        self.service, self.records, self.sweep = service, records, sweep
        self.pipeline, self.base, self.store, self.space = pipeline, prepared_request, store, space
        self.parallel, self.on_update = parallel, on_update
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._events: queue.Queue[Run] = queue.Queue()
        self._lock = threading.Lock()
        self._reported: dict[int, set[int]] = {}  # trial number -> steps whose value was reported
        self.thread = threading.Thread(target=self._main, name=f"kf-sweep-{sweep.id}", daemon=True)

    # -- control ------------------------------------------------------------------------------
    def start(self) -> SweepRunner:
        self.thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> Sweep:
        self._done.wait(timeout)
        return self.snapshot()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def snapshot(self) -> Sweep:
        with self._lock:
            return self.sweep.model_copy(deep=True)

    # -- the loop -----------------------------------------------------------------------------
    def _main(self) -> None:
        active: dict[str, tuple[Any, Trial]] = {}  # run id -> (optuna trial, our record)
        try:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            req = self.sweep.request
            grid = spaces.grid(self.pipeline, self.space) if req.algorithm == "grid" else None
            pruner = optuna.pruners.NopPruner() if req.algorithm == "grid" else optuna.pruners.MedianPruner(
                n_startup_trials=5
            )
            study = optuna.create_study(
                direction="maximize" if req.direction == "max" else "minimize",
                sampler=make_sampler(req.algorithm, grid, req.seed),
                pruner=pruner,
            )
            dists = spaces.distributions(self.pipeline, self.space)
            started_at = time.monotonic()
            started = 0
            while True:
                if self.records.cancel_requested(self.sweep.id):
                    self._cancel.set()
                if self._cancel.is_set():
                    break
                out_of_time = req.max_time is not None and time.monotonic() - started_at >= req.max_time
                while (
                    len(active) < self.parallel
                    and (self.sweep.budget is None or started < self.sweep.budget)
                    and not out_of_time
                    and not self._cancel.is_set()
                ):
                    t = study.ask(dists)
                    started += 1
                    active_trial = self._start_trial(t)
                    if active_trial is not None:
                        active[active_trial[0]] = (t, active_trial[1])
                    else:
                        study.tell(t, state=optuna.trial.TrialState.FAIL)
                if not active:
                    break
                try:
                    run = self._events.get(timeout=POLL)
                except queue.Empty:
                    continue
                entry = active.get(run.id)
                if entry is None:
                    continue
                if run.status.finished:
                    del active[run.id]
                    self._tell(study, entry, self.service.get_run(run.id))
                else:
                    self._maybe_prune(entry, run)
        except BaseException as exc:  # record why; a sweep never stays "running" for a dead thread
            log.exception("sweep %s failed", self.sweep.id)
            with self._lock:
                self.sweep.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        finally:
            self._stop(active)
            with self._lock:
                from ..store import utcnow

                if self._cancel.is_set():
                    self.sweep.status = RunStatus.cancelled
                elif self.sweep.error:
                    self.sweep.status = RunStatus.failed
                else:
                    ok = any(t.status == "succeeded" for t in self.sweep.trials)
                    self.sweep.status = RunStatus.succeeded if ok else RunStatus.failed
                    if not ok:
                        self.sweep.error = "no trial succeeded"
                self.sweep.finished_at = utcnow()
            self._save()
            self._done.set()

    def _start_trial(self, t: Any) -> tuple[str, Trial] | None:
        params = dict(t.params)
        trial = Trial(number=t.number, parameters=params)
        request = self.base.model_copy(update={"parameters": {**self.base.parameters, **params}})
        with self._lock:
            self.sweep.trials.append(trial)
        try:
            run = self.service.submit(
                request, self._events.put, prepared=(self.pipeline, request, self.store)
            )
        except Exception as exc:  # noqa: BLE001  (counted as a failed trial; the sweep goes on)
            with self._lock:
                trial.status, trial.error = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            self._save()
            return None
        with self._lock:
            trial.run = run.id
        self._save()
        return run.id, trial

    def _tell(self, study: Any, entry: tuple[Any, Trial], run: Run) -> None:
        from optuna.trial import TrialState

        t, trial = entry
        value = run.metrics.get(self.sweep.request.objective)
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        with self._lock:
            trial.metrics, trial.duration = dict(run.metrics), run.duration
            if trial.status == "pruned":
                pass
            elif run.status == RunStatus.succeeded and number:
                trial.status, trial.value = "succeeded", float(value)  # type: ignore[arg-type]
            elif run.status == RunStatus.cancelled:
                trial.status, trial.error = "cancelled", run.error
            else:
                trial.status = "failed"
                trial.error = run.error or f"the run reported no numeric {self.sweep.request.objective!r}"
        if trial.status == "succeeded":
            study.tell(t, trial.value)
        elif trial.status == "pruned":
            study.tell(t, state=TrialState.PRUNED)
        else:
            study.tell(t, state=TrialState.FAIL)
        self._update_best()
        self._save()

    def _maybe_prune(self, entry: tuple[Any, Trial], run: Run) -> None:
        """An objective known before the trial's last step: report it, and stop a trial the pruner
        finds worse than the median of earlier trials at the same step."""
        t, trial = entry
        value = run.metrics.get(self.sweep.request.objective)
        if trial.status == "pruned" or not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        if all(s.status.finished for s in run.steps):  # nothing left to save by stopping it
            return
        step = sum(s.status in (StepStatus.succeeded, StepStatus.cached) for s in run.steps)
        reported = self._reported.setdefault(trial.number, set())
        if step in reported:
            return
        reported.add(step)
        t.report(float(value), step)
        if t.should_prune():
            with self._lock:
                trial.status, trial.value = "pruned", float(value)
            self.service.cancel(run.id)

    def _update_best(self) -> None:
        with self._lock:
            done = [t for t in self.sweep.trials if t.status == "succeeded" and t.value is not None]
            if not done:
                return
            pick = max if self.sweep.request.direction == "max" else min
            best = pick(done, key=lambda t: t.value)  # type: ignore[arg-type,return-value]
            self.sweep.best, self.sweep.best_value = best.number, best.value

    def _stop(self, active: dict[str, tuple[Any, Trial]]) -> None:
        """Cancel the trials still running and wait for them (their kernels are gone after)."""
        for run_id in list(active):
            try:
                self.service.cancel(run_id)
            except Exception:  # noqa: BLE001
                log.exception("cannot cancel trial run %s", run_id)
        for run_id, (_, trial) in active.items():
            run = self.service.wait(run_id, 60)
            with self._lock:
                trial.duration = run.duration
                if trial.status == "running":
                    trial.status, trial.error = "cancelled", run.error or "the sweep was cancelled"

    def _save(self) -> None:
        sweep = self.snapshot()
        self.records.save(sweep)
        if self.on_update is not None:
            try:
                self.on_update(sweep)
            except Exception:  # noqa: BLE001  (an observer never breaks a sweep)
                log.exception("sweep observer failed")
