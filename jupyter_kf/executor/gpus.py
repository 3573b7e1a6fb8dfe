"""GPUs for local steps: which the machine has, and which step holds which.

A step tagged ``limit:nvidia.com/gpu:N`` runs in a kernel that sees N GPUs of its own
(``CUDA_VISIBLE_DEVICES``), and waits (pending) while fewer are free; a step without the limit sees
none, as a pod without the limit does on Kubernetes. The list of GPUs comes from the
``JUPYTER_KF_GPUS`` setting when given (``0,1``, or ``none``), else from the driver
(``nvidia-smi``), narrowed by a ``CUDA_VISIBLE_DEVICES`` the user already set.

A GPU is held with an exclusive ``flock`` on a file named after it, so runs in other processes
(the CLI beside the server) never share one, and a killed process frees its GPUs at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline, Step

log = logging.getLogger("jupyter_kf.executor.gpus")

GPU_RESOURCE = "nvidia.com/gpu"
VISIBLE = "CUDA_VISIBLE_DEVICES"
NO_GPU = ""  # CUDA_VISIBLE_DEVICES="" hides every GPU from CUDA, torch, TensorFlow and JAX


class GpuUnavailableError(ValueError):
    """A step asks for more GPUs than this machine has (found before anything runs)."""


def requested(step: Step) -> int:
    """GPUs a step asks for (``limit:nvidia.com/gpu:N``); 0 without the limit."""
    raw = step.resources.limits.get(GPU_RESOURCE)
    if raw is None:
        return 0
    try:
        n = int(str(raw).strip())
    except ValueError:
        raise GpuUnavailableError(
            f"step {step.name!r}: limit:{GPU_RESOURCE}:{raw} must be a whole number of GPUs"
        ) from None
    if n < 0:
        raise GpuUnavailableError(f"step {step.name!r}: limit:{GPU_RESOURCE}:{raw} must not be negative")
    return n


def detect(setting: str | None = None, environ: Mapping[str, str] | None = None) -> tuple[list[str], str]:
    """The GPU ids steps may use and where that list came from (for messages)."""
    env = os.environ if environ is None else environ
    if setting is not None and setting.strip() != "":
        text = setting.strip()
        ids = [] if text.lower() in ("none", "-") else _split(text)
        return ids, f"JUPYTER_KF_GPUS={setting}"
    found = _from_driver()
    visible = env.get(VISIBLE)
    if visible is not None:  # the user narrowed the machine's GPUs already: stay inside that
        ids = _split(visible)
        if found is not None and all(i.isdigit() for i in ids):
            ids = [i for i in ids if int(i) < len(found)]
        return ids, f"{VISIBLE}={visible}"
    if found is None:
        return [], "nvidia-smi found no NVIDIA driver"
    return found, "nvidia-smi"


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip() and part.strip() != "-1"]


def _from_driver() -> list[str] | None:
    """Indexes of the GPUs ``nvidia-smi`` lists; None without a driver."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        proc_dir = Path("/proc/driver/nvidia/gpus")
        return [str(i) for i in range(len(list(proc_dir.iterdir())))] if proc_dir.is_dir() else None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("nvidia-smi failed: %s", exc)
        return None
    if out.returncode != 0:
        return None
    return [line.strip() for line in out.stdout.splitlines() if re.fullmatch(r"\d+", line.strip())]


def check(pipeline: Pipeline, gpus: list[str], source: str, fallback: str) -> None:
    """Refuse, before anything runs, a step asking for more GPUs than there are.

    ``fallback="cpu"`` lets such steps run without a GPU instead (when the machine has none).
    """
    problems = []
    for step in pipeline.steps:
        n = requested(step)
        if n > len(gpus) and not (fallback == "cpu" and not gpus):
            cell = f" (cell {step.cells[0].index + 1})" if step.cells else ""
            has = f"has {len(gpus)}" if gpus else "has none"
            problems.append(
                f"step {step.name!r}{cell} asks for {n} GPU(s) (limit:{GPU_RESOURCE}:{n}); "
                f"this machine {has} ({source})"
            )
    if problems:
        hint = (
            "set JUPYTER_KF_GPUS to the GPU ids to use"
            + (", or JUPYTER_KF_GPU_FALLBACK=cpu to run these steps without a GPU" if not gpus else "")
        )
        raise GpuUnavailableError("; ".join(problems) + f"; {hint}; nothing ran")


class GpuSlots:
    """The GPUs of one list, held by steps of every run in this process and, through lock files,
    of other processes. :meth:`acquire` never blocks: a step that gets nothing stays pending."""

    def __init__(self, gpus: list[str], lock_dir: Path | None = None) -> None:
        self.gpus = list(gpus)
        self.lock_dir = lock_dir or Path(tempfile.gettempdir()) / f"jupyter-kf-gpus-{os.getuid()}"
        self._held: dict[str, int] = {}  # gpu id -> fd of its lock file
        self._lock = threading.Lock()

    def acquire(self, n: int) -> list[str] | None:
        """``n`` free GPUs, now held; None when fewer are free."""
        if n <= 0:
            return []
        got: list[str] = []
        with self._lock:
            self.lock_dir.mkdir(mode=0o700, exist_ok=True)
            for gpu in self.gpus:
                if len(got) == n:
                    break
                if gpu in self._held:
                    continue
                fd = os.open(self.lock_dir / f"gpu-{gpu}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(fd)  # another process holds it
                    continue
                self._held[gpu] = fd
                got.append(gpu)
            if len(got) < n:
                self._release_locked(got)
                return None
        return got

    def release(self, gpus: list[str]) -> None:
        with self._lock:
            self._release_locked(gpus)

    def _release_locked(self, gpus: list[str]) -> None:
        for gpu in gpus:
            fd = self._held.pop(gpu, None)
            if fd is not None:
                os.close(fd)  # closing drops the flock


_slots: dict[tuple[str, ...], GpuSlots] = {}
_slots_lock = threading.Lock()


def slots_for(gpus: list[str]) -> GpuSlots:
    """The process-wide slots of a GPU list (every run of a server shares them)."""
    with _slots_lock:
        key = tuple(gpus)
        if key not in _slots:
            _slots[key] = GpuSlots(gpus)
        return _slots[key]
