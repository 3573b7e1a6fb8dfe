"""Sweeps: start and list (`sweeps`), show (`sweeps/{id}`), cancel (`sweeps/{id}/cancel`)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..models import Sweep, SweepList, SweepRequest
from .base import ApiError, KfHandler


class _SweepHandler(KfHandler):
    async def sweep_call(self, fn, /, *args):
        """A Sweeps call: a bad request is a 422 naming the parameter, an unknown id a 404."""
        from ..sweeps import SweepError, UnknownSweep

        def checked():
            try:
                return fn(*args)
            except SweepError as exc:
                field = f"space.{exc.name}" if exc.name else None
                raise ApiError(422, f"{exc}; nothing ran", field=field) from None
            except UnknownSweep as exc:
                raise ApiError(404, str(exc)) from None

        return await self.call(checked)


class SweepsHandler(_SweepHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.query("notebook")
        if notebook is not None:
            notebook = self.notebook_path(notebook, must_exist=False)
        self.send(SweepList(sweeps=await self.sweep_call(self.kf.service.sweeps.list, notebook)))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(SweepRequest)
        req = req.model_copy(update={"notebook": self.notebook_path(req.notebook)})
        sweep: Sweep = await self.sweep_call(self.kf.service.sweeps.submit, req)
        self.set_header("Location", url_path_join(self.base_url, "jupyter-kf/api/sweeps", sweep.id))
        self.send(sweep, 201)


class SweepHandler(_SweepHandler):
    @web.authenticated
    @authorized
    async def get(self, sweep_id: str) -> None:
        self.send(await self.sweep_call(self.kf.service.sweeps.get, sweep_id))


class SweepCancelHandler(_SweepHandler):
    @web.authenticated
    @authorized
    async def post(self, sweep_id: str) -> None:
        self.send(await self.sweep_call(self.kf.service.sweeps.cancel, sweep_id))
