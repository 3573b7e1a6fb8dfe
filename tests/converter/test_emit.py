"""Layout of emitted step notebooks (no kernel: see test_emit_papermill.py for running them)."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill
import pytest

from jupyter_kf_converter.emit import emit_step, emit_steps
from jupyter_kf_converter.ir import Cell, Input, KernelSpec, Metric, Parameter, Pipeline, Problem, Step


def small_pipeline() -> Pipeline:
    return Pipeline(
        name="small",
        notebook="small.ipynb",
        kernel=KernelSpec(name="py-ml", display_name="ML", language="python"),
        imports=[Cell(index=0, source="import os", tags=["imports"])],
        functions=[Cell(index=2, source="def f(v):\n    return v", tags=["functions"])],
        parameters=[
            Parameter(name="rate", type="float", default=0.5, cell=1),
            Parameter(name="label", type="str", default="it's", cell=1),
            Parameter(name="flags", type="dict", default={"a": True, "b": None}, cell=1),
        ],
        metrics=[Metric(name="score", step="b", cell=9)],
        steps=[
            Step(
                name="a",
                cells=[
                    Cell(index=3, source="import json as js\nx = f(rate)", tags=["step:a", "parameters"]),
                    Cell(index=4, cell_type="markdown", source="# About x"),
                    Cell(index=5, cell_type="raw", source="raw text"),
                    Cell(index=6, source="%time données = [x]"),
                ],
                outputs=["x", "données"],
                parameters=["rate"],
            ),
            Step(
                name="b",
                cells=[Cell(index=7, source="score = js.dumps(x) + label + str(données)", tags=["step:b"])],
                inputs=[
                    Input(name="x", producer="a"),
                    Input(name="données", producer="a"),
                    Input(name="js", producer="a", kind="import", statement="import json as js"),
                ],
                parameters=["label", "flags"],
                metrics=["score"],
                depends_on=["a"],
            ),
            Step(
                name="c",
                cells=[Cell(index=8, source="print(x)")],
                inputs=[Input(name="x", producer="a")],
                depends_on=["a"],
            ),
        ],
    )


def roles(nb: nbformat.NotebookNode) -> list[str]:
    return [c.metadata["jupyter_kf"]["role"] for c in nb.cells]


def test_layout_order_metadata_and_validity() -> None:
    nb = emit_step(small_pipeline(), "a")
    nbformat.validate(nb)
    assert roles(nb) == ["parameters", "imports", "functions", "load", "step", "step", "step", "step", "save"]
    assert nb.metadata["kernelspec"] == {"name": "py-ml", "display_name": "ML", "language": "python"}
    assert nb.metadata["jupyter_kf"] == {"pipeline": "small", "step": "a"}
    copied = [c for c in nb.cells if "source_cell" in c.metadata["jupyter_kf"]]
    assert [c.metadata["jupyter_kf"]["source_cell"] for c in copied] == [0, 2, 3, 4, 5, 6]
    assert [c.cell_type for c in nb.cells[4:8]] == ["code", "markdown", "raw", "code"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_only_the_generated_cell_is_tagged_parameters() -> None:
    nb = emit_step(small_pipeline(), "a")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [nb.cells[0]]
    assert nb.cells[4].metadata["tags"] == ["step:a"]  # other tags are kept


def test_parameters_cell_is_what_papermill_reads(tmp_path: Path) -> None:
    path = emit_steps(small_pipeline(), tmp_path)["b"]
    found = papermill.inspect_notebook(str(path))
    assert {k: v["default"] for k, v in found.items()} == {
        "label": '"it\'s"',
        "flags": "{'a': True, 'b': None}",
        "_kf_values_dir": '"kf-values"',
    }
    namespace: dict = {}
    exec(nbformat.read(path, as_version=4).cells[0].source, namespace)
    assert namespace["label"] == "it's" and namespace["flags"] == {"a": True, "b": None}


def test_load_and_save_code_is_short_and_imports_only_the_runtime() -> None:
    pipeline = small_pipeline()
    a, b = emit_step(pipeline, "a"), emit_step(pipeline, "b")
    load_b = b.cells[roles(b).index("load")].source
    assert load_b.splitlines() == [
        "# jupyter-kf: inputs saved by earlier steps",
        "from jupyter_kf_converter.runtime import StepValues",
        '_kf = StepValues(_kf_values_dir, step="b")',
        'x = _kf.load("x", producer="a")',
        'données = _kf.load("données", producer="a")',
        'import json as js  # as in step "a"',
    ]
    save_a = a.cells[-1].source
    assert save_a.splitlines() == [
        "# jupyter-kf: save the values later steps use, and this step's metrics",
        '_kf.save_outputs(globals(), x=["b", "c"], données=["b"])',
        "_kf.finish()",
    ]
    assert b.cells[-1].source.splitlines()[1:] == ['_kf.save_metrics({"score": score})', "_kf.finish()"]
    for nb in (a, b):
        for cell in nb.cells:
            if cell.metadata["jupyter_kf"]["role"] in ("load", "save"):
                tree = ast.parse(cell.source)
                modules = {
                    n.module if isinstance(n, ast.ImportFrom) else a.name
                    for n in ast.walk(tree)
                    if isinstance(n, (ast.Import, ast.ImportFrom))
                    for a in (n.names if isinstance(n, ast.Import) else [n])
                }
                assert modules <= {"jupyter_kf_converter.runtime", "json"}  # json: the replayed import


def test_step_without_inputs_still_creates_the_runtime_handle() -> None:
    nb = emit_step(small_pipeline(), "a")
    load = nb.cells[roles(nb).index("load")].source
    assert "this step loads no values" in load and '_kf = StepValues(_kf_values_dir, step="a")' in load
    assert emit_step(small_pipeline(), "c").cells[-1].source.splitlines()[1:] == ["_kf.finish()"]


def test_emitting_is_deterministic() -> None:
    first, second = emit_step(small_pipeline(), "b"), emit_step(small_pipeline(), "b")
    assert nbformat.writes(first) == nbformat.writes(second)
    assert [c.id for c in first.cells] == ["kf-parameters", "cell-0", "cell-2", "kf-load", "cell-7", "kf-save"]


def test_emit_steps_writes_one_notebook_per_step(tmp_path: Path) -> None:
    paths = emit_steps(small_pipeline(), tmp_path / "out")
    assert paths == {s: tmp_path / "out" / f"{s}.ipynb" for s in ("a", "b", "c")}
    for step, path in paths.items():
        assert nbformat.read(path, as_version=4).metadata["jupyter_kf"]["step"] == step


def test_emit_refuses_a_pipeline_with_errors(tmp_path: Path) -> None:
    pipeline = small_pipeline()
    pipeline.problems = [
        Problem(code="undefined-name", message="cell 7, step 'b': 'y' is not defined", cell=7, step="b"),
        Problem(severity="warning", code="star-import", message="star import", cell=0),
    ]
    with pytest.raises(ValueError, match=r"1 error\(s\); not emitting:\n  - cell 7, step 'b': 'y' is not defined$"):
        emit_steps(pipeline, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_step() -> None:
    with pytest.raises(KeyError, match="has no step 'nope'"):
        emit_step(small_pipeline(), "nope")


def test_a_long_save_call_puts_one_output_per_line() -> None:
    long_names = [f"a_rather_long_output_name_{i}" for i in range(4)]
    p = small_pipeline()
    a = p.step("a").model_copy(update={"outputs": long_names})
    c = p.step("c").model_copy(update={"inputs": [Input(name=n, producer="a") for n in long_names]})
    p = p.model_copy(update={"steps": [a, p.step("b").model_copy(update={"inputs": []}), c]})
    save = emit_step(p, "a").cells[-1].source
    assert save.splitlines()[1:] == [
        "_kf.save_outputs(",
        "    globals(),",
        *(f'    {n}=["c"],' for n in long_names),
        ")",
        "_kf.finish()",
    ]
    ast.parse(save)
