"""GET openapi.yaml: the API's own description, as committed in the package."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import KfHandler
from .spec import spec_text


class OpenAPIHandler(KfHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(spec_text(), set_content_type="application/yaml; charset=utf-8")
