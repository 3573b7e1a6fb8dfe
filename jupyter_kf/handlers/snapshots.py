"""Snapshots of a notebook's folder: list and create."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import SnapshotList, SnapshotRequest
from .base import KfHandler


class SnapshotsHandler(KfHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_path(self.query("notebook"))
        self.send(SnapshotList(snapshots=await self.call(self.kf.service.list_snapshots, notebook)))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(SnapshotRequest)
        snapshot = await self.call(self.kf.service.create_snapshot, self.notebook_path(req.notebook))
        self.send(snapshot, 201)
