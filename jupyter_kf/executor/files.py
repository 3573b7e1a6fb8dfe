"""Files a step writes into the run's working folder: kept with the step, restored on reuse.

Steps pass data through files too (``prev:`` edges: "step B reads what step A wrote"). When A
is taken from the cache or from a retried run, its values are copied, and so must be the files
it wrote, or B would not find them. After a step succeeds, the files it created or changed
(compared with the folder just before it started) are copied to ``<run>/files/<step>/``; taking
the step over copies them back into the new run's working folder. Steps running at the same
time share the folder: a file another running step still has open for writing is left to that
step (never kept half-written), one that changes while it is copied is dropped; a file a
concurrent step wrote is left to it (the executor tells who wrote what). A kept file is a
hardlink to the working file (stored once) with its (size, mtime_ns) recorded: if a later step
writes into it, restoring refuses it and the step runs again.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from .._fsutil import atomic_write_text, copy_file

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
    sigs = _signatures(dest)
    sigs.unlink(missing_ok=True)
    kept = []
    for rel in changed:
        src = root / rel
        real = os.path.realpath(src)
        if real in busy or (may_keep is not None and not may_keep(real)):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                os.link(src, target)  # stored once: the kept file is the working file
            except OSError as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                copy_file(src, target)  # another file system, or no hardlinks there
            st = os.stat(src, follow_symlinks=False)
        except FileNotFoundError:  # a concurrent step removed it
            target.unlink(missing_ok=True)
            continue
        if (st.st_size, st.st_mtime_ns) != current[rel]:  # written to while we copied
            target.unlink(missing_ok=True)
            continue
        kept.append(rel)
    if kept:
        atomic_write_text(sigs, json.dumps({rel: list(current[rel]) for rel in kept}))
    return kept


def _signatures(kept: Path) -> Path:
    """(size, mtime_ns) of each kept file when it was kept: ``files/<step>.files.json``."""
    return kept.with_name(kept.name + ".files.json")


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
    """Copy the files kept for a step back into a working folder; returns how many.

    A kept file is the run's working file (a hardlink): if a later step of that run wrote into
    it, it no longer is what the step wrote, and ``OSError`` says so (the step then runs again)."""
    if not kept.is_dir():
        return 0
    try:
        recorded = json.loads(_signatures(kept).read_text())
    except (OSError, ValueError):
        recorded = {}  # kept by an older version: independent copies
    listing = scan(kept)
    for rel, sig in recorded.items():
        if tuple(sig) != listing.get(rel):
            raise OSError(f"{rel} changed after its step wrote it (a later step wrote into it)")
    n = 0
    for rel in listing:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        copy_file(kept / rel, target)
        n += 1
    return n
