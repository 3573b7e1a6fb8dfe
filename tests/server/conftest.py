"""Fixtures for the REST API tests: a real Jupyter server (pytest-jupyter) with jupyter_kf enabled."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter has no entry point; its fixtures (and its async-test hooks) come in by import.
from pytest_jupyter.jupyter_server import *
from tornado.httpclient import HTTPResponse


@pytest.fixture
def jp_server_config():
    # pytest-jupyter isolates config dirs, so the installed jupyter_server_config.d entry is not read.
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_kf": True}},
        "KfConfig": {"poll_interval": 0.1},
    }


class Api:
    """Calls to /jupyter-kf/api/... returning (status, parsed JSON or text), never raising on 4xx."""

    def __init__(self, fetch: Callable[..., Any]) -> None:
        self._fetch = fetch

    async def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False, "request_timeout": timeout}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = raw if raw is not None else json.dumps(body if body is not None else {})
        resp: HTTPResponse = await self._fetch(
            "jupyter-kf", "api", *path.split("/"), params=params, headers=headers, **kwargs
        )
        text = resp.body.decode() if resp.body else ""
        ctype = resp.headers.get("Content-Type", "")
        return resp.code, (json.loads(text) if "json" in ctype and text else text)


@pytest.fixture
def api(jp_fetch) -> Api:
    return Api(jp_fetch)


@pytest.fixture
def root(jp_root_dir) -> Path:
    return Path(jp_root_dir)


@pytest.fixture
def write_nb(root: Path, make_notebook) -> Callable[..., str]:
    """Write a notebook under the server root; returns its path relative to the root."""

    def _write(cells, name: str = "pipe.ipynb") -> str:
        make_notebook(cells, name=name, folder=root)
        return name

    return _write


TWO_STEPS = [
    ("import os", ["imports"]),
    ("n = 3", ["pipeline-parameters"]),
    ("xs = list(range(n))\nprint('pid', os.getpid())", ["step:make"]),
    ("total = sum(xs)\nprint('total', total)", ["step:add", "prev:make"]),
    ("total", ["pipeline-metrics"]),
]


@pytest.fixture
def pipe_nb(write_nb) -> str:
    """A small two-step tagged notebook under the root: 'pipe.ipynb'."""
    return write_nb(TWO_STEPS)


def finished(run: dict) -> bool:
    return run["status"] not in ("queued", "running")


@pytest.fixture
def wait_run(api: Api):
    """``await wait_run(run_id, until=finished, timeout=120)``: poll GET runs/{id} until ``until(run)``."""

    async def _wait(run_id: str, until=finished, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status, run = await api("GET", f"runs/{run_id}")
            assert status == 200, run
            if until(run):
                return run
            assert time.monotonic() < deadline, f"run {run_id} did not get there in {timeout}s: {run}"
            await asyncio.sleep(0.2)

    return _wait
