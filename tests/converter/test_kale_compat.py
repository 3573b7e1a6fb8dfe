"""Kale-tagged notebooks, written in the styles Kale users write (tests/converter/kale_compat/),
compile to the steps, cells and edges Kale derives (docs/kale-compatibility.md lists the rules).

Each ``<name>.ipynb`` has a ``<name>.expected.json``: ``steps`` (step -> its code cells, 0-based),
``edges`` ([source, target, kind]: Kale's prev: edges are ``explicit``, ours from data
``inferred``), ``inputs`` (step -> name -> producer), and optionally ``imports``, ``functions``,
``parameters``, ``metrics``, ``limits``, ``pipeline`` and ``problems`` ([code, severity, cell or name]).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jupyter_kf_converter import compile_notebook

CORPUS = Path(__file__).parent / "kale_compat"
NOTEBOOKS = sorted(CORPUS.glob("*.ipynb"))


def test_the_corpus_covers_every_style() -> None:
    assert {p.stem for p in NOTEBOOKS} == {
        "skip_mid_step", "old_block_tags", "leading_shell_cells", "metrics_print_parameters",
        "aliased_mutation", "kale_metadata",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_kale_notebook_compiles_as_kale_reads_it(path: Path) -> None:
    want = json.loads(path.with_suffix(".expected.json").read_text())
    p = compile_notebook(path)
    assert p.valid, [x.message for x in p.problems if x.severity == "error"]
    assert {s.name: [c.index for c in s.code_cells] for s in p.steps} == want["steps"]
    assert [[e.source, e.target, e.kind] for e in p.edges] == want["edges"]
    assert {s.name: {i.name: i.producer for i in s.inputs} for s in p.steps if s.inputs} == want["inputs"]
    assert [c.index for c in p.imports] == want.get("imports", [])
    assert [c.index for c in p.functions] == want.get("functions", [])
    assert [x.name for x in p.parameters] == want.get("parameters", [])
    assert {m.name: m.step for m in p.metrics} == want.get("metrics", {})
    if "limits" in want:
        assert {s.name: s.resources.limits for s in p.steps} == want["limits"]
    for key, value in want.get("pipeline", {}).items():
        assert getattr(p, key) == value, key
    got = sorted([x.code, x.severity, x.cell if x.cell is not None else x.name] for x in p.problems)
    assert got == sorted(want["problems"])


def test_metrics_of_parameters_reach_the_recording_step_s_parameters() -> None:
    p = compile_notebook(CORPUS / "metrics_print_parameters.ipynb")
    assert p.step("gen").parameters == ["d1"] and p.step("gen").metrics == ["d1"]
    assert p.step("score").parameters == ["lr"] and p.step("score").metrics == ["score", "lr"]
