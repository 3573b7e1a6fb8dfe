"""Is the process that recorded a run still running? (pid + process start time, per host)"""

from __future__ import annotations

import os
import socket


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
    """Whether the runner that recorded (pid, start, host) still runs. Other hosts: assumed alive."""
    if pid is None:
        return False
    if host and host != socket.gethostname():
        return True
    now = process_start_time(pid)
    if now is None:
        return False
    return start in (None, "?") or now == "?" or now == start
