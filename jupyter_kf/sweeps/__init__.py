"""Parameter sweeps: many runs (trials) of one notebook's pipeline over a search space.

``service.sweeps.submit(SweepRequest(...))`` checks the request against the pipeline (a
:class:`~jupyter_kf.sweeps.space.SweepError` names what is wrong before anything runs), takes one
snapshot, and runs the trials in the background (``engine.SweepRunner``); the record lives in the
notebook's run store (``records.py``), each trial is a run with ``sweep`` set.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..models import RunRequest, RunStatus, Sweep, SweepRequest
from .records import SweepRecords, UnknownSweep, new_sweep_id
from .space import SweepError, parse_spec

if TYPE_CHECKING:
    from ..service import PipelineService
    from .engine import SweepRunner

__all__ = ["SweepError", "Sweeps", "UnknownSweep", "parse_spec"]
OnSweep = Callable[[Sweep], None]


class Sweeps:
    """The sweeps of one :class:`PipelineService` (``service.sweeps``)."""

    def __init__(self, service: PipelineService) -> None:
        self.service = service
        self._runners: dict[str, SweepRunner] = {}
        self._lock = threading.Lock()

    def submit(self, request: SweepRequest, on_update: OnSweep | None = None) -> Sweep:
        """Check ``request`` and start the sweep in the background; its record at once."""
        from ..store import utcnow
        from . import space as spaces
        from .engine import SweepRunner

        svc = self.service
        sweep_id = new_sweep_id()
        base = RunRequest(
            notebook=request.notebook,
            parameters=request.parameters,
            cache=request.cache,
            max_parallel=1,  # parallelism is across trials: one step at a time in each
            timeout=request.timeout,
            sweep=sweep_id,
        )
        pipeline, base, store = svc.prepare(base)  # bad notebook or fixed parameter: raises here
        checked = spaces.check(pipeline, request)
        budget = request.trials
        if request.algorithm == "grid":
            size = 1
            for values in spaces.grid(pipeline, checked).values():
                size *= len(values)
            budget = min(budget or size, size)
        elif budget is None and request.max_time is None:
            raise SweepError("give a budget: a number of trials (--trials) or a time (--max-time)")
        parallel = request.parallel or svc.settings.max_parallel
        threads = max(1, (os.cpu_count() or 1) // parallel)
        nb = Path(base.notebook)
        snap = store.snapshots.create(nb.parent, notebook=nb.name).id  # one snapshot for every trial
        base = base.model_copy(update={"snapshot": snap, "threads": threads})
        sweep = Sweep(
            id=sweep_id,
            notebook=svc._display(nb),
            created_at=utcnow(),
            request=request.model_copy(update={"space": checked}),
            snapshot=snap,
            budget=budget,
        )
        records = SweepRecords(store.path)
        records.save(sweep)
        runner = SweepRunner(svc, records, sweep, pipeline, base, store, checked, parallel, on_update)
        with self._lock:
            self._runners[sweep_id] = runner
        runner.start()
        return sweep

    def run(self, request: SweepRequest, on_update: OnSweep | None = None) -> Sweep:
        """Run a sweep to the end (blocks); Ctrl-C cancels every trial, then re-raises."""
        sweep = self.submit(request, on_update)
        try:
            return self.wait(sweep.id)
        except KeyboardInterrupt:
            self.cancel(sweep.id)
            self.wait(sweep.id)
            raise

    def wait(self, sweep_id: str, timeout: float | None = None) -> Sweep:
        runner = self._runner(sweep_id)
        if runner is None:
            return self.get(sweep_id)
        if timeout is None:
            while not runner.done:  # short waits: Ctrl-C reaches the caller
                runner.wait(0.5)
            return runner.snapshot()
        return runner.wait(timeout)

    def cancel(self, sweep_id: str) -> Sweep:
        """Stop starting trials and cancel the running ones (also from another process)."""
        runner = self._runner(sweep_id)
        if runner is not None:
            runner.cancel()
            return runner.snapshot()
        records = self._records_of(sweep_id)
        sweep = records.get(sweep_id)
        if sweep.status == RunStatus.running:
            records.request_cancel(sweep_id)
        return sweep

    def get(self, sweep_id: str) -> Sweep:
        runner = self._runner(sweep_id)
        if runner is not None:
            return runner.snapshot()
        return self._records_of(sweep_id).get(sweep_id)

    def list(self, notebook: str | Path | None = None) -> list[Sweep]:
        out: dict[str, Sweep] = {}
        for path in self._store_paths(notebook):
            for s in SweepRecords(path).list():
                out[s.id] = s
        with self._lock:
            runners = list(self._runners.values())
        for r in runners:
            if r.sweep.id in out:
                out[r.sweep.id] = r.snapshot()
        return sorted(out.values(), key=lambda s: s.created_at, reverse=True)

    def close(self) -> None:
        with self._lock:
            runners = list(self._runners.values())
        for r in runners:
            if not r.done:
                r.cancel()
                r.wait(60)

    # -- helpers ------------------------------------------------------------------------------
    def _runner(self, sweep_id: str) -> SweepRunner | None:
        with self._lock:
            return self._runners.get(sweep_id)

    def _store_paths(self, notebook: str | Path | None) -> list[Path]:
        from ..store import known_stores

        settings = self.service.settings
        if notebook is not None:
            return [settings.store_path(self.service.resolve(notebook).parent)]
        root = self.service.root
        paths = {settings.store_path(root).resolve()}
        paths |= {p.resolve() for p in known_stores(settings) if p.resolve().is_relative_to(root)}
        return sorted(paths)

    def _records_of(self, sweep_id: str) -> SweepRecords:
        for path in self._store_paths(None):
            records = SweepRecords(path)
            if records.has(sweep_id):
                return records
        raise UnknownSweep(sweep_id)
