"""Snapshots of a notebook's folder (list, create) and its run store (disk used, prune)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import PruneRequest, SnapshotList, SnapshotRequest
from .base import KfHandler
from .present import snapshot_view


class SnapshotsHandler(KfHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_path(self.query("notebook"))
        snapshots = await self.call(self.kf.service.list_snapshots, notebook)
        self.send(SnapshotList(snapshots=[snapshot_view(s, self.kf.root) for s in snapshots]))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(SnapshotRequest)
        snapshot = await self.call(self.kf.service.create_snapshot, self.notebook_path(req.notebook))
        self.send(snapshot_view(snapshot, self.kf.root), 201)


class StoreHandler(KfHandler):
    """Disk used by the run store of a notebook's folder."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.notebook_path(self.query("notebook"))
        self.send(await self.call(self.kf.service.store_usage, notebook))


class PruneHandler(KfHandler):
    """Remove old runs of a notebook's store (``dry_run``: only say what and how much)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(PruneRequest)
        req = req.model_copy(update={"notebook": self.notebook_path(req.notebook)})
        self.send(await self.call(self.kf.service.prune, req))
