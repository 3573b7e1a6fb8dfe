"""Files a step writes into the run's working folder: kept with the step, restored on reuse.

Steps pass data through files too (``prev:`` edges: "step B reads what step A wrote"). When A
is taken from the cache or from a retried run, its values are copied, and so must be the files
it wrote, or B would not find them. After a step succeeds, the files it created or changed
(compared with the folder just before it started) are copied to ``<run>/files/<step>/``; taking
the step over copies them back into the new run's working folder. Steps running at the same
time share the folder: a file another running step still has open for writing is left to that
step (never kept half-written), one that changes while it is copied is dropped; a file a
concurrent step wrote and closed may still be kept with both (restoring it twice is harmless).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from .._fsutil import copy_file

Listing = dict[str, tuple[int, int]]  # relative path -> (size, mtime_ns)
SKIP = {"kf-values", ".ipynb_checkpoints", "__pycache__"}


def scan(root: Path) -> Listing:
    """Regular files under ``root`` (values folder and caches left out)."""
    out: Listing = {}

    def rec(folder: str, rel: str) -> None:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        for e in entries:
            if e.name in SKIP and not rel:
                continue
            try:
                if e.is_dir(follow_symlinks=False):
                    if e.name not in SKIP:
                        rec(e.path, f"{rel}{e.name}/")
                elif e.is_file(follow_symlinks=False):
                    st = e.stat(follow_symlinks=False)
                    out[f"{rel}{e.name}"] = (st.st_size, st.st_mtime_ns)
            except OSError:  # removed while we look
                continue

    rec(str(root), "")
    return out


def capture(
    root: Path,
    before: Listing,
    dest: Path,
    busy_pids: Iterable[int] = (),
    may_keep: Callable[[str], bool] | None = None,
) -> list[str]:
    """Copy the files under ``root`` that are new or changed since ``before`` into ``dest``.

    Never a partial file: a file that a process in ``busy_pids`` (the kernels of steps still
    running, and their children) has open for writing belongs to that step and is left to its own
    capture; a file that changes while it is copied is dropped. ``may_keep(real_path)`` says
    whether a changed file is this step's (the executor knows who wrote what). Returns what was
    kept."""
    busy = open_for_writing(busy_pids)
    current = scan(root)
    changed = [rel for rel, sig in current.items() if before.get(rel) != sig]
    if dest.exists():
        shutil.rmtree(dest)
    kept = []
    for rel in changed:
        src = root / rel
        real = os.path.realpath(src)
        if real in busy or (may_keep is not None and not may_keep(real)):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            copy_file(src, target)
            st = os.stat(src, follow_symlinks=False)
        except FileNotFoundError:  # a concurrent step removed it
            target.unlink(missing_ok=True)
            continue
        if (st.st_size, st.st_mtime_ns) != current[rel]:  # written to while we copied
            target.unlink(missing_ok=True)
            continue
        kept.append(rel)
    return kept


def open_for_writing(pids: Iterable[int]) -> set[str]:
    """Real paths of regular files that processes ``pids`` or their children have open for
    writing (from /proc; empty where there is none)."""
    out: set[str] = set()
    todo, seen = list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        base = f"/proc/{pid}"
        try:
            fds = os.listdir(f"{base}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"{base}/fdinfo/{fd}") as f:
                    flags = next((int(line.split()[1], 8) for line in f if line.startswith("flags:")), 0)
                if flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                    target = os.readlink(f"{base}/fd/{fd}")
                    if target.startswith("/"):
                        out.add(target)
            except (OSError, ValueError, IndexError):
                continue
        try:
            for task in os.listdir(f"{base}/task"):
                with open(f"{base}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def restore(kept: Path, root: Path) -> int:
    """Copy the files kept for a step back into a working folder; returns how many."""
    if not kept.is_dir():
        return 0
    n = 0
    for rel in scan(kept):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        copy_file(kept / rel, target)
        n += 1
    return n
