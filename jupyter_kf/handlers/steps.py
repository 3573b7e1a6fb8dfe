"""A step of a run: its log and its executed notebook (with a path JupyterLab can open)."""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import Run, StepLog, StepNotebook
from ..paths import relative_to_root
from .base import ApiError, KfHandler


class _StepHandler(KfHandler):
    async def check_step(self, run_id: str, step: str) -> Run:
        run = await self.get_run(run_id)
        if step not in {s.name for s in run.steps}:  # also refuses anything path-like
            raise ApiError(404, f"run {run_id} has no step {step!r}", field="step")
        return run


def _read_notebook(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"the step has no executed notebook yet ({path.name})")
    return json.loads(path.read_text(encoding="utf-8"))


class StepLogHandler(_StepHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str, step: str) -> None:
        await self.check_step(run_id, step)
        text = await self.call(self.kf.service.step_log, run_id, step)
        # The log sits beside the executed notebook: <store>/<run>/steps/<step>.log (architecture.md).
        notebook = await self.call(self.kf.service.step_notebook, run_id, step)
        log_path = Path(notebook).with_suffix(".log")
        rel = relative_to_root(self.kf.root, log_path) if log_path.is_file() else None
        self.send(StepLog(run=run_id, step=step, text=text, path=rel))


class StepNotebookHandler(_StepHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str, step: str) -> None:
        await self.check_step(run_id, step)
        path: Path = await self.call(self.kf.service.step_notebook, run_id, step)
        content = await self.call(_read_notebook, Path(path))
        self.send(StepNotebook(run=run_id, step=step, path=relative_to_root(self.kf.root, path), content=content))
