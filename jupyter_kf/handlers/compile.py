"""POST compile: a notebook (path or JSON) -> the pipeline IR, its graph and every problem."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..models import CompileRequest, CompileResult
from .base import ApiError, KfHandler


def _compile_result(service, source) -> CompileResult:
    from jupyter_kf_converter.graph import graph_json

    pipeline = service.compile(source)
    return CompileResult(
        pipeline=pipeline, graph=graph_json(pipeline), problems=pipeline.problems, valid=pipeline.valid
    )


class CompileHandler(KfHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        req = self.parse_body(CompileRequest)
        if (req.notebook is None) == (req.content is None):
            raise ApiError(400, "give exactly one of 'notebook' (a path) or 'content' (notebook JSON)",
                           field="notebook" if req.notebook is None else "content")
        source = self.notebook_path(req.notebook) if req.notebook is not None else req.content
        self.send(await self.call(_compile_result, self.kf.service, source))
