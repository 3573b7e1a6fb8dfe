"""Client side of the kernel fork server (see ``zygote.py``): start it, ask it for kernels."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

_ZYGOTE = Path(__file__).with_name("zygote.py")
_IPC_DIR: str | None = None
HASH_SEED = "0"


def kernel_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) for kernels and the fork server, with ``PYTHONHASHSEED``
    fixed unless the user set it. Forked kernels inherit the fork server's hash seed, which would
    otherwise differ per run; a set of strings then pickles in another order each run, and the
    steps that load it miss the cache."""
    out = dict(os.environ if env is None else env)
    out.setdefault("PYTHONHASHSEED", HASH_SEED)
    return out


def ipc_dir() -> str:
    """A short private folder for kernels' IPC socket files (AF_UNIX paths: ~107 bytes at most),
    ``kf-ipc-<pid>-*`` in the temp folder; removed by :func:`close_fork_servers` once empty. The
    first call also removes folders that killed runners left behind (:func:`clean_stale_ipc_dirs`)."""
    global _IPC_DIR
    if _IPC_DIR is None or not os.path.isdir(_IPC_DIR):
        try:
            clean_stale_ipc_dirs()
        except OSError:
            pass
        _IPC_DIR = tempfile.mkdtemp(prefix=f"kf-ipc-{os.getpid()}-")
    return _IPC_DIR


def clean_stale_ipc_dirs(tmp: str | None = None) -> list[str]:
    """Remove this user's ``kf-ipc-*`` folders whose runner is gone; return their paths.

    A folder is stale when the process named in it (``kf-ipc-<pid>-``) no longer runs, or, for
    folders without a pid (older versions), when it is over a minute old and no socket in it
    accepts a connection."""
    import re
    import shutil
    import time

    removed = []
    for entry in os.scandir(tmp or tempfile.gettempdir()):
        if not entry.name.startswith("kf-ipc-") or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if st.st_uid != os.getuid():
            continue
        m = re.match(r"kf-ipc-(\d+)-", entry.name)
        if m:
            if _pid_alive(int(m.group(1))):
                continue
        elif time.time() - st.st_mtime < 60 or _any_socket_listening(entry.path):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _any_socket_listening(folder: str) -> bool:
    import socket
    import stat

    for entry in os.scandir(folder):
        try:
            if not stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode):
                continue
        except OSError:
            continue
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            try:
                s.connect(entry.path)
                return True
            except OSError:
                continue
    return False


class ForkServerError(RuntimeError):
    pass


class ForkServer:
    """One zygote process for one Python interpreter. Thread-safe; start-up runs in the background.

    ``fork(argv, cwd, env)`` returns the pid of a new kernel process (a child of the zygote).
    ``close()`` (or the death of this process) makes the zygote kill its kernels and exit.
    """

    def __init__(self, python: str | None = None, preload: list[str] | None = None) -> None:
        self.python = python or sys.executable
        self._lock = threading.Lock()
        self._seq = 0
        self.pid: int | None = None
        self._proc = subprocess.Popen(
            [self.python, str(_ZYGOTE), *(preload or [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,
            text=True,
            bufsize=1,
            close_fds=True,
            env=kernel_env(),
        )
        self._ready = threading.Event()
        self._error: str | None = None
        self.preloaded: set[str] = set()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        if self._ready.is_set():
            return
        with self._lock:
            if self._ready.is_set():
                return
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline()  # the zygote's first line: its imports are done
            if not line:
                self._error = f"kernel fork server exited (code {self._proc.wait()})"
                raise ForkServerError(self._error)
            self.pid = json.loads(line)["pid"]
            self._ready.set()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None and self._error is None

    def _request(self, request: dict) -> dict:
        self._wait_ready()
        with self._lock:
            if self._proc.poll() is not None:
                raise ForkServerError(f"kernel fork server exited (code {self._proc.returncode})")
            self._seq += 1
            request = {"id": self._seq, **request}
            assert self._proc.stdin is not None and self._proc.stdout is not None
            try:
                self._proc.stdin.write(json.dumps(request) + "\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline()
            except (BrokenPipeError, OSError) as exc:
                raise ForkServerError(f"kernel fork server is gone: {exc}") from exc
            if not line:
                raise ForkServerError("kernel fork server closed its output")
            return json.loads(line)

    def preload(self, modules: list[str]) -> dict:
        """Import ``modules`` in the zygote (once each) so that kernels forked later have them."""
        todo = [m for m in modules if m not in self.preloaded]
        if not todo:
            return {"preloaded": [], "failed": []}
        answer = self._request({"preload": todo})
        self.preloaded.update(todo)
        return answer

    def fork(
        self, argv: list[str], cwd: str | os.PathLike | None, env: dict[str, str], stdio: str | None = None
    ) -> int:
        """Fork a kernel running ``ipykernel`` with ``argv`` (e.g. ``["-f", conn_file, ...]``)."""
        answer = self._request({"argv": argv, "cwd": str(cwd) if cwd else None, "env": env, "stdio": stdio})
        if "pid" not in answer:
            raise ForkServerError(f"kernel fork failed: {answer.get('error')}")
        return int(answer["pid"])

    def close(self, timeout: float = 5.0) -> None:
        """Stop the zygote; it kills every kernel it forked that is still running."""
        if not self._ready.is_set() and self._proc.poll() is None:
            self._proc.kill()  # still importing, so it has forked nothing: no need to wait for it
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()


_servers: dict[str, ForkServer] = {}
_atexit_registered = False
_servers_lock = threading.Lock()


def get_fork_server(python: str | None = None) -> ForkServer:
    """The process-wide fork server for ``python`` (started on first use, restarted if it died)."""
    key = python or sys.executable
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(close_fork_servers)  # an in-process caller (server, kernel) exiting
        _atexit_registered = True
    with _servers_lock:
        server = _servers.get(key)
        if server is None or not server.alive:
            server = _servers[key] = ForkServer(key)
        return server


def close_fork_servers() -> None:
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.close()
    if _IPC_DIR is not None:
        try:
            os.rmdir(_IPC_DIR)  # kernels remove their own socket files when they are shut down
        except OSError:
            pass
