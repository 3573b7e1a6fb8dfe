"""Tags and blocks: Kale's vocabulary, our extensions, untagged and documentation cells."""

from __future__ import annotations

import json

import pytest
from kf_testing import build_notebook
from core_helpers import compile_cells_fixture, inputs, problems  # noqa: F401 (fixture)
from jupyter_kf_converter import ConverterError, compile_notebook
from jupyter_kf_converter.tags import parse_tags


def test_kale_vocabulary_and_extensions(compile_cells):
    p = compile_cells([
        ("import os", ["imports"]),
        ("def f():\n    return 1", ["functions"]),
        ("n = 3", ["pipeline-parameters"]),
        ("a = f() + n", ["block:first", "limit:memory:2Gi", "limit:nvidia.com/gpu:1", "image:repo/img:1.0",
                          "cache:disabled", "timeout:90", "retries:2"]),
        ("print('ignored')", ["skip"]),
        ("b = a * 2", ["step:second", "prev:first", "timeout:2m", "cache:enabled"]),
        ("print(b)", ["pipeline-metrics"]),
    ])
    assert p.valid, p.problems
    assert [s.name for s in p.steps] == ["first", "second"]
    first, second = p.steps
    assert first.resources.limits == {"memory": "2Gi", "nvidia.com/gpu": "1"}
    assert (first.image, first.cache, first.timeout, first.retries) == ("repo/img:1.0", False, 90.0, 2)
    assert (second.image, second.cache, second.timeout, second.retries) == (None, True, 120.0, 0)
    assert [c.index for c in p.imports] == [0] and [c.index for c in p.functions] == [1]
    assert [(q.name, q.type, q.default) for q in p.parameters] == [("n", "int", 3)]
    assert [(m.name, m.step) for m in p.metrics] == [("b", "second")] and second.metrics == ["b"]
    # the skipped cell is in no step
    assert all(c.index != 4 for s in p.steps for c in s.cells)
    [edge] = p.edges
    assert (edge.source, edge.target, edge.kind, edge.names) == ("first", "second", "explicit", ["a"])


def test_untagged_cells_continue_the_block_above(compile_cells):
    p = compile_cells([
        ("import os", ["imports"]),
        "import sys",
        ("x = 1", ["step:a"]),
        "y = x + 1",
        ("print('skipped')", ["skip"]),
        "z = y * 2",  # Kale: continues the block open before the skip, step a
        ("print(y, z)", ["step:b"]),
    ])
    assert [c.index for c in p.imports] == [0, 1]
    assert [c.index for c in p.step("a").cells] == [2, 3, 5]
    assert [c.index for c in p.step("b").cells] == [6]
    assert inputs(p, "b") == {"y": ("a", "value"), "z": ("a", "value")}


def test_contiguous_cells_with_the_same_step_tag_form_one_step(compile_cells):
    p = compile_cells([
        ("x = 1", ["step:a"]),
        ("x += 1", ["step:a"]),
        ("print('debug')", ["skip"]),
        ("y = x", ["step:a"]),
        ("print(y)", ["step:b"]),
        ("z = y", ["step:B"]),  # the same Kubernetes name: still step b
    ])
    assert p.valid, p.problems
    assert [s.name for s in p.steps] == ["a", "b"]
    assert [c.index for c in p.step("a").cells] == [0, 1, 3]
    assert [c.index for c in p.step("b").cells] == [4, 5]


def test_no_tags_is_one_step_named_after_the_notebook(compile_cells):
    p = compile_cells(["md:# Title", "import math", "x = math.pi", "print(x)"], name="My Analysis_v2.ipynb")
    assert p.valid, p.problems
    assert p.name == "my-analysis-v2"
    [step] = p.steps
    assert step.name == "my-analysis-v2"
    assert [c.index for c in step.cells] == [0, 1, 2, 3]
    assert step.cells[0].cell_type == "markdown"
    assert p.imports == [] and p.edges == []
    assert p.description == "Title"


