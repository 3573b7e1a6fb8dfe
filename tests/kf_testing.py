"""Helpers importable from any test folder (`from kf_testing import build_notebook`).

A module of its own with a unique name: `from conftest import ...` breaks in a full run, where
several folders' conftest.py files compete for the module name `conftest`.
"""

from __future__ import annotations

from collections.abc import Sequence

import nbformat

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
