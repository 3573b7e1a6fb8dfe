"""Property-based fuzz of the REST API, driven by openapi.yaml, against a real `jupyter server`.

The server runs as a subprocess on a free loopback port with a token, in a temporary root with a
small notebook that has already run once. Every operation gets valid and invalid inputs
(schemathesis, bounded in examples and time); the answers must never be 5xx, never hang, and
must match the status codes, content types and schemas the spec declares.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import nbformat
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jupyter_kf.handlers.spec import SPEC_PATH

MAX_EXAMPLES = 15
REQUEST_TIMEOUT = 40  # s; the longest legal hold is a 30 s long poll


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str, data: bytes | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=data, headers={"Authorization": f"token {token}"})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, {}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(base url, token) of a real `jupyter server` with jupyter_kf, in a temporary root."""
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("n = 2", metadata={"tags": ["pipeline-parameters"]}),
        nbformat.v4.new_code_cell("x = n * 2", metadata={"tags": ["step:only"]}),
    ]
    nbformat.write(nb, root / "pipe.ipynb")
    token, port = secrets.token_hex(16), _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_KF_REGISTRY": str(base / "kf-stores.json"),
    }
    cmd = [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--port-retries=0", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
        "--ServerApp.jpserver_extensions={'jupyter_kf': True}", "--ServerApp.allow_root=True",
    ]
    log = open(base / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (base / "server.log").read_text()
            try:
                if _get(f"{url}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "jupyter server did not start in 60 s"
            time.sleep(0.3)
        # one finished run, so run-listing operations have something to show
        status, run = _get(f"{url}/jupyter-kf/api/runs", token, json.dumps({"notebook": "pipe.ipynb"}).encode())
        assert status == 202, run
        for _ in range(300):
            if _get(f"{url}/jupyter-kf/api/runs/{run['id']}", token)[1].get("status") not in ("queued", "running"):
                break
            time.sleep(0.2)
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        text = (base / "server.log").read_text(errors="replace")
        assert token not in text.replace(f"token={token}", ""), "the token leaked into the server log"


@pytest.fixture(scope="module")
def served_schema(server):
    url, token = server
    schema = schemathesis.openapi.from_url(f"{url}/jupyter-kf/api/openapi.yaml", headers={"Authorization": f"token {token}"})
    schema.config.update(base_url=f"{url}/jupyter-kf/api")
    return schema


def _operations() -> list[tuple[str, str]]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m in ("get", "post")]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(("method", "path"), _operations())
def test_api_fuzz(served_schema, server, method, path, mode):
    _, token = server
    operation = served_schema[path][method].ok() if hasattr(served_schema[path][method], "ok") else served_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
              derandomize=True, database=None)
    def fuzz(case):
        case.call_and_validate(
            headers={"Authorization": f"token {token}"},
            checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
            timeout=REQUEST_TIMEOUT,
        )

    fuzz()
