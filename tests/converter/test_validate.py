"""Validation: one test per error, each checking where it is located and what the message says."""

from __future__ import annotations

from core_helpers import compile_cells_fixture, problems  # noqa: F401 (fixture)
from jupyter_kf_converter.plan import format_problem


def only(p, code):
    found = problems(p, code)
    assert len(found) == 1, p.problems
    assert not p.valid
    return found[0]


def test_every_problem_is_reported_at_once(compile_cells):
    p = compile_cells([
        ("x = 1", ["step:a"]),
        ("y = missing", ["step:a_b"]),
        ("w = 0", ["step:c"]),
        ("z = 1", ["step:a-b", "prev:nowhere"]),
        ("print(q)", ["pipeline-metrics"]),
    ])
    assert {q.code for q in p.problems} >= {"undefined-name", "duplicate-step", "prev-unknown", "metric-undefined"}


def test_duplicate_step_names(compile_cells):
    p = compile_cells([
        ("x = 1", ["step:train"]),
        ("y = 2", ["step:eval"]),
        ("z = 3", ["step:train"]),
    ])
    err = only(p, "duplicate-step")
    assert (err.cell, err.name) == (2, "train")
    assert "defined twice" in err.message and "cell 1" in err.message
    assert len({s.name for s in p.steps}) == 3  # the IR keeps unique stand-in names


def test_names_that_map_to_the_same_kubernetes_name_are_duplicates(compile_cells):
    p = compile_cells([("x = 1", ["step:load_data"]), ("w = 0", ["step:other"]), ("y = 2", ["step:load-data"])])
    err = only(p, "duplicate-step")
    assert "'load-data' and 'load_data' both map to 'load-data'" in err.message


def test_invalid_step_names_say_what_the_valid_form_is(compile_cells):
    p = compile_cells([("x = 1", ["step:Train_Model"]), ("y = 2", ["step:-bad!"]), ("z = 3", ["step:" + "a" * 70])])
    assert p.steps[0].name == "train-model"  # a valid mapping is not an error
    errs = problems(p, "invalid-step-name")
    assert [e.cell for e in errs] == [1, 2]
    assert "'-bad!' is not a valid Kubernetes name" in errs[0].message
    assert "1-63 characters of a-z, 0-9 and '-'" in errs[0].message and "'bad'" in errs[0].message


def test_prev_to_an_unknown_step(compile_cells):
    p = compile_cells([("x = 1", ["step:a"]), ("y = 2", ["step:b", "prev:c"])])
    err = only(p, "prev-unknown")
    assert (err.cell, err.step, err.name) == (1, "b", "c")
    assert "prev:c names no step; the steps are: a, b" == err.message


def test_prev_to_a_later_step(compile_cells):
    p = compile_cells([("x = 1", ["step:a", "prev:b"]), ("y = 2", ["step:b"])])
    err = only(p, "prev-later")
    assert (err.cell, err.step, err.name) == (0, "a", "b")
    assert "comes later in the notebook (cell 2)" in err.message


def test_cycles(compile_cells):
    p = compile_cells([("x = 1", ["step:a", "prev:c"]), ("y = x", ["step:b"]), ("z = y", ["step:c"])])
    err = only(p, "cycle")
    assert err.cell == 0 and err.step == "a"
    assert "a -> b -> c -> a" in err.message
    assert problems(p, "prev-later")  # the later prev: is reported too

    p = compile_cells([("x = 1", ["step:a", "prev:a"])])
    err = only(p, "cycle")
    assert "lists itself" in err.message


def test_undefined_name_with_cell_and_line(compile_cells):
    p = compile_cells([
        ("import pandas as pd", ["imports"]),
        ("df = pd.DataFrame()", ["step:load"]),
        ("x = 1\ny = 2\nmodel = df2.fit()", ["step:train"]),
    ])
    err = only(p, "undefined-name")
    assert (err.cell, err.line, err.step, err.name) == (2, 3, "train", "df2")
    assert format_problem(err, "notebook.ipynb") == (
        "notebook.ipynb: cell 3, line 3 (step train): error: name 'df2' is not defined by any earlier step, "
        "import or parameter")


