"""Runs of real pipelines with real kernels: values between steps, failures, parameters."""

from __future__ import annotations

import json

import nbformat
import pytest

from jupyter_kf.executor.parameters import ParameterError
from jupyter_kf.models import RunRequest, RunStatus, StepStatus
from jupyter_kf.service import InvalidPipeline

DIAMOND = [
    ("import numpy as np\nimport pandas as pd", ["imports"]),
    ("n = 4\nscale = 2.0", ["pipeline-parameters"]),
    ("arr = np.arange(n, dtype=float) * scale\ncount = int(n)\nprint('a made', count)", ["step:a"]),
    ("frame = pd.DataFrame({'x': arr, 'y': arr * 3 + 1})", ["step:b"]),
    (
        "from sklearn.linear_model import LinearRegression\n"
        "model = LinearRegression().fit(arr.reshape(-1, 1), arr * 3 + 1)\n"
        "info = {'count': count, 'names': ['x', 'y']}",
        ["step:c"],
    ),
    (
        "pred = model.predict(frame[['x']].to_numpy())\n"
        "err = float(abs(pred - frame['y'].to_numpy()).max())\n"
        "total = count + len(info['names']) + int(frame['y'].sum())\n"
        "print('total', total)",
        ["step:d"],
    ),
    ("total\nerr", ["pipeline-metrics"]),
]


def expected_total(n: int, scale: float) -> int:
    xs = [i * scale for i in range(n)]
    return n + 2 + int(sum(3 * x + 1 for x in xs))


def test_diamond_passes_values_of_several_types(service, make_notebook, nb_dir):
    pytest.importorskip("sklearn")
    make_notebook(DIAMOND, "diamond.ipynb", nb_dir)
    seen: list[tuple[str, str]] = []

    def on_update(run):
        seen.extend((s.name, s.status.value) for s in run.steps if s.status == StepStatus.running)

    run = service.run(RunRequest(notebook="diamond.ipynb"), on_update)

    assert run.status == RunStatus.succeeded, run.error
    assert [s.status for s in run.steps] == [StepStatus.succeeded] * 4
    assert run.metrics["total"] == expected_total(4, 2.0)
    assert run.metrics["err"] < 1e-9
    assert {name for name, _ in seen} == {"a", "b", "c", "d"}  # live updates reported each start

    store = service.store_of(run.id)
    formats = {}
    for step in "abc":
        manifest = json.loads((store.values_dir(run.id, step) / "manifest.json").read_text())
        formats.update({name: entry["format"] for name, entry in manifest.items()})
    assert formats["arr"] == "npy" and formats["frame"] == "parquet"
    assert formats["model"] == "sklearn-joblib" and formats["info"] == "pickle" and formats["count"] == "pickle"

    executed = nbformat.read(service.step_notebook(run.id, "d"), as_version=4)
    outputs = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert f"total {expected_total(4, 2.0)}" in outputs
    assert "a made 4" in service.step_log(run.id, "a")
    assert (store.run_path(run.id) / "env.json").is_file()
    assert (store.run_path(run.id) / "pipeline.json").is_file()


def test_steps_of_one_level_run_concurrently(service, make_notebook, nb_dir):
    make_notebook(
        [
            ("import time", ["imports"]),
            ("start = time.time()", ["step:first"]),
            ("time.sleep(1.5)\nb = time.time()", ["step:left"]),
            ("time.sleep(1.5)\nc = time.time()", ["step:right"]),
            ("both = (b, c)", ["step:join"]),
        ],
        "par.ipynb",
        nb_dir,
    )
    run = service.run(RunRequest(notebook="par.ipynb"))
    assert run.status == RunStatus.succeeded, run.error
    left, right = run.step("left"), run.step("right")
    # Each sleeps 1.5 s; run one after the other they could not overlap.
    assert left.started_at < right.finished_at and right.started_at < left.finished_at


FAILING = [
    ("x = 1", ["step:a"]),
    ("y = x + 1", ["step:bad"]),
    ("raise ValueError('boom in bad')", []),
    ("z = y * 2", ["step:downstream"]),
    ("w = x * 10\nprint('sibling done', w)", ["step:good"]),
]


