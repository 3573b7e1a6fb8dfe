"""Emitted step notebooks run with stock papermill and a real kernel, one fresh kernel per step.

THE end-to-end check: a 3-step notebook's steps, run in sequence, end with the same values as the
original notebook run top to bottom (both with the same overridden parameter).
"""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest

from jupyter_kf_converter import compile_notebook, runtime
from jupyter_kf_converter.emit import emit_steps

from kf_testing import build_notebook

# Names whose final values must agree (callables are checked through what they computed).
COMPARED = ["count", "arr", "frame", "config", "total", "shifted", "result", "accuracy"]

CELLS = [
    ("import numpy as np\nimport pandas as pd", ["imports"]),
    ("n = 5\nscale = 2.0", ["pipeline-parameters"]),
    ("def double(x):\n    return 2 * x", ["functions"]),
    (
        "count = n + 1\n"
        "arr = np.arange(n) * scale\n"
        'frame = pd.DataFrame({"a": arr, "b": [f"r{i}" for i in range(n)]},\n'
        '                     index=pd.Index(range(10, 10 + n), name="idx"))\n'
        'config = {"k": [1, 2], "name": "demo"}\n'
        "def shift(v):\n"
        "    return v + count",
        ["step:prepare"],
    ),
    "md:## Training\nMutates the frame and the array it got from `prepare`.",
    (
        "import math\n"
        'frame["c"] = double(frame["a"]) * count\n'
        'total = float(frame["c"].sum())\n'
        "shifted = shift(arr)",
        ["step:train", "prev:prepare"],
    ),
    "arr += 1",
    (
        'result = {"total": total, "shifted": shifted.tolist(), "config": config,\n'
        '          "root": math.sqrt(total), "last": float(arr[-1]), "rows": len(frame),\n'
        '          "c_sum": float(frame["c"].sum())}\n'
        "accuracy = total / (total + count)",
        ["step:evaluate"],
    ),
    ("accuracy", ["pipeline-metrics"]),
]


def dump_cell(path: Path) -> nbformat.NotebookNode:
    """A cell that pickles the compared names this kernel holds (arrays as plain arrays)."""
    return nbformat.v4.new_code_cell(
        "import pickle as _pickle\n"
        f"_names = {COMPARED!r}\n"
        "_vals = {k: (np.array(v) if isinstance(v, np.ndarray) else v)\n"
        "         for k, v in globals().items() if k in _names}\n"
        f"with open({str(path)!r}, 'wb') as _f:\n"
        "    _pickle.dump(_vals, _f)"
    )


def run(nb_path: Path, out_path: Path, workdir: Path, **parameters: object) -> nbformat.NotebookNode:
    return papermill.execute_notebook(
        str(nb_path),
        str(out_path),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(workdir),
        progress_bar=False,
        shutdown_kernel="immediate",  # avoids papermill's occasional 3 s teardown stall
    )


def assert_same(name: str, got: object, want: object) -> None:
    if isinstance(want, pd.DataFrame):
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
    elif isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    else:
        assert type(got) is type(want) and got == want, (name, got, want)


