"""Helpers for the store tests (importable by name: the tests folders are not packages)."""

from __future__ import annotations

import os
import time
from pathlib import Path

OLD = time.time() - 3600  # mtimes an hour back: outside the stat cache's "racily clean" window


def write(path: Path, content: str | bytes, *, mtime: float | None = OLD) -> Path:
    """Write a file (parents created) and give it an old mtime unless ``mtime`` is None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path
