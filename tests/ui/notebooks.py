"""Small notebooks for the browser tests, written into the server's root (cell specs as in
tests/kf_testing.py's `build_notebook`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nbformat
from kf_testing import CellSpec, build_notebook


def write_notebook(path: Path, cells: Sequence[CellSpec]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build_notebook(cells), path)
    return path