def test_untagged_cells_before_the_first_tag(compile_cells):
    p = compile_cells([
        "import json\n%matplotlib inline",
        "def helper():\n    return 1",
        ("import os", ["imports"]),
        ("a = helper()", ["step:a"]),
    ])
    assert p.valid, p.problems
    assert [c.index for c in p.imports] == [0, 2]
    assert [c.index for c in p.functions] == [1]
    assert [s.name for s in p.steps] == ["a"]

    # anything else is left out, as Kale leaves it out, with a warning that says how to include it
    p = compile_cells([
        "import json",
        "raw = json.loads('[1, 2]')",
        "!wget -q https://example.com/data.csv",
        ("total = sum([1, 2])", ["step:sum"]),
    ])
    assert [s.name for s in p.steps] == ["sum"] and [c.index for c in p.imports] == [0]
    [warn] = problems(p, "untagged-cells-left-out")
    assert warn.severity == "warning" and warn.cell == 1 and p.valid
    assert "cells 2, 3" in warn.message and "step:<name>" in warn.message and "imports" in warn.message

    # a step that reads what a left-out cell defines is told where it is
    p = compile_cells(["raw = [1, 2]", ("total = sum(raw)", ["step:sum"])])
    [err] = problems(p, "undefined-name")
    assert "left out" in err.message and "cell 1" in err.message


def test_markdown_is_carried_as_documentation_in_the_step_it_sits_in(compile_cells):
    p = compile_cells([
        "md:# Pipeline",
        ("import os", ["imports"]),
        "md:## Load",
        ("x = 1", ["step:load"]),
        "md:Notes about load",
        ("y = x", ["step:use"]),
        "md:The end",
    ])
    load, use = p.steps
    assert [(c.index, c.cell_type) for c in load.cells] == [(0, "markdown"), (2, "markdown"), (3, "code"),
                                                            (4, "markdown")]
    assert [(c.index, c.cell_type) for c in use.cells] == [(5, "code"), (6, "markdown")]
    assert [c.index for c in use.code_cells] == [5]


def test_unknown_and_malformed_tags_are_located_problems(compile_cells):
    p = compile_cells([
        ("x = 1", ["step:a", "limit:memory", "cache:maybe", "hide-input"]),
        ("y = 2", ["step:", "retries:-1", "timeout:soon", "image:"]),
    ])
    found = {(q.cell, q.name, q.severity) for q in p.problems if q.code in ("invalid-tag", "unknown-tag")}
    assert found == {
        (0, "limit:memory", "error"), (0, "cache:maybe", "error"), (0, "hide-input", "warning"),
        (1, "retries:-1", "error"), (1, "timeout:soon", "error"), (1, "image:", "error"),
    }
    limit = next(q for q in p.problems if q.name == "limit:memory")
    assert limit.step == "a" and "limit:<resource>:<value>" in limit.message
    assert not p.valid


def test_two_role_tags_on_one_cell(compile_cells):
    p = compile_cells([("import os", ["imports", "step:a"])])
    [err] = problems(p, "conflicting-tags")
    assert err.cell == 0 and "imports, step:a" in err.message


def test_step_options_on_a_non_step_cell_are_warned(compile_cells):
    p = compile_cells([("import os", ["imports", "limit:cpu:1"]), ("x = 1", ["step:a"])])
    [warn] = problems(p, "misplaced-tag")
    assert warn.severity == "warning" and warn.cell == 0 and warn.name == "limit:cpu:1"
    assert p.valid


def test_parse_tags_units():
    t = parse_tags(["step:train", "prev:load", "prev:clean", "limit:cpu:500m", "timeout:1.5h", "retries:0"])
    assert (t.role, t.step, t.prev, t.limits, t.timeout, t.retries) == (
        "step", "train", ["load", "clean"], {"cpu": "500m"}, 5400.0, 0)
    assert parse_tags(["limit:memory:lots"]).problems[0].code == "invalid-tag"
    assert parse_tags(["pipeline-metrics"]).role == "metrics"
    assert parse_tags([]).role is None


def test_notebook_metadata_name_and_image():
    nb = build_notebook([("x = 1", ["step:a"])])
    nb.metadata["jupyter_kf"] = {"name": "custom-name", "image": "reg/img:2"}
    p = compile_notebook(nb, notebook_path="whatever.ipynb")
    assert (p.name, p.image, p.notebook) == ("custom-name", "reg/img:2", "whatever.ipynb")

    nb.metadata["jupyter_kf"] = {"name": "Bad Name!"}
    p = compile_notebook(nb, notebook_path="whatever.ipynb")
    assert p.name == "whatever"
    [err] = problems(p, "invalid-pipeline-name")
    assert "Bad Name!" in err.message