def test_undefined_name_hints_at_later_and_skipped_definitions(compile_cells):
    p = compile_cells([
        ("print(late)", ["step:a"]),
        ("late = 1", ["step:b"]),
        ("gone = 1", ["skip"]),
        ("print(gone)", ["step:c"]),
    ])
    late, gone = problems(p, "undefined-name")
    assert "step 'b' defines it later, at cell 2" in late.message
    assert "only a skipped cell defines it, cell 3" in gone.message


def test_parameters_cell_must_be_simple_literal_assignments(compile_cells):
    p = compile_cells([
        ("a = 1\nb = [1, 'x', None]\nc = {'k': 2.5}\nd: bool = True\n"
         + "e = compute()\nf, g = 1, 2\nprint(a)\nh = (1, 2)", ["pipeline-parameters"]),
        ("x = a", ["step:s"]),
    ])
    errs = problems(p, "invalid-parameters")
    assert [(e.cell, e.line) for e in errs] == [(0, 5), (0, 6), (0, 7), (0, 8)]
    assert errs[0].name == "e" and "must be a literal value, not compute()" in errs[0].message
    assert "found: print(a)" in errs[2].message
    assert "tuple" in errs[3].message
    assert [(q.name, q.type, q.default) for q in p.parameters] == [
        ("a", "int", 1), ("b", "list", [1, "x", None]), ("c", "dict", {"k": 2.5}), ("d", "bool", True)]


def test_metrics_that_do_not_exist(compile_cells):
    p = compile_cells([
        ("rate = 0.1", ["pipeline-parameters"]),
        ("acc = 0.9", ["step:train"]),
        ("print(acc)\nprint(loss)\nrate", ["pipeline-metrics"]),
    ])
    errs = problems(p, "metric-undefined")
    assert [(e.cell, e.line, e.name) for e in errs] == [(2, 2, "loss")]
    assert "no step defines it before the pipeline-metrics cell" in errs[0].message
    # a parameter printed as a metric is allowed (Kale): recorded by the last step, which gets its value
    assert [(m.name, m.step) for m in p.metrics] == [("acc", "train"), ("rate", "train")]
    assert p.step("train").parameters == ["rate"]


def test_metrics_cell_must_list_names(compile_cells):
    p = compile_cells([("acc = 0.9", ["step:train"]), ("print(f'{acc}')", ["pipeline-metrics"])])
    err = only(p, "invalid-metrics")
    assert (err.cell, err.line) == (1, 1) and "print(accuracy)" in err.message


def test_metric_is_attributed_to_the_nearest_earlier_definer(compile_cells):
    p = compile_cells([
        ("score = 1", ["step:a"]),
        ("score = score + 1", ["step:b"]),
        ("score", ["pipeline-metrics"]),
        ("score = 100", ["step:c"]),
    ])
    assert p.valid, p.problems
    assert [(m.name, m.step) for m in p.metrics] == [("score", "b")]
    assert p.step("b").metrics == ["score"] and p.step("c").metrics == []


def test_syntax_error_is_located(compile_cells):
    p = compile_cells([("x = 1\ny = (", ["step:a"])])
    err = only(p, "syntax-error")
    assert (err.cell, err.step) == (0, "a") and err.line == 2


def test_notebook_without_steps(compile_cells):
    p = compile_cells([("import os", ["imports"])])
    err = only(p, "no-steps")
    assert "tag a code cell with step:<name>" in err.message


def test_functions_cell_cannot_read_step_data_at_top_level(compile_cells):
    p = compile_cells([("copy = frame", ["functions"]), ("frame = 1", ["step:a"])])
    err = only(p, "undefined-name")
    assert err.cell == 0 and "run before a step's inputs are loaded" in err.message


def test_assigning_a_parameter_in_a_step_is_warned(compile_cells):
    p = compile_cells([("lr = 0.1", ["pipeline-parameters"]), ("lr = lr * 2", ["step:a"]), ("print(lr)", ["step:b"])])
    assert p.valid
    [warn] = problems(p, "parameter-rebound")
    assert (warn.cell, warn.step, warn.severity) == (1, "a", "warning")
    assert p.step("a").parameters == ["lr"]
    assert [(i.name, i.producer) for i in p.step("b").inputs] == [("lr", "a")]
