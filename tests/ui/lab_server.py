"""A real `jupyter lab` subprocess for the browser tests, from any Python environment.

`start_lab(python, base, root)` runs `<python> -m jupyter lab` on a free loopback port with a token,
isolated config/data/runtime/settings/workspace dirs under `base`, and the "Jupyter news" and
update-check notifications silenced; it returns once the server and the jupyter_kf server extension
answer. The extension is NOT force-enabled: it must be enabled by its installation, as for a user.
`LabServer.stop()` shuts down its kernels, then the server, then kills anything it left behind.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

# JupyterLab's own notification settings: no news fetch, no update check (no toast, no network).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    proc: subprocess.Popen
    url: str
    token: str
    root: Path
    log_path: Path

    def lab_url(self, notebook: str) -> str:
        """URL opening `notebook` (relative to the root) in a reset workspace, logged in by token."""
        return f"{self.url}/lab/tree/{urllib.request.pathname2url(notebook)}?reset&token={self.token}"

    def home_url(self) -> str:
        """URL of JupyterLab with no document open (the launcher), in a reset workspace."""
        return f"{self.url}/lab?reset&token={self.token}"

    def sessions(self) -> list[dict]:
        """The server's kernel sessions (each with its notebook `path` and `kernel`)."""
        status, sessions = self.request("GET", "api/sessions", timeout=5)
        return sessions if status == 200 and isinstance(sessions, list) else []

    def request(
        self, method: str, path: str, body: dict | None = None, timeout: float = 10
    ) -> tuple[int, object]:
        """`method` on `{url}/{path}` with the token; (status, decoded JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}/{path}", data=data, method=method, headers={"Authorization": f"token {self.token}"}
        )
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw) if raw else None
            except ValueError:
                return exc.code, raw.decode(errors="replace")

    def api(self, path: str, body: dict | None = None) -> tuple[int, object]:
        """A jupyter-kf REST call (GET, or POST when `body` is given)."""
        return self.request("POST" if body is not None else "GET", f"jupyter-kf/api/{path}", body)

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def log(self, tail: int = 20_000) -> str:
        """The end of the server's log, with the token redacted."""
        text = self.log_path.read_text(errors="replace")[-tail:]
        return text.replace(self.token, "<token>")

    def shutdown_kernels(self) -> None:
        """Shut down every kernel the server runs (those of notebooks opened in Lab)."""
        try:
            status, kernels = self.request("GET", "api/kernels", timeout=5)
            for k in kernels if status == 200 and isinstance(kernels, list) else []:
                self.request("DELETE", f"api/kernels/{k['id']}", timeout=10)
        except OSError:
            pass

    def stop(self, timeout: float = 20) -> None:
        """Shut down every kernel, stop the server (SIGTERM, then SIGKILL), kill what it left."""
        leftovers = self.descendants()
        if self.proc.poll() is None:
            self.shutdown_kernels()
            leftovers = self.descendants()
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for p in leftovers:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(leftovers, timeout=5)


def _write_settings(settings_dir: Path) -> None:
    for rel, values in LAB_SETTINGS.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def start_lab(python: str, base: Path, root: Path, start_timeout: float = 90) -> LabServer:
    """Start `<python> -m jupyterlab` serving `root`; `base` holds its private dirs and log."""
    base.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    settings_dir = base / "lab-settings"
    _write_settings(settings_dir)
    (base / "workspaces").mkdir(exist_ok=True)
    token, port = secrets.token_hex(16), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_KF_", "VIRTUAL_ENV"))}
    # That environment's bin first on PATH, as for a user of it: Jupyter resolves subcommands and
    # kernels' tools on PATH, so a caller's venv listed first would otherwise serve instead.
    env["PATH"] = f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_DATA_DIR": str(base / "data"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "JUPYTER_KF_REGISTRY": str(base / "kf-stores.json"),
        }
    )
    cmd = [
        python,
        "-m",
        "jupyterlab",  # LabApp itself: no `jupyter-lab` looked up on PATH
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",
        f"--LabApp.user_settings_dir={settings_dir}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabServerApp.open_browser=False",
    ]
    log_path = base / "jupyter-lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root, stdin=subprocess.DEVNULL
        )
    server = LabServer(proc, f"http://127.0.0.1:{port}", token, root, log_path)
    deadline = time.monotonic() + start_timeout
    last = None
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{server.log()}")
        try:
            last = server.api("backends")
            if last[0] == 200:
                return server
            if last[0] == 404 and server.request("GET", "api/status")[0] == 200:
                server.stop()
                raise RuntimeError(
                    f"jupyter lab runs but the jupyter_kf server extension is not enabled "
                    f"(GET jupyter-kf/api/backends: 404) for {python}:\n{server.log()}"
                )
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(
                f"jupyter lab did not answer in {start_timeout:.0f} s (last: {last}):\n{server.log()}"
            )
        time.sleep(0.3)
