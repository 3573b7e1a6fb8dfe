"""The scheduler: starts the runs of due schedules, one run per due time, driven by a clock.

``Scheduler.tick()`` makes one pass over every schedule of the stores it serves; ``serve()`` ticks
until stopped (the server extension runs it in a thread, ``jupyter kf scheduler`` in the
foreground). The clock is injectable, so tests move time instead of waiting for it.

Per schedule and tick, inside one store transaction (``ScheduleStore.advance``): the due times
since the cursor are listed; the newest is claimed if it is on time (within ``grace``) or the
missed policy is ``run_once``; otherwise it is recorded as missed. Older ones are recorded as
missed in one row. A claimed due time then starts its run unless the previous run is still going
(overlap policy: skip records it, queue starts it when that run ends, allow starts it anyway).
A due time that cannot start (notebook gone, pipeline invalid) is recorded as failed and notified.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..models import MissedPolicy, OverlapPolicy, RunRequest, Schedule, ScheduleFire
from .store import ScheduleStore, UnknownSchedule
from .timing import due_between

if TYPE_CHECKING:
    from ..notify import Notifier
    from .service import ScheduleService

log = logging.getLogger("jupyter_kf.schedules")

DEFAULT_TICK = 10.0  # seconds between passes
DEFAULT_GRACE = 120.0  # a due time this late still counts as on time


def decide(schedule: Schedule, now: datetime, grace: timedelta):
    """The claim decision for one schedule at ``now`` (run inside the store transaction)."""

    def _decide(cursor: datetime) -> tuple[datetime, list[ScheduleFire]]:
        dues = due_between(cron=schedule.cron, interval=schedule.interval, tz=schedule.timezone,
                           anchor=schedule.anchor, after=cursor, until=now)
        if not dues:
            return cursor, []
        latest, earlier = dues[-1], dues[:-1]
        fires: list[ScheduleFire] = []
        if earlier:
            span = f"{earlier[0]:%Y-%m-%d %H:%M}" + (f" to {earlier[-1]:%Y-%m-%d %H:%M}" if len(earlier) > 1 else "")
            fires.append(ScheduleFire(
                due=earlier[-1], state="missed", at=now,
                error=f"{len(earlier)} due time(s) passed while no scheduler ran ({span} UTC)",
            ))
        if now - latest <= grace or schedule.missed == MissedPolicy.run_once:
            fires.append(ScheduleFire(due=latest, state="claimed", at=now))
        else:
            fires.append(ScheduleFire(
                due=latest, state="missed", at=now,
                error="passed while no scheduler ran (missed policy: skip)",
            ))
        return latest, fires

    return _decide


class Scheduler:
    """Runs due schedules of ``schedules`` (a ScheduleService) with its PipelineService."""

    def __init__(
        self,
        schedules: ScheduleService,
        *,
        clock: Callable[[], datetime] | None = None,
        grace: float = DEFAULT_GRACE,
        notifier: Notifier | None = None,
        on_update: Callable | None = None,
    ) -> None:
        self.schedules = schedules
        self.pipelines = schedules.pipelines
        self.clock = clock or schedules.clock
        self.grace = timedelta(seconds=grace)
        self.notifier = notifier
        self.on_update = on_update  # passed on to every run started (e.g. the server's run watch)
        self._tick_lock = threading.Lock()

    # -- one pass -----------------------------------------------------------------------------
    def tick(self) -> list[tuple[str, ScheduleFire]]:
        """Handle every due time up to now; returns what this pass decided (schedule id, fire)."""
        with self._tick_lock:
            now = self.clock()
            done: list[tuple[str, ScheduleFire]] = []
            for path in self.schedules.store_paths():
                try:
                    done += self._tick_store(self.schedules.store(path), now)
                except Exception:  # noqa: BLE001 (a broken store never stops the others)
                    log.exception("jupyter-kf: scheduler pass over %s failed", path)
            return done

    def _tick_store(self, store: ScheduleStore, now: datetime) -> list[tuple[str, ScheduleFire]]:
        done: list[tuple[str, ScheduleFire]] = []
        for sid, due in store.take_over_orphans(at=now):
            done += self._orphan(store, sid, due, now)
        for sch in store.list():
            if sch.paused or sch.deployed is not None:  # deployed: the cluster's scheduler runs it
                continue
            try:
                fires = store.advance(sch.id, decide(sch, now, self.grace))
            except Exception as exc:  # noqa: BLE001 (one broken schedule never stops the others)
                log.exception("jupyter-kf: schedule %s: cannot compute due times", sch.id)
                fires = [ScheduleFire(due=now, state="failed", error=str(exc), at=now)]
            for f in fires:
                if f.state == "claimed":
                    f = self._claimed(store, sch, f.due, now)
                elif f.state == "missed":
                    log.info("jupyter-kf: schedule %s: %s", sch.id, f.error)
                done.append((sch.id, f))
            done += self._dequeue(store, sch, now)
        return done

    def _orphan(self, store: ScheduleStore, sid: str, due: datetime, now: datetime) -> list:
        """A claim left by a scheduler that died: link the run it made, or start one."""
        run_id = store.run_for(sid, due)
        if run_id is not None:
            store.set_fire(sid, due, state="started", run=run_id, at=now)
            return [(sid, ScheduleFire(due=due, state="started", run=run_id, at=now))]
        try:
            sch = store.get(sid)
        except UnknownSchedule:
            return []
        return [(sid, self._claimed(store, sch, due, now))]

    def _claimed(self, store: ScheduleStore, sch: Schedule, due: datetime, now: datetime) -> ScheduleFire:
        active = self._active_run(store, sch, exclude=due)
        if active is not None and sch.overlap != OverlapPolicy.allow:
            state = "queued" if sch.overlap == OverlapPolicy.queue else "skipped"
            error = f"the previous run {active} was still running (overlap policy: {sch.overlap.value})"
            store.set_fire(sch.id, due, state=state, error=error, at=now)
            return ScheduleFire(due=due, state=state, error=error, at=now)
        return self._start(store, sch, due, now)

    def _active_run(self, store: ScheduleStore, sch: Schedule, exclude: datetime) -> str | None:
        """The schedule's run still going (or a due time being started by another process)."""
        for f in store.fires(sch.id, states=("claimed", "started"), limit=50):
            if f.due == exclude:
                continue
            if f.run is None:
                return f"for {f.due:%Y-%m-%d %H:%M}"
            try:
                if not self.pipelines.get_run(f.run).status.finished:
                    return f.run
            except LookupError:
                continue
        return None

    def _dequeue(self, store: ScheduleStore, sch: Schedule, now: datetime) -> list:
        if sch.paused:
            return []
        queued = store.fires(sch.id, states=("queued",), limit=1, oldest_first=True)
        if not queued or self._active_run(store, sch, exclude=queued[0].due) is not None:
            return []
        if not store.take(sch.id, queued[0].due, "queued", at=now):
            return []
        return [(sch.id, self._start(store, sch, queued[0].due, now))]

    def _start(self, store: ScheduleStore, sch: Schedule, due: datetime, now: datetime) -> ScheduleFire:
        request = RunRequest(
            notebook=sch.notebook, backend=sch.backend, parameters=sch.parameters, cache=sch.cache,
            max_parallel=sch.max_parallel, timeout=sch.timeout,
        )
        try:
            run = self.pipelines.submit(request, self.on_update, schedule=sch.id, scheduled_for=due)
        except Exception as exc:  # noqa: BLE001 (recorded and notified; the schedule goes on)
            error = _one_line(exc)
            log.warning("jupyter-kf: schedule %s could not start its run due %s: %s", sch.id, due, error)
            store.set_fire(sch.id, due, state="failed", error=error, at=now)
            if self.notifier is not None:
                self.notifier.schedule_failed(sch, due, error)
            return ScheduleFire(due=due, state="failed", error=error, at=now)
        store.set_fire(sch.id, due, state="started", run=run.id, error=None, at=now)
        log.info("jupyter-kf: schedule %s started run %s (due %s)", sch.id, run.id, due)
        return ScheduleFire(due=due, state="started", run=run.id, at=now)

    # -- service loop -------------------------------------------------------------------------
    def serve(self, stop: threading.Event, interval: float = DEFAULT_TICK) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set; a failing pass is logged."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001
                log.exception("jupyter-kf: scheduler pass failed")
            stop.wait(interval)

    def start_thread(self, interval: float = DEFAULT_TICK) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        t = threading.Thread(target=self.serve, args=(stop, interval), name="jupyter-kf-scheduler", daemon=True)
        t.start()
        return t, stop


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()
    return first[0] if len(first) == 1 else f"{first[0]} {' '.join(line.strip() for line in first[1:4])}"