def test_failing_step_keeps_traceback_skips_dependents_and_sibling_finishes(service, make_notebook, nb_dir):
    make_notebook(FAILING, "fail.ipynb", nb_dir)
    run = service.run(RunRequest(notebook="fail.ipynb"))

    assert run.status == RunStatus.failed
    bad = run.step("bad")
    assert bad.status == StepStatus.failed
    assert bad.failed_cell == 2  # index of the untagged cell continuing step bad in the source notebook
    assert (
        "'bad'" in run.error and "at cell 3" in run.error
    )  # messages count cells from 1 and "ValueError: boom in bad" in run.error
    assert "\n" not in run.error
    assert run.step("downstream").status == StepStatus.skipped
    assert "bad" in run.step("downstream").error
    assert run.step("good").status == StepStatus.succeeded
    assert "sibling done 10" in service.step_log(run.id, "good")

    executed = nbformat.read(service.step_notebook(run.id, "bad"), as_version=4)
    errors = [
        o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors and errors[0].ename == "ValueError"
    assert any("boom in bad" in line for line in errors[0].traceback)

    # the log alone says why: the cell (counted from 1), the exception and its traceback
    log = service.step_log(run.id, "bad")
    assert "step 'bad' failed at cell 3: ValueError: boom in bad" in log
    assert "Traceback (most recent call last)" in log
    assert "raise ValueError('boom in bad')" in log
    assert "\x1b[" not in log  # no terminal colour codes


def test_parameters_override_and_errors(service, make_notebook, nb_dir):
    make_notebook(
        [
            ("n = 3\nrate = 0.5\nname = 'x'\nflags = [1]\nverbose = False", ["pipeline-parameters"]),
            ("score = n * rate\nlabel = f'{name}|{sum(flags)}|{verbose}'", ["step:a"]),
            ("score\nlabel", ["pipeline-metrics"]),
        ],
        "params.ipynb",
        nb_dir,
    )
    params = {"n": "5", "rate": "2", "name": "y z", "flags": "[1, 2]", "verbose": "true"}
    run = service.run(RunRequest(notebook="params.ipynb", parameters=params))
    assert run.status == RunStatus.succeeded, run.error
    assert run.metrics == {"score": 10.0, "label": "y z|3|True"}
    assert run.parameters == {"n": 5, "rate": 2.0, "name": "y z", "flags": [1, 2], "verbose": True}

    with pytest.raises(ParameterError, match="unknown parameter 'nn'.*n, name, rate|unknown parameter 'nn'"):
        service.submit(RunRequest(notebook="params.ipynb", parameters={"nn": "1"}))
    with pytest.raises(ParameterError, match=r"parameter 'n' \(int.*'abc'"):
        service.submit(RunRequest(notebook="params.ipynb", parameters={"n": "abc"}))
    with pytest.raises(ParameterError, match="parameter 'flags'"):
        service.submit(RunRequest(notebook="params.ipynb", parameters={"flags": "{'a': 1}"}))
    assert len(service.list_runs("params.ipynb")) == 1  # the refused requests created no run


def test_invalid_pipeline_runs_nothing(service, make_notebook, nb_dir):
    make_notebook([("a = 1", ["step:a"]), ("b = undefined_thing + a", ["step:b"])], "bad.ipynb", nb_dir)
    with pytest.raises(InvalidPipeline) as info:
        service.submit(RunRequest(notebook="bad.ipynb"))
    assert "undefined_thing" in str(info.value) and "cell 2" in str(info.value)
    assert service.list_runs("bad.ipynb") == []


def test_timeout_kills_the_kernel_and_retries_rerun(service, make_notebook, nb_dir):
    make_notebook(
        [
            ("import time\ntime.sleep(30)", ["step:slow", "timeout:1"]),
            (
                "import os\n"
                "first = not os.path.exists('tried')\n"
                "open('tried', 'w').close()\n"
                "if first:\n"
                "    raise RuntimeError('first attempt fails')\n"
                "ok = True",
                ["step:flaky", "retries:1"],
            ),
        ],
        "limits.ipynb",
        nb_dir,
    )
    run = service.run(RunRequest(notebook="limits.ipynb"))
    slow, flaky = run.step("slow"), run.step("flaky")
    assert slow.status == StepStatus.failed and "timed out after 1 s" in slow.error
    assert slow.duration < 10
    assert flaky.status == StepStatus.succeeded and flaky.attempt == 2
    assert "attempt 2 of 2" in service.step_log(run.id, "flaky")
    assert not (nb_dir / "tried").exists()  # steps work in the run's folder, never the live one
