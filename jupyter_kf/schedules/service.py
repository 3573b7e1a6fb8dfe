"""ScheduleService: create, list, show, edit, pause, resume and delete schedules.

The one core API for schedules that the CLI, the magics and the REST handlers call (like
PipelineService for runs, which it uses to check a schedule's pipeline and, in the scheduler, to
start its runs). A schedule lives in the run store of its notebook's folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..models import Schedule, ScheduleFields, ScheduleFire, ScheduleRequest
from .store import ScheduleStore, UnknownSchedule, new_schedule_id
from .timing import TimingError, next_due

if TYPE_CHECKING:
    from ..service import PipelineService

Clock = Callable[[], datetime]


class ScheduleConflictError(ValueError):
    """The schedule runs on the cluster's own scheduler: undeploy it before changing it."""
_TIMING = ("cron", "interval", "timezone")
NEXT_COUNT = 3


def _utcnow() -> datetime:
    from ..store import utcnow

    return utcnow()


class ScheduleService:
    """Schedules of the notebooks under ``pipelines.root``."""

    def __init__(self, pipelines: PipelineService, clock: Clock | None = None) -> None:
        self.pipelines = pipelines
        self.clock = clock or _utcnow
        self._stores: dict[Path, ScheduleStore] = {}
        self._lock = threading.Lock()  # the server's handlers and its scheduler thread share this

    # -- stores -------------------------------------------------------------------------------
    def store(self, path: Path) -> ScheduleStore:
        path = Path(path).resolve()
        with self._lock:
            if path not in self._stores:
                self._stores[path] = ScheduleStore(path, self.pipelines.settings)
            return self._stores[path]

    def store_paths(self) -> list[Path]:
        """Existing run stores that may hold this root's schedules (its own, registered ones under it)."""
        from ..store import known_stores

        settings, root = self.pipelines.settings, self.pipelines.root
        paths = [settings.store_path(root).resolve()]
        paths += [p.resolve() for p in known_stores(settings) if p.resolve().is_relative_to(root)]
        return [p for p in dict.fromkeys(paths) if (p / "runs.sqlite").is_file()]

    def _store_of(self, schedule_id: str) -> ScheduleStore:
        for p in self.store_paths():
            st = self.store(p)
            if st.has(schedule_id):
                return st
        raise UnknownSchedule(schedule_id)

    def close(self) -> None:
        with self._lock:
            for st in self._stores.values():
                st.close()
            self._stores.clear()

    # -- CRUD ---------------------------------------------------------------------------------
    def create(self, request: ScheduleRequest) -> Schedule:
        """Check the timing, the notebook, its pipeline and parameters now; then store the schedule."""
        from ..models import RunRequest

        if (request.cron is None) == (request.interval is None):
            raise TimingError("cron", "give exactly one of `cron` (e.g. '0 3 * * *') and `interval` (seconds)")
        nb = self.pipelines.resolve(request.notebook)
        if not nb.is_file():
            raise FileNotFoundError(f"notebook not found: {request.notebook}")
        _, checked, _ = self.pipelines.prepare(RunRequest(
            notebook=str(nb), backend=request.backend or "local", parameters=request.parameters or {}
        ))
        now = self.clock()
        fields = request.model_dump(exclude_none=True, exclude={"notebook"})
        fields["parameters"] = checked.parameters  # typed like the notebook's defaults
        schedule = Schedule(
            id=new_schedule_id(), name=request.name or nb.stem, notebook=str(nb),
            created_at=now, updated_at=now, anchor=now, **{k: v for k, v in fields.items() if k != "name"},
        )
        self.store(self.pipelines.settings.store_path(nb.parent)).create(schedule)
        return self.view(schedule)

    def get(self, schedule_id: str) -> Schedule:
        return self.view(self._store_of(schedule_id).get(schedule_id))

    def list(self, notebook: str | Path | None = None) -> list[Schedule]:
        if notebook is not None:
            nb = self.pipelines.resolve(notebook)
            path = self.pipelines.settings.store_path(nb.parent)
            if not (path / "runs.sqlite").is_file():
                return []
            return [self.view(s) for s in self.store(path).list(str(nb))]
        return [self.view(s) for p in self.store_paths() for s in self.store(p).list()]

    def update(self, schedule_id: str, fields: ScheduleFields) -> Schedule:
        """Change the given fields. New timing counts due times from now; so does a resume
        (due times passed while paused do not run)."""
        store = self._store_of(schedule_id)
        old = store.get(schedule_id)
        if old.deployed is not None:
            d = old.deployed
            raise ScheduleConflictError(
                f"schedule {schedule_id} runs on the cluster ({d.target} {d.namespace}/{d.name}): "
                f"`jupyter kf schedule undeploy {schedule_id}` before changing it"
            )
        changes = fields.model_dump(exclude_unset=True)
        if changes.get("timezone") is None:
            changes.pop("timezone", None)
        merged = old.model_copy(update=changes)
        if changes.get("cron") is not None and changes.get("interval") is None:
            merged.interval = None  # a new cron replaces an interval, and the reverse
        if changes.get("interval") is not None and changes.get("cron") is None:
            merged.cron = None
        if (merged.cron is None) == (merged.interval is None):
            raise TimingError("cron", "give exactly one of `cron` and `interval`")
        if any(k in changes for k in ("backend", "parameters")):
            from ..models import RunRequest

            _, checked, _ = self.pipelines.prepare(RunRequest(
                notebook=merged.notebook, backend=merged.backend, parameters=merged.parameters))
            merged.parameters = checked.parameters
        now = self.clock()
        merged.updated_at = now
        cursor = None
        if any(getattr(old, k) != getattr(merged, k) for k in _TIMING):
            merged.anchor = cursor = now
        elif old.paused and not merged.paused:
            cursor = now
        merged = Schedule.model_validate(merged.model_dump())
        return self.view(store.save(merged, cursor=cursor))

    def pause(self, schedule_id: str) -> Schedule:
        return self.update(schedule_id, ScheduleFields(paused=True))

    def resume(self, schedule_id: str) -> Schedule:
        return self.update(schedule_id, ScheduleFields(paused=False))

    def delete(self, schedule_id: str) -> None:
        """Delete a schedule (and its cluster-side schedule, when deployed)."""
        store = self._store_of(schedule_id)
        if store.get(schedule_id).deployed is not None:
            self.undeploy(schedule_id)
        store.delete(schedule_id)

    # -- the cluster's own scheduler (jupyter_kf.k8s.cron) -------------------------------------
    def deploy(self, schedule_id: str, target: str, cluster_settings=None) -> Schedule:
        """Hand the schedule to Argo (a CronWorkflow) or KFP (a recurring run); jupyter-kf's
        scheduler then leaves it to the cluster."""
        from ..k8s.backend import default_settings
        from ..k8s.cron_deploy import deploy
        from ..service import InvalidPipeline

        store = self._store_of(schedule_id)
        schedule = store.get(schedule_id)
        if schedule.deployed is not None:
            raise ScheduleConflictError(f"schedule {schedule_id} is already deployed ({schedule.deployed.target})")
        pipeline = self.pipelines.compile(schedule.notebook)
        if not pipeline.valid:
            raise InvalidPipeline(pipeline, schedule.notebook)
        done = deploy(schedule, pipeline, target, cluster_settings or default_settings(),
                      str(Path(schedule.notebook).parent))
        return self.view(store.save(schedule.model_copy(update={"deployed": done, "updated_at": self.clock()})))

    def undeploy(self, schedule_id: str, cluster_settings=None) -> Schedule:
        """Delete the cluster-side schedule; jupyter-kf's scheduler runs it again from now."""
        from ..k8s.backend import default_settings
        from ..k8s.cron_deploy import undeploy

        store = self._store_of(schedule_id)
        schedule = store.get(schedule_id)
        if schedule.deployed is None:
            return self.view(schedule)
        undeploy(schedule.deployed, cluster_settings or default_settings())
        now = self.clock()
        return self.view(store.save(schedule.model_copy(update={"deployed": None, "updated_at": now}), cursor=now))

    # -- views --------------------------------------------------------------------------------
    def view(self, schedule: Schedule, history: int = 10) -> Schedule:
        """The schedule with its next due times, its last due time and recent history."""
        store = self.store(self.pipelines.settings.store_path(Path(schedule.notebook).parent))
        try:
            cursor = store.cursor(schedule.id)
        except UnknownSchedule:
            cursor = schedule.anchor
        nxt: list[datetime] = []
        if not schedule.paused:
            after = max(cursor, self.clock())
            nxt = next_due(cron=schedule.cron, interval=schedule.interval, tz=schedule.timezone,
                           anchor=schedule.anchor, after=after, count=NEXT_COUNT)
        fires = [self._with_status(f) for f in store.fires(schedule.id, limit=history)]
        return schedule.model_copy(update={"next_due": nxt, "history": fires, "last": fires[0] if fires else None})

    def _with_status(self, fire: ScheduleFire) -> ScheduleFire:
        if fire.run is None:
            return fire
        try:
            return fire.model_copy(update={"run_status": self.pipelines.get_run(fire.run).status})
        except LookupError:
            return fire
