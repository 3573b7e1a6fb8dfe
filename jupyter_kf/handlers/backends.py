"""GET backends: which backends exist, and whether each is available and configured."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import BackendList
from .base import KfHandler


class BackendsHandler(KfHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        backends = await self.call(self.kf.service.backends)
        self.send(BackendList(backends=backends))
