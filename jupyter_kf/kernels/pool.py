"""A pool of pre-started, never-used kernels for one run, so a step rarely waits for a kernel.

Every kernel serves exactly one step and is then killed: the pool only moves start-up off the
critical path. The executor tells the pool how many steps will need a kernel soon
(:meth:`KernelPool.want`); a background thread keeps that many idle kernels started. Kernels are
killed on a reaper thread so a finished step never waits for its kernel to exit.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from pathlib import Path

from .forkserver import kernel_env
from .manager import StepKernelManager

REAP_BACKLOG = 4  # discarded kernels waiting for clean-up before new starts wait for the reaper


class KernelPool:
    def __init__(
        self,
        kernel_name: str,
        cwd: Path | str,
        env: dict[str, str] | None = None,
        cap: int = 8,
        preload: list[str] | None = None,
    ) -> None:
        self.kernel_name = kernel_name
        self.preload = list(preload or [])  # see kernels/preload.py
        self._preload_lock = threading.Lock()
        self._preloaded = not self.preload
        self.cwd = str(cwd)
        self.env = kernel_env({**os.environ, **(env or {})})  # PYTHONHASHSEED too
        self.cap = max(1, cap)
        self._idle: deque[StepKernelManager] = deque()
        self._live: set[StepKernelManager] = set()  # started and not yet killed (idle or in use)
        self._want = 0
        self._starting = 0
        self._reaping = 0  # discarded, not yet cleaned up
        self._closed = False
        self._cond = threading.Condition()
        self._reap: queue.Queue[StepKernelManager | None] = queue.Queue()
        self._filler = threading.Thread(target=self._fill_loop, name="kf-kernel-pool", daemon=True)
        self._reaper = threading.Thread(target=self._reap_loop, name="kf-kernel-reaper", daemon=True)
        self._filler.start()
        self._reaper.start()

    # -- public ---------------------------------------------------------------------------------
    def want(self, n: int) -> None:
        """Keep ``n`` idle kernels ready (capped); lower numbers never kill idle kernels."""
        with self._cond:
            self._want = max(0, min(n, self.cap))
            self._cond.notify_all()

    def take(self, env: dict[str, str] | None = None) -> StepKernelManager:
        """A started, unused kernel (from the pool if one is idle, else started now). With ``env``
        (e.g. the GPUs a step holds), a kernel started now with those variables added."""
        if env:
            return self._start(env)
        with self._cond:
            while not self._idle and self._starting and not self._closed:
                self._cond.wait()  # one is on its way: sooner than starting another
            if self._closed:
                raise RuntimeError("kernel pool is closed")
            if self._idle:
                km = self._idle.popleft()
                self._cond.notify_all()  # the filler may top up
                return km
        return self._start()

    def discard(self, km: StepKernelManager) -> None:
        """Kill a kernel that has served its step: its process at once (a step kernel is never
        reused), its channels, sockets and files in the background."""
        self.kill(km)
        self._to_reaper(km)

    def _to_reaper(self, km: StepKernelManager) -> None:
        with self._cond:
            self._reaping += 1
        self._reap.put(km)

    def kill(self, km: StepKernelManager) -> None:
        """Kill a kernel's process group at once (safe from any thread, e.g. a timeout watchdog)."""
        proc = getattr(km.provisioner, "process", None)
        if proc is None:
            return
        try:
            os.killpg(km.pid, 9)  # type: ignore[arg-type]
        except (OSError, TypeError):
            proc.kill()

    def close(self) -> None:
        """Kill every kernel this pool started (idle or in use) and wait until they are gone."""
        with self._cond:
            self._closed = True
            self._want = 0
            self._cond.notify_all()
        self._filler.join(timeout=30)
        with self._cond:
            live = list(self._live)
            self._idle.clear()
        for km in live:
            self.kill(km)
        for km in live:
            self._to_reaper(km)
        self._reap.put(None)
        self._reaper.join(timeout=30)

    @property
    def pids(self) -> list[int]:
        with self._cond:
            return [km.pid for km in self._live if km.pid]

    # -- internals ------------------------------------------------------------------------------
    def _start(self, env: dict[str, str] | None = None) -> StepKernelManager:
        if not self._preloaded:
            with self._preload_lock:  # before the first fork: every kernel then has the modules
                if not self._preloaded:
                    self._preload()
                    self._preloaded = True
        with self._cond:  # a reaper that falls behind (fast-failing retries) slows starts down
            while self._reaping > REAP_BACKLOG and not self._closed:
                self._cond.wait(1.0)
        km = StepKernelManager(kernel_name=self.kernel_name)
        env = {**self.env, **(env or {})}
        if km.write_log:  # forked kernels log the files their code writes (zygote._log_writes)
            env["JUPYTER_KF_WRITE_LOG"] = km.write_log
        try:
            km.start_kernel(cwd=self.cwd, env=env)
        except BaseException:
            km.kill_now()  # a half-started kernel holds a process, sockets and files too
            raise
        with self._cond:
            self._live.add(km)
            closed = self._closed
        if closed:
            self.kill(km)
            self._to_reaper(km)
            raise RuntimeError("kernel pool is closed")
        return km

    def _preload(self) -> None:
        import logging

        from .forkserver import ForkServerError, get_fork_server
        from .manager import kernel_python

        python = kernel_python(self.kernel_name)
        if python is None:  # not a kernel the fork server serves
            return
        try:
            answer = get_fork_server(python).preload(self.preload)
        except ForkServerError as exc:
            logging.getLogger("jupyter_kf.kernels").warning("could not preload %s: %s", self.preload, exc)
            return
        if answer.get("failed"):
            logging.getLogger("jupyter_kf.kernels").info("not preloaded: %s", ", ".join(answer["failed"]))

    def _fill_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed and len(self._idle) + self._starting >= self._want:
                    self._cond.wait()
                if self._closed:
                    return
                self._starting += 1
            try:
                km = self._start()
            except Exception:
                with self._cond:
                    self._starting -= 1
                    self._want = 0  # do not spin on a broken kernelspec; take() reports the error
                    self._cond.notify_all()
                continue
            with self._cond:
                self._starting -= 1
                self._idle.append(km)
                self._cond.notify_all()

    def _reap_loop(self) -> None:
        while True:
            km = self._reap.get()
            if km is None:
                return
            try:
                km.kill_now()
            except Exception:  # never stop reaping: the next kernels must be released too
                pass
            finally:
                with self._cond:
                    self._live.discard(km)
                    self._reaping -= 1
                    self._cond.notify_all()
