"""A kernel manager for step kernels: forked from the zygote when it can, over IPC sockets.

``StepKernelManager`` is a regular ``jupyter_client.KernelManager`` (so nbclient/papermill accept
it as ``km=``) whose provisioner asks the fork server for the process instead of exec'ing a new
Python, and whose sockets are unique IPC paths (no TCP port races between parallel kernels).
Kernelspecs that are not ``<this python> -m ipykernel_launcher`` fall back to a normal launch.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import threading
import time
import uuid
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import KernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from .forkserver import ForkServerError, get_fork_server, ipc_dir


def _forkable(argv: list[str]) -> bool:
    """A kernelspec the fork server can serve: ``python -m ipykernel_launcher ...``."""
    return len(argv) >= 3 and argv[1:3] == ["-m", "ipykernel_launcher"]


def kernel_python(kernel_name: str) -> str | None:
    """The interpreter whose fork server serves ``kernel_name`` (None: it is not forkable)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = list(KernelSpecManager().get_kernel_spec(kernel_name).argv)
    except NoSuchKernel:
        return None
    if not _forkable(argv):
        return None
    major, minor = sys.version_info[:2]
    if argv[0] in ("python", f"python{major}", f"python{major}.{minor}"):  # as jupyter_client does
        return sys.executable
    return argv[0] if os.path.isabs(argv[0]) else None


class ForkedProcess:
    """The bits of ``subprocess.Popen`` the provisioner uses, for a process we did not spawn."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        # poll() runs from several threads (the pool's reaper, the kernel client's liveness
        # checks): without the lock one could select() on, or close, a pidfd another just closed
        # (EBADF; or worse, a file that reused its number).
        self._lock = threading.Lock()
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except (OSError, AttributeError):  # already gone, or no pidfd on this platform
            self._fd = None

    def poll(self) -> int | None:
        with self._lock:
            return self._poll()

    def _poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        if self._fd is not None:
            ready, _, _ = select.select([self._fd], [], [], 0)
            alive = not ready
        else:
            try:
                os.kill(self.pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
        if alive:
            return None
        self.returncode = -signal.SIGKILL  # not our child: the real status went to the zygote
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"process {self.pid} still running")
            time.sleep(0.01)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, sig: int) -> None:
        with self._lock:
            if self._poll() is not None:
                return
            try:
                if self._fd is not None:
                    signal.pidfd_send_signal(self._fd, sig)
                else:
                    os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """LocalProvisioner that gets ipykernel processes from the fork server."""

    forked = False

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if km is not None and km.transport == "ipc" and not _forkable(self.kernel_spec.argv):
            km.transport, km.ip = "tcp", "127.0.0.1"  # not every kernel speaks IPC
        return await super().pre_launch(**kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        if _forkable(cmd) and os.path.isabs(cmd[0]):
            try:
                server = get_fork_server(cmd[0])
                pid = server.fork(cmd[3:], kwargs.get("cwd"), dict(kwargs.get("env") or os.environ))
            except ForkServerError as exc:
                self.log.warning("fork server unavailable (%s); starting the kernel normally", exc)
            else:
                self.process = ForkedProcess(pid)  # type: ignore[assignment]
                self.pid = self.pgid = pid  # the child made itself a process-group leader
                self.cwd = kwargs.get("cwd")
                self.forked = True
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)

    async def wait(self) -> int | None:
        if self.forked and self.process is not None:  # LocalProvisioner polls every 0.1 s
            proc = self.process
            while proc.poll() is None:
                await asyncio.sleep(0.005)
            self.process = None
            return proc.returncode
        return await super().wait()

    async def send_signal(self, signum: int) -> None:
        if self.forked and self.process is not None:
            try:
                os.killpg(self.pid, signum)  # the kernel and what it spawned
            except OSError:
                self.process.send_signal(signum)
            return
        await super().send_signal(signum)


class StepKernelClient(AsyncKernelClient):
    """nbclient's async client, minus a fixed 0.2 s wait per kernel start.

    jupyter_client's ``wait_for_ready`` ends by draining IOPub until it has been silent for 0.2 s.
    Here it returns as soon as the kernel has answered ``kernel_info`` on shell and IOPub has
    delivered a message (proof that the subscription is live); stray start-up messages are
    harmless because nbclient only reads messages whose parent is its own request.
    """

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:  # drain only what is already queued
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break

    wait_for_ready = _async_wait_for_ready


class StepKernelManager(KernelManager):
    """A kernel manager for one step: fresh process, IPC transport, clients tracked for clean-up."""

    client_class = "jupyter_kf.kernels.manager.StepKernelClient"  # async, as nbclient needs

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transport", "ipc")
        super().__init__(**kwargs)
        if self.transport == "ipc":
            self.ip = os.path.join(ipc_dir(), uuid.uuid4().hex[:12])
        self._clients: list[Any] = []

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = ForkProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
        return await super()._async_pre_start_kernel(**kw)

    def client(self, **kwargs: Any) -> Any:
        kc = super().client(**kwargs)
        self._clients.append(kc)
        return kc

    @property
    def pid(self) -> int | None:
        return getattr(self.provisioner, "pid", None)

    def kill_now(self) -> None:
        """Stop clients' channels and kill the kernel at once (a step's kernel is never reused)."""
        for kc in self._clients:
            try:
                kc.stop_channels()
            except Exception:
                pass
        self._clients.clear()
        try:
            if self.has_kernel:
                self.shutdown_kernel(now=True)
        except Exception:
            proc = getattr(self.provisioner, "process", None)
            if proc is not None:
                proc.kill()
        try:
            self.cleanup_resources()
        except Exception:
            pass
