"""Helpers importable from any test folder (`from kf_testing import build_notebook`).

A module of its own with a unique name: `from conftest import ...` breaks in a full run, where
several folders' conftest.py files compete for the module name `conftest`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

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


REPO = Path(__file__).resolve().parents[1]


def committed_file(rel: str, repo: Path = REPO) -> bytes:
    """The committed content of ``rel`` (``git show HEAD:rel``), so tests never read what a user
    changed in their working tree (e.g. a step renamed in an example through the panel, as the
    README invites); the file itself when ``repo`` is no git checkout or the file is not tracked."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), "show", f"HEAD:{rel}"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        done = None
    if done is not None and done.returncode == 0:
        return done.stdout
    return (repo / rel).read_bytes()


def copy_examples(dest: Path, repo: Path = REPO) -> Path:
    """The committed example notebooks of ``repo`` (``examples/*.ipynb``) written to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted((repo / "examples").glob("*.ipynb")):
        (dest / path.name).write_bytes(committed_file(f"examples/{path.name}", repo))
    return dest
