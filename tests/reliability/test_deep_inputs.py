"""Item 4: deep inputs get 4xx, never 500; a 5,000-step chain compiles (CLI and REST)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_kf_converter.pipeline_cells import find_cycles

POSTS = ["compile", "runs", "snapshots", "runs/20260101-000000-abcd/retry"]
KF = str(Path(sys.executable).with_name("jupyter-kf"))


def chain(n: int) -> nbformat.NotebookNode:
    """``n`` steps, each using the value the step before it defined."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i in range(n):
        cell = nbformat.v4.new_code_cell(f"x{i} = x{i - 1} + 1" if i else "x0 = 0")
        cell.metadata["tags"] = [f"step:s{i}"]
        nb.cells.append(cell)
    return nb


def nested(depth: int, leaf: str = "1") -> str:
    return '{"a": ' * depth + leaf + "}" * depth


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    "raw",
    [
        '{"notebook": "p.ipynb", "parameters": ' + nested(5000) + "}",  # past the decoder's own limit
        "[" * 5000 + "]" * 5000,
        '{"notebook": "p.ipynb", "parameters": {"x": ' + "[" * 200 + "]" * 200 + "}}",  # past ours only
    ],
    ids=["objects-5000", "lists-5000", "lists-200"],
)
async def test_deeply_nested_bodies_are_400(api, path, raw):
    status, body = await api("POST", path, raw=raw)
    assert status == 400, (status, body)
    assert "nested" in body["message"]


async def test_a_body_over_the_size_limit_is_413(api, monkeypatch):
    from jupyter_kf.handlers import base

    monkeypatch.setattr(base, "MAX_BODY_BYTES", 1000)  # the server runs in this process
    status, body = await api("POST", "compile", {"content": {"cells": [], "pad": "x" * 2000}})
    assert status == 413, body
    assert "at most 1,000" in body["message"]


def test_a_5000_step_cycle_is_found_once():
    names = [f"s{i}" for i in range(5000)]
    edges = list(zip(names, names[1:])) + [(names[-1], names[0])]
    cycles = find_cycles(edges, {n: i for i, n in enumerate(names)})
    assert cycles == [[*names, names[0]]]


def test_cli_compiles_a_5000_step_chain(tmp_path):
    nb = tmp_path / "chain.ipynb"
    nbformat.write(chain(5000), nb)
    out = tmp_path / "chain.json"
    proc = subprocess.run([KF, "compile", str(nb), "-o", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    ir = json.loads(out.read_text())
    assert len(ir["steps"]) == 5000
    assert ir["steps"][-1]["depends_on"] == ["s4998"]


async def test_rest_compiles_a_5000_step_chain(api, root):
    nbformat.write(chain(5000), root / "chain.ipynb")
    status, body = await api("POST", "compile", {"notebook": "chain.ipynb"}, timeout=120)
    assert status == 200, body if status != 200 else None
    assert body["valid"] and len(body["pipeline"]["steps"]) == 5000
    assert len(body["graph"]["nodes"]) == 5000
