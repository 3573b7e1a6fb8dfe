"""Runs: start (202 at once), list (with long polling), get, cancel, retry, server-sent events."""

from __future__ import annotations

import asyncio
import time

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamClosedError

from ..models import RetryRequest, Run, RunList, RunRequest
from .base import ApiError, KfHandler
from .watch import fingerprint

KEEPALIVE_S = 15.0


class _RunHandler(KfHandler):
    _gone = False

    def on_connection_close(self) -> None:
        # The client left (e.g. an aborted long poll): stop waiting for it; wake the waiters.
        self._gone = True
        self.kf.watch.notify()

    def run_url(self, run: Run) -> str:
        return url_path_join(self.base_url, "jupyter-kf/api/runs", run.id)


class RunsHandler(_RunHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.query("notebook")
        if notebook is not None:
            notebook = self.notebook_path(notebook, must_exist=False)
        limit = int(self.query_number("limit", 50, 1, 500, integer=True))
        since = self.query("since")
        wait = self.query_number("wait", 0.0, 0.0, 30.0)
        watch = self.kf.watch
        try:
            since_seq = watch.parse_cursor(since) if since is not None else None
        except ValueError as exc:
            raise ApiError(400, str(exc), field="since") from None

        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            runs = await self.call(self.kf.service.list_runs, notebook, limit=limit)  # creates nothing
            seqs, cursor = watch.observe(runs)
            if since_seq is None:
                break
            runs = [r for r in runs if seqs[r.id] > since_seq]
            remaining = deadline - loop.time()
            if runs or remaining <= 0:
                break
            if self._gone:
                return
            await watch.wait(min(self.kf.poll_interval, remaining))
        self.send(RunList(runs=await self.present(runs), cursor=cursor))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(RunRequest)
        req = req.model_copy(update={"notebook": self.notebook_path(req.notebook)})
        for field in ("retry_of", "reproduces", "inputs_from"):
            if getattr(req, field) is not None:
                try:
                    await self.get_run(getattr(req, field))  # only runs this server can see
                except ApiError as exc:
                    raise ApiError(422, f"{field}: {exc.message}", field=field) from None
        run = await self.call(self.kf.service.submit, req, on_update=self.kf.watch.notify)
        self.set_header("Location", self.run_url(run))
        self.send((await self.present([run]))[0], 202)


class RunHandler(_RunHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.send(await self.get_run(run_id))


class CancelHandler(_RunHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        await self.get_run(run_id)  # 404 for unknown runs, whatever cancel() does with them
        run = await self.call(self.kf.service.cancel, run_id)
        self.kf.watch.notify(run)
        self.send((await self.present([run]))[0])


class RetryHandler(_RunHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        overrides = self.parse_body(RetryRequest, required=False).model_dump(exclude_none=True)
        old = await self.get_run(run_id)
        if not old.status.finished:
            raise ApiError(409, f"run {run_id} is still {old.status.value}: cancel it or wait before retrying")
        run = await self.call(self.kf.service.retry, run_id, on_update=self.kf.watch.notify, **overrides)
        self.set_header("Location", self.run_url(run))
        self.send((await self.present([run]))[0], 202)


class RunEventsHandler(_RunHandler):
    """`text/event-stream` of one run: the run on connect and on every change, then close."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        run = await self.get_run(run_id)  # a 404 is still a JSON answer
        self.set_header("Content-Type", "text/event-stream")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        watch, last, last_write = self.kf.watch, None, time.monotonic()
        try:
            while True:
                fp = fingerprint(run)
                if fp != last:
                    self.write(f"event: run\ndata: {run.model_dump_json()}\n\n")
                    last, last_write = fp, time.monotonic()
                    await self.flush()
                elif time.monotonic() - last_write > KEEPALIVE_S:
                    self.write(": keep-alive\n\n")
                    last_write = time.monotonic()
                    await self.flush()
                if run.status.finished or self._gone:
                    break
                await watch.wait(self.kf.poll_interval)
                try:
                    run = await self.get_run(run_id)
                except ApiError:  # the run was deleted meanwhile
                    break
        except StreamClosedError:
            return
        if not self._gone:
            self.finish(set_content_type="text/event-stream")
