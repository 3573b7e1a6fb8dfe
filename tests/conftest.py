"""Shared pytest fixtures: small notebooks built in code (nothing is downloaded at test time)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import nbformat
import pytest

CellSpec = tuple[str, Sequence[str]] | str  # "source" or (source, tags); "md:" prefix -> markdown


def build_notebook(cells: Sequence[CellSpec]) -> nbformat.NotebookNode:
    """A notebook from (source, tags) pairs; a source starting with 'md:' becomes a markdown cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for spec in cells:
        source, tags = (spec, ()) if isinstance(spec, str) else spec
        if source.startswith("md:"):
            cell = nbformat.v4.new_markdown_cell(source[3:])
        else:
            cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


@pytest.fixture
def make_notebook(tmp_path: Path) -> Callable[..., Path]:
    """Write a notebook built from cell specs into tmp_path and return its path."""

    def _make(cells: Sequence[CellSpec], name: str = "pipeline.ipynb", folder: Path | None = None) -> Path:
        path = (folder or tmp_path) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build_notebook(cells), path)
        return path

    return _make
