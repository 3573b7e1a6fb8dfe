"""Which files a snapshot takes: a walk of the folder that skips the store, checkpoints, VCS
folders, caches and `.kfignore` patterns (gitignore syntax), and never follows symlinks."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILE = ".kfignore"
ALWAYS_IGNORED = frozenset({".ipynb_checkpoints", ".git", ".hg", ".svn", "__pycache__"})


@dataclass(frozen=True)
class Found:
    """One path found by the walk (``rel`` uses '/' separators)."""

    rel: str
    kind: str  # "file" | "link" | "dir"
    st: os.stat_result


def is_store(path: str) -> bool:
    """A run store or snapshot store folder (ours or a nested notebook's): never snapshotted."""
    return os.path.isdir(os.path.join(path, ".objects")) or os.path.isfile(os.path.join(path, "runs.sqlite"))


def load_ignore(root: Path):
    """The `.kfignore` matcher of ``root`` (None when there is no such file)."""
    f = root / IGNORE_FILE
    if not f.is_file():
        return None
    import pathspec

    with open(f, encoding="utf-8") as fh:
        return pathspec.GitIgnoreSpec.from_lines(fh)


def walk(root: Path, *, exclude: set[Path] = frozenset()) -> Iterator[Found]:
    """Files, symlinks and folders under ``root`` in sorted order (special files are skipped)."""
    spec = load_ignore(root)
    skip = {str(p) for p in exclude}

    def rec(abs_dir: str, rel_dir: str) -> Iterator[Found]:
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            rel = f"{rel_dir}{e.name}"
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed while we walk
                continue
            if stat.S_ISLNK(st.st_mode):
                if spec is None or not spec.match_file(rel):
                    yield Found(rel, "link", st)
            elif stat.S_ISDIR(st.st_mode):
                if e.name in ALWAYS_IGNORED or e.path in skip or is_store(e.path):
                    continue
                if spec is not None and spec.match_file(rel + "/"):
                    continue
                yield Found(rel, "dir", st)
                yield from rec(e.path, rel + "/")
            elif stat.S_ISREG(st.st_mode) and (spec is None or not spec.match_file(rel)):
                yield Found(rel, "file", st)

    yield from rec(str(root), "")
