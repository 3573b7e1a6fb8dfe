"""The HTTP server in a thread: auth, request log, routing to the Kubernetes and KFP handlers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from .cluster import FakeCluster
from .common import ApiFailure
from .kfp import kfp_route
from .kube import k8s_route


class FakeApiServer:
    """``with FakeApiServer() as api: api.url ...``; ``api.cluster`` holds the state."""

    def __init__(self, cluster: FakeCluster | None = None) -> None:
        self.cluster = cluster or FakeCluster()
        handler = type("Handler", (_Handler,), {"cluster": self.cluster})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiFailure(400, "BadRequest", "the body of the request was not valid JSON") from None

    def _handle(self, method: str) -> None:
        c = self.cluster
        url = urlparse(self.path)
        try:
            body = self._body() if method in ("POST", "PATCH", "PUT") else None
            with c.lock:
                c.requests.append(
                    {
                        "method": method,
                        "path": url.path,
                        "query": url.query,
                        "body": body,
                        "content_type": self.headers.get("Content-Type"),
                        "auth": self.headers.get("Authorization"),
                    }
                )
            if self.headers.get("Authorization") != f"Bearer {c.token}":
                raise ApiFailure(401, "Unauthorized", "Unauthorized")
            if (
                method == "GET"
                and c.unavailable_reads
                and ("/workflows/" in url.path or "/runs/" in url.path)
            ):
                with c.lock:
                    c.unavailable_reads -= 1
                raise ApiFailure(
                    503, "ServiceUnavailable", "the server is currently unable to handle the request"
                )
            with c.lock:
                if url.path.startswith("/apis/v2beta1/"):
                    code, out = kfp_route(
                        c, method, url.path[len("/apis/v2beta1/") :], parse_qs(url.query), body
                    )
                else:
                    code, out = k8s_route(
                        c, method, url.path, parse_qs(url.query), body, self.headers.get("Content-Type")
                    )
            if isinstance(out, str):
                self._send(code, out, "text/plain")
            else:
                self._send(code, out)
        except ApiFailure as f:
            self._send(f.code, f.status())
        except Exception as exc:  # a bug in the fake: answer 500 instead of dropping the connection
            self._send(500, ApiFailure(500, "InternalError", f"fake apiserver: {exc!r}").status())

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")
