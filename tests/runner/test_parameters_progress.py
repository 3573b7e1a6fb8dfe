"""Parameter typing (no kernels) and the progress display in a pipe and on a terminal."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from jupyter_kf_converter.ir import Parameter, Pipeline

from jupyter_kf.cli.progress import Progress, summary
from jupyter_kf.executor.parameters import ParameterError, resolve_parameters, split_assignments
from jupyter_kf.models import Run, RunStatus, StepRun, StepStatus


def pipeline() -> Pipeline:
    params = [
        Parameter(name="n", type="int", default=3, cell=1),
        Parameter(name="rate", type="float", default=0.5, cell=1),
        Parameter(name="on", type="bool", default=False, cell=1),
        Parameter(name="tags", type="list", default=["a"], cell=1),
        Parameter(name="opts", type="dict", default={}, cell=1),
        Parameter(name="name", type="str", default="x", cell=1),
        Parameter(name="maybe", type="null", default=None, cell=1),
    ]
    return Pipeline(name="p", notebook="p.ipynb", parameters=params)


def test_strings_are_typed_by_the_defaults():
    given = split_assignments(
        ["n=7", "rate=1e-3", "on=yes", "tags=['b', 2]", 'opts={"k": [1]}', "name=a=b", "maybe=null"]
    )
    assert resolve_parameters(pipeline(), given) == {
        "n": 7,
        "rate": 0.001,
        "on": True,
        "tags": ["b", 2],
        "opts": {"k": [1]},
        "name": "a=b",
        "maybe": None,
    }
    # Values that are already typed (REST, magics) are checked, not parsed.
    assert resolve_parameters(pipeline(), {"n": 2, "rate": 2, "on": False}) == {
        "n": 2,
        "rate": 2.0,
        "on": False,
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"nn": "1"}, "unknown parameter 'nn'"),
        ({"n": "1.5"}, "parameter 'n' (int, default 3 in cell 2): expected an integer, got '1.5'"),
        ({"n": True}, "parameter 'n'"),
        ({"rate": "fast"}, "parameter 'rate'"),
        ({"on": "maybe"}, "parameter 'on'"),
        ({"tags": "{'a': 1}"}, "parameter 'tags'"),
        ({"opts": "[1"}, "parameter 'opts'"),
        ({"name": 3}, "parameter 'name'"),
    ],
)
def test_bad_parameters_name_the_parameter(given, message):
    with pytest.raises(ParameterError) as info:
        resolve_parameters(pipeline(), given)
    assert message in str(info.value)


def test_assignments_need_a_name():
    with pytest.raises(ParameterError, match="expected NAME=VALUE"):
        split_assignments(["novalue"])


def _run(**steps: StepStatus) -> Run:
    now = datetime.now(timezone.utc)
    return Run(
        id="20260101-000000-abcd",
        pipeline="p",
        notebook="p.ipynb",
        created_at=now,
        started_at=now,
        finished_at=now,
        status=RunStatus.running,
        steps=[StepRun(name=n, status=s, duration=1.0 if s.finished else None) for n, s in steps.items()],
    )


def test_pipe_output_is_one_line_per_event():
    out = io.StringIO()
    progress = Progress(out, tty=False)
    progress.update(_run(a=StepStatus.pending, b=StepStatus.pending))
    progress.update(_run(a=StepStatus.running, b=StepStatus.pending))
    progress.update(_run(a=StepStatus.running, b=StepStatus.pending))  # no change: no line
    progress.update(_run(a=StepStatus.succeeded, b=StepStatus.running))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert "a" in lines[0] and "running" in lines[0]
    assert "a" in lines[1] and "done" in lines[1] and "1.00s" in lines[1]
    assert "b" in lines[2] and "running" in lines[2]
    assert "\x1b[" not in out.getvalue()


def test_terminal_output_redraws_one_block():
    out = io.StringIO()
    progress = Progress(out, tty=True)
    progress.update(_run(a=StepStatus.running, b=StepStatus.pending))
    progress.update(_run(a=StepStatus.succeeded, b=StepStatus.failed))
    text = out.getvalue()
    assert text.count("\x1b[3F") == 1  # the second drawing moved back over the 3-line block
    assert text.count("20260101-000000-abcd") == 2


def test_summary_says_where_outputs_are(tmp_path):
    from jupyter_kf.store import RunStore

    store = RunStore(tmp_path / "kf-runs", register=False)
    run = _run(a=StepStatus.succeeded, b=StepStatus.failed).model_copy(
        update={"status": RunStatus.failed, "error": "step 'b' failed at cell 3: KeyError: 'k'"}
    )
    text = summary(run, store)
    assert "failed" in text and "step 'b' failed at cell 3" in text
    assert "kf-runs/20260101-000000-abcd/steps" in text and "--retry 20260101-000000-abcd" in text
    store.close()