def test_dict_and_notebooknode_sources_give_the_same_pipeline(make_notebook):
    path = make_notebook([("x = 1", ["step:a"]), ("print(x)", ["step:b"])])
    from_path = compile_notebook(path)
    as_dict = json.loads(path.read_text())
    assert compile_notebook(as_dict, notebook_path=path) == from_path
    import nbformat

    assert compile_notebook(nbformat.read(path, as_version=4), notebook_path=path) == from_path


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "no such file"), ("{not json", "not valid JSON"), ('{"cells": 3}', "no 'cells' list"),
     ("[1, 2]", "not an object")],
)
def test_unreadable_notebooks_raise_converter_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "broken.ipynb"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConverterError) as info:
        compile_notebook(path)
    assert str(path) in str(info.value) and reason in str(info.value)


def test_odd_notebook_json_never_raises(tmp_path):
    nb = {
        "nbformat": 4, "nbformat_minor": 5, "metadata": [],
        "cells": [
            {"cell_type": "code", "source": None, "metadata": "not a dict"},
            {"cell_type": "code", "source": ["x = 1\n", "y = 2"], "metadata": {"tags": "step:a"}},
            {"cell_type": "code", "source": "z = \x00", "metadata": {"tags": ["step:b", 5]}},
            {"cell_type": "code", "source": "(" * 500 + ")" * 500, "metadata": {}},
            {"cell_type": "markdown", "source": 42, "metadata": {}},
        ],
    }
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(nb))
    p = compile_notebook(path)
    assert [s.name for s in p.steps] == ["a", "b"]
    assert p.step("a").defines == ["x", "y"]
    assert {q.code for q in p.problems} == {"syntax-error", "invalid-tag"}
    assert {q.cell for q in p.problems if q.code == "syntax-error"} == {2, 3}


def test_papermill_parameters_tag_gets_a_hint(compile_cells):
    p = compile_cells([("n = 1", ["parameters"]), ("x = n", ["step:a"])])
    warn = problems(p, "unknown-tag")[0]
    assert "pipeline-parameters" in warn.message and warn.severity == "warning"


def test_comment_only_cell_before_the_first_tag_is_kept(compile_cells):
    p = compile_cells(["# just a comment", ("x = 1", ["step:a"])])
    assert [c.index for c in p.step("a").cells] == [0, 1]


def test_a_kale_style_notebook(compile_cells):
    """Kale's own conventions (block:, prev:, skip, limit:, metrics via print) compile unchanged."""
    p = compile_cells([
        "md:# Titanic\nPredict survival.",
        ("import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
         ["imports"]),
        ("C = 1.0\nmax_iter = 100", ["pipeline-parameters"]),
        ("def clean(frame):\n    return frame.fillna(0)", ["functions"]),
        ("train_df = pd.DataFrame({'age': [22, np.nan, 38], 'survived': [0, 1, 1]})", ["block:loaddata"]),
        ("train_df.head()", ["skip"]),
        ("train_df = clean(train_df)\nX = train_df[['age']]\ny = train_df['survived']",
         ["block:datapreprocessing", "prev:loaddata"]),
        ("lr = LogisticRegression(C=C, max_iter=max_iter)\nlr.fit(X, y)\nacc_lr = lr.score(X, y)",
         ["block:logisticregression", "prev:datapreprocessing", "limit:nvidia.com/gpu:1"]),
        ("print(acc_lr)", ["pipeline-metrics"]),
    ], name="titanic_ml.ipynb")
    assert p.valid, p.problems
    assert p.name == "titanic-ml" and p.description == "Titanic"
    assert [s.name for s in p.steps] == ["loaddata", "datapreprocessing", "logisticregression"]
    assert [(e.source, e.target, e.kind, e.names) for e in p.edges] == [
        ("loaddata", "datapreprocessing", "explicit", ["train_df"]),
        ("datapreprocessing", "logisticregression", "explicit", ["X", "y"]),
    ]
    lr = p.step("logisticregression")
    assert lr.parameters == ["C", "max_iter"] and lr.metrics == ["acc_lr"]
    assert lr.resources.limits == {"nvidia.com/gpu": "1"}
    assert p.step("datapreprocessing").outputs == ["X", "y"]


def test_nbformat_3_notebooks_are_upgraded(tmp_path):
    import nbformat
    from nbformat import v3

    cells = [v3.new_code_cell(input="x = 1", metadata={"tags": ["step:a"]}),
             v3.new_code_cell(input="print(x)", metadata={"tags": ["step:b"]})]
    path = tmp_path / "old.ipynb"
    path.write_text(nbformat.writes(v3.new_notebook(worksheets=[v3.new_worksheet(cells=cells)]), version=3))
    p = compile_notebook(path)
    assert p.valid and [s.name for s in p.steps] == ["a", "b"]
    assert [(i.name, i.producer) for i in p.step("b").inputs] == [("x", "a")]
