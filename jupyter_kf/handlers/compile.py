"""POST compile: a notebook (path or JSON) -> the pipeline IR, its graph and every problem."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import CompileRequest, CompileResult
from .base import ApiError, KfHandler


def _result(pipeline) -> CompileResult:
    from jupyter_kf_converter.graph import graph_json

    return CompileResult(pipeline=pipeline, graph=graph_json(pipeline), problems=pipeline.problems, valid=pipeline.valid)


def compile_saved(service, notebook: str) -> CompileResult:
    return _result(service.compile(notebook))


def compile_content(content: dict[str, Any], notebook: str | None) -> CompileResult:
    # PipelineService.compile takes paths only; unsaved notebook JSON goes to the converter's
    # own compile_notebook (the function the service calls for a path).
    from jupyter_kf_converter import compile_notebook

    return _result(compile_notebook(content, notebook_path=notebook or "untitled.ipynb"))


class CompileHandler(KfHandler):
    @web.authenticated
    @authorized("read")  # a POST only to carry the notebook: it changes nothing
    async def post(self) -> None:
        req = self.parse_body(CompileRequest)
        if req.content is not None:
            # `notebook`, if given with `content`, only names the pipeline (the file may be unsaved).
            name = self.notebook_path(req.notebook, must_exist=False) if req.notebook is not None else None
            self.send(await self.call(compile_content, req.content, name))
        elif req.notebook is not None:
            self.send(await self.call(compile_saved, self.kf.service, self.notebook_path(req.notebook)))
        else:
            raise ApiError(400, "give 'notebook' (a saved notebook's path) or 'content' (notebook JSON)", field="notebook")