def test_steps_in_sequence_end_with_the_values_of_the_original(tmp_path: Path) -> None:
    nb = build_notebook(CELLS)
    pipeline = compile_notebook(nb, notebook_path=str(tmp_path / "demo.ipynb"))
    assert pipeline.valid, pipeline.problems
    paths = emit_steps(pipeline, tmp_path / "steps")
    assert list(paths) == ["prepare", "train", "evaluate"]

    # The original, top to bottom (its pipeline-parameters cell is papermill's parameters cell).
    original = copy.deepcopy(nb)
    original.cells[1].metadata["tags"].append("parameters")
    original.cells.append(dump_cell(tmp_path / "original.pkl"))
    nbformat.write(original, tmp_path / "original.ipynb")
    (tmp_path / "orig-work").mkdir()
    run(tmp_path / "original.ipynb", tmp_path / "original.out.ipynb", tmp_path / "orig-work", n=4)

    # The steps, in sequence, in one shared working folder, with values passed through files.
    work = tmp_path / "work"
    work.mkdir()
    values_dir = work / "kf-values"
    merged: dict[str, object] = {}
    for step, path in paths.items():
        step_nb = nbformat.read(path, as_version=4)
        step_nb.cells.append(dump_cell(tmp_path / f"{step}.pkl"))
        nbformat.write(step_nb, path)
        # Relative values dir for the first steps, absolute for the last: both must work.
        where = str(values_dir) if step == "evaluate" else "kf-values"
        run(path, tmp_path / f"{step}.out.ipynb", work, n=4, _kf_values_dir=where)
        merged.update(pickle.loads((tmp_path / f"{step}.pkl").read_bytes()))

    want = pickle.loads((tmp_path / "original.pkl").read_bytes())
    assert sorted(want) == sorted(COMPARED) and sorted(merged) == sorted(COMPARED)
    for name in COMPARED:
        assert_same(name, merged[name], want[name])
    assert want["count"] == 5 and len(want["arr"]) == 4  # the override reached both runs

    formats = {n: e["format"] for n, e in runtime.read_manifest(values_dir, "prepare").items()}
    assert formats == {"count": "pickle", "arr": "npy", "frame": "parquet", "config": "pickle", "shift": "pickle"}
    assert runtime.read_manifest(values_dir, "evaluate") == {}
    assert runtime.read_metrics(values_dir, "evaluate") == {"accuracy": want["accuracy"]}

    # Run again, the same values hash the same (cache keys of consumers stay valid), the function
    # `shift` defined in a kernel cell included.
    run(paths["prepare"], tmp_path / "again.out.ipynb", work, n=4, _kf_values_dir="kf-values-again")
    assert runtime.read_manifest(work / "kf-values-again", "prepare") == runtime.read_manifest(values_dir, "prepare")

    executed = nbformat.read(tmp_path / "evaluate.out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert f"metric accuracy = {want['accuracy']}" in printed


def test_failing_step_keeps_executed_notebook_with_traceback_and_source_cell(tmp_path: Path) -> None:
    nb = build_notebook(
        [
            ("x = 1", ["step:first"]),
            "md:notes",
            "y = x + 1",
            "z = y / 0  # fails here",
            "never = True",
        ]
    )
    path = emit_steps(compile_notebook(nb), tmp_path / "steps")["first"]
    out = tmp_path / "first.out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError) as err:
        run(path, out, tmp_path, _kf_values_dir="kf-values")
    assert err.value.ename == "ZeroDivisionError"

    executed = nbformat.read(out, as_version=4)
    failed = [c for c in executed.cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert len(failed) == 1
    assert failed[0].metadata["jupyter_kf"]["source_cell"] == 3
    assert "ZeroDivisionError" in json.dumps(failed[0].outputs)
    assert not (tmp_path / "kf-values/first/manifest.json").exists()  # the step did not finish


def test_unpicklable_output_fails_the_producing_step(tmp_path: Path) -> None:
    nb = build_notebook(
        [
            ("import sqlite3\nconn = sqlite3.connect(':memory:')", ["step:load"]),
            ("rows = conn.execute('select 1').fetchall()", ["step:train"]),
        ]
    )
    path = emit_steps(compile_notebook(nb), tmp_path / "steps")["load"]
    with pytest.raises(papermill.PapermillExecutionError) as err:
        run(path, tmp_path / "load.out.ipynb", tmp_path, _kf_values_dir="kf-values")
    assert err.value.ename == "UnpicklableValueError"
    assert "cannot pass 'conn' (sqlite3.Connection) from step 'load' to step 'train'" in err.value.evalue
    assert not (tmp_path / "kf-values/load/manifest.json").exists()


def test_an_output_assigned_only_under_a_condition_is_a_clear_error(tmp_path: Path) -> None:
    nb = build_notebook(
        [
            ("use_x = False", ["pipeline-parameters"]),
            ("if use_x:\n    x = 1\ny = 2", ["step:prep"]),
            ("print(x + y)", ["step:train"]),
            ("print(x)", ["step:report"]),
        ]
    )
    path = emit_steps(compile_notebook(nb), tmp_path / "steps")["prep"]
    with pytest.raises(papermill.PapermillExecutionError) as err:
        run(path, tmp_path / "prep.out.ipynb", tmp_path, _kf_values_dir="kf-values")
    assert err.value.ename == "MissingOutputError"
    assert err.value.evalue == (
        "step 'prep' did not define 'x', which steps 'train', 'report' need "
        "(is it only assigned under a condition?)"
    )
    assert not (tmp_path / "kf-values/prep/manifest.json").exists()
    run(path, tmp_path / "prep.out.ipynb", tmp_path, _kf_values_dir="kf-values", use_x=True)
    assert set(runtime.read_manifest(tmp_path / "kf-values", "prep")) == {"x", "y"}
