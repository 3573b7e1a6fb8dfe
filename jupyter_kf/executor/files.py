"""Files a step writes into the run's working folder: kept with the step, restored on reuse.

Steps pass data through files too (``prev:`` edges: "step B reads what step A wrote"). When A
is taken from the cache or from a retried run, its values are copied, and so must be the files
it wrote, or B would not find them. After a step succeeds, the files it created or changed
(compared with the folder just before it started) are copied to ``<run>/files/<step>/``; taking
the step over copies them back into the new run's working folder. Steps running at the same
time share the folder, so a file may be kept with both: restoring it twice is harmless.
"""

from __future__ import annotations

import os
import shutil
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


def capture(root: Path, before: Listing, dest: Path) -> list[str]:
    """Copy the files under ``root`` that are new or changed since ``before`` into ``dest``."""
    changed = [rel for rel, sig in scan(root).items() if before.get(rel) != sig]
    if dest.exists():
        shutil.rmtree(dest)
    for rel in changed:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            copy_file(root / rel, target)
        except FileNotFoundError:  # a concurrent step removed it
            continue
    return changed


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
