"""Helpers for the converter core tests (a module, not a conftest: ``conftest`` is tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from jupyter_kf_converter import compile_notebook
from jupyter_kf_converter.ir import Pipeline, Problem


@pytest.fixture(name="compile_cells")
def compile_cells_fixture(make_notebook: Callable[..., Path]) -> Callable[..., Pipeline]:
    """``compile_cells(cells, name=...)``: write a notebook from cell specs (see tests/conftest.py)
    and compile it from its path. Import this module's ``compile_cells_fixture`` to use it."""

    def _compile(cells: Sequence, name: str = "pipeline.ipynb") -> Pipeline:
        return compile_notebook(make_notebook(cells, name=name))

    return _compile


def problems(p: Pipeline, code: str) -> list[Problem]:
    return [x for x in p.problems if x.code == code]


def inputs(p: Pipeline, step: str) -> dict[str, tuple[str, str]]:
    """name -> (producer, kind) for one step."""
    return {i.name: (i.producer, i.kind) for i in p.step(step).inputs}
