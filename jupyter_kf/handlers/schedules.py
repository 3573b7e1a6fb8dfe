"""Schedules: create and list (`schedules`), show, edit and delete (`schedules/{id}`), pause, resume."""

from __future__ import annotations

from pathlib import Path

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..models import Schedule, ScheduleFields, ScheduleList, ScheduleRequest
from ..paths import relative_to_root
from .base import _NAME, ApiError, KfHandler


class _ScheduleHandler(KfHandler):
    async def schedule_call(self, fn, /, *args):
        """A ScheduleService call: bad timing is a 400 naming the field, an unknown id a 404."""
        from ..schedules import TimingError

        def checked():
            try:
                return fn(*args)
            except TimingError as exc:
                raise ApiError(400, f"{exc.field}: {exc}", field=exc.field) from None

        return await self.call(checked)

    def view(self, s: Schedule) -> Schedule | None:
        """The schedule as responses show it (its notebook from the server root); None outside it."""
        nb = relative_to_root(self.kf.root, Path(s.notebook))
        return None if nb is None else s.model_copy(update={"notebook": nb})

    async def find(self, schedule_id: str) -> Schedule:
        if not _NAME.fullmatch(schedule_id):
            raise ApiError(404, f"no schedule {schedule_id[:80]!r}")
        s = self.view(await self.schedule_call(self.kf.schedules.get, schedule_id))
        if s is None:
            raise ApiError(404, f"no schedule {schedule_id!r} under the server root")
        return s


class SchedulesHandler(_ScheduleHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.query("notebook")
        if notebook is not None:
            notebook = self.notebook_path(notebook, must_exist=False)
        found = await self.schedule_call(self.kf.schedules.list, notebook)
        self.send(ScheduleList(schedules=[v for v in map(self.view, found) if v is not None]))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(ScheduleRequest)
        req = req.model_copy(update={"notebook": self.notebook_path(req.notebook)})
        s = self.view(await self.schedule_call(self.kf.schedules.create, req))
        self.set_header("Location", url_path_join(self.base_url, "jupyter-kf/api/schedules", s.id))
        self.send(s, 201)


class ScheduleHandler(_ScheduleHandler):
    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        self.send(await self.find(schedule_id))

    @web.authenticated
    @authorized
    async def patch(self, schedule_id: str) -> None:
        fields = self.parse_body(ScheduleFields)
        await self.find(schedule_id)
        self.send(self.view(await self.schedule_call(self.kf.schedules.update, schedule_id, fields)))

    @web.authenticated
    @authorized
    async def delete(self, schedule_id: str) -> None:
        await self.find(schedule_id)
        await self.schedule_call(self.kf.schedules.delete, schedule_id)
        self.set_status(204)
        self.finish()


class SchedulePauseHandler(_ScheduleHandler):
    @web.authenticated
    @authorized
    async def post(self, schedule_id: str) -> None:
        await self.find(schedule_id)
        self.send(self.view(await self.schedule_call(self.kf.schedules.pause, schedule_id)))


class ScheduleResumeHandler(_ScheduleHandler):
    @web.authenticated
    @authorized
    async def post(self, schedule_id: str) -> None:
        await self.find(schedule_id)
        self.send(self.view(await self.schedule_call(self.kf.schedules.resume, schedule_id)))
