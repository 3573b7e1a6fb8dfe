"""A real `jupyter server` subprocess with jupyter_kf, for tests that need one (fuzz, shutdown)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import nbformat


def write_notebook(path: Path, cells: list[tuple[str, list[str]]]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src, metadata={"tags": tags}) for src, tags in cells]
    nbformat.write(nb, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProc:
    proc: subprocess.Popen
    url: str
    token: str
    log_path: Path
    run_id: str | None = None

    def api(self, path: str, body: dict | None = None, timeout: float = 10) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}/jupyter-kf/api/{path}", data=data,
                                     headers={"Authorization": f"token {self.token}"})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def wait_run(self, run_id: str, until, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            _, run = self.api(f"runs/{run_id}")
            if until(run):
                return run
            assert time.monotonic() < deadline, f"run {run_id} did not get there in {timeout}s: {run}"
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> float:
        """SIGTERM, then the seconds it took to exit (kills it after ``timeout``)."""
        t0 = time.monotonic()
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - t0


def start_server(base: Path, root: Path) -> ServerProc:
    """Start `jupyter server` on a free loopback port with a token; isolated config/data dirs."""
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
    log_path = base / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    server = ServerProc(proc, f"http://127.0.0.1:{port}", token, log_path)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"jupyter server exited:\n{server.log()}")
        try:
            if server.api("backends", timeout=2)[0] == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"jupyter server did not start in 60 s:\n{server.log()}")
        time.sleep(0.3)
