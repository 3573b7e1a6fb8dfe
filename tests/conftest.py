"""Shared pytest fixtures: small notebooks built in code (nothing is downloaded at test time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat
import pytest
from kf_testing import CellSpec, build_notebook

# Browser fixtures (one Chromium, one server registry) shared by tests/ui and tests/binder.
pytest_plugins = ["ui.fixtures"]


@pytest.fixture
def make_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Write a notebook built from cell specs into tmp_path and return its path."""

    def _make(cells: Sequence[CellSpec], name: str = "pipeline.ipynb", folder: Path | None = None) -> Path:
        path = (folder or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build_notebook(cells), path)
        return path

    return _make
