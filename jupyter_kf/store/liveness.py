"""Is the process that recorded a run still running? (pid + process start time, per host)

Cluster runs are alive while a watcher holds their lock (see the end of this module)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def process_start_time(pid: int) -> str | None:
    """An opaque, stable token for when process ``pid`` started (None if unknown / not running)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        fields = stat[stat.rindex(b")") + 2 :].split()
        if fields[0] in (b"Z", b"X"):  # zombie or dead: not running
            return None
        return fields[19].decode()  # starttime, clock ticks since boot
    except FileNotFoundError:
        return None
    except OSError:
        pass
    try:
        import psutil

        p = psutil.Process(pid)
        return None if p.status() == psutil.STATUS_ZOMBIE else f"{p.create_time():.2f}"
    except ImportError:
        pass
    except Exception:
        return None
    try:  # last resort: existence only
        os.kill(pid, 0)
        return "?"
    except ProcessLookupError:
        return None
    except PermissionError:
        return "?"


def runner_alive(pid: int | None, start: str | None, host: str | None) -> bool:
    """Whether the runner that recorded (pid, start, host) still runs. Other hosts: assumed alive.

    For a cluster run (``host`` is a lease, see :func:`cluster_lease`): whether a watcher holds its
    lock; when none does, one is re-attached here and the run stays alive.
    """
    lease = parse_lease(host)
    if lease is not None:
        return _lease_alive(lease[1])
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True
    now = process_start_time(pid)
    if now is None:
        return False
    return start in (None, "?") or now == "?" or now == start


# -- runs watched through a lock (cluster runs) ------------------------------------------------
# A cluster run outlives the process that submitted it. Once submitted, its runner record says
# so ("lease"): runner_host = "k8s:<host>:<run folder>". It is alive while some process holds the
# flock on <run folder>/.watch.lock (the one watcher), and while nobody does, the first process
# that checks re-attaches a watcher (jupyter_kf.k8s.reattach) instead of calling it interrupted.
LEASE_PREFIX = "k8s:"
WATCH_LOCK = ".watch.lock"


class WatchLock:
    """The one-watcher-per-run lock: ``flock`` on ``<run folder>/.watch.lock``.

    Held by the process that watches the run; released when it stops or dies. Two opens of the
    file (even in one process) exclude each other, so a second opener never watches too.
    """

    def __init__(self, run_dir: Path | str) -> None:
        self.path = Path(run_dir) / WATCH_LOCK
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another watcher holds it."""
        import fcntl

        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor drops the flock

    def __del__(self) -> None:
        self.release()


def cluster_lease(run_dir: Path | str) -> str:
    """The runner_host value of a run watched through its lock (see :func:`runner_alive`)."""
    return f"{LEASE_PREFIX}{socket.gethostname()}:{Path(run_dir).resolve()}"


def parse_lease(host: str | None) -> tuple[str, Path] | None:
    """(host, run folder) of a cluster lease, or None for an ordinary runner record."""
    if not host or not host.startswith(LEASE_PREFIX):
        return None
    hostname, sep, run_dir = host[len(LEASE_PREFIX) :].partition(":")
    return (hostname, Path(run_dir)) if sep and run_dir else None


def record_cluster_lease(db_file: Path | str, run_id: str, run_dir: Path | str) -> None:
    """Record that ``run_id`` now lives on a cluster and is watched through its lock.

    From then on the run is not interrupted when the submitting process dies; the next process
    that checks its liveness re-attaches a watcher.
    """
    import sqlite3

    db = sqlite3.connect(db_file, timeout=30, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("UPDATE runs SET runner_host = ? WHERE id = ?", (cluster_lease(run_dir), run_id))
    finally:
        db.close()


def _lease_alive(run_dir: Path) -> bool:
    # The host in the lease is not compared: a notebook pod may come back under another name, and
    # a store folder shared between machines carries its flock (NFSv4) to every one of them.
    if not run_dir.is_dir():
        return False
    lock = WatchLock(run_dir)
    try:
        free = lock.acquire()
    except OSError:  # e.g. a read-only store: cannot tell, so do not call the run dead
        return True
    if not free:
        return True  # a watcher holds the lock
    try:  # nobody watches: re-attach (the lock passes to the new watcher)
        from jupyter_kf.k8s.reattach import try_reattach
    except ImportError:
        lock.release()
        return True  # cannot judge a cluster run here; a process that can will re-attach
    return try_reattach(run_dir, lock)
