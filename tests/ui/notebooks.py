"""Small notebooks for the browser tests, written into the server's root.

Same cell specs as tests/conftest.py's `build_notebook` ("source", or (source, tags); a source
starting with "md:" is a markdown cell). Not imported from there: `conftest` is a plain top-level
module name, and another test folder's conftest.py may hold it by the time tests/ui is collected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nbformat

CellSpec = tuple[str, Sequence[str]] | str


def write_notebook(path: Path, cells: Sequence[CellSpec]) -> Path:
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
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
