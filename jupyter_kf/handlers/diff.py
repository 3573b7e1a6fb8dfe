"""Two runs side by side: GET runs/{run_id}/diff/{other} (parameters, metrics, code, data, environment)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import KfHandler


class RunDiffHandler(KfHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str, other: str) -> None:
        from ..run_diff import diff_runs

        await self.get_run(run_id)  # both must be runs this server can see (404 otherwise)
        await self.get_run(other)
        self.send(await self.call(diff_runs, self.kf.service, run_id, other))
