"""What runs inside a step container: the Argo template's own command and arguments, executed
here as Argo would (raw artifact written, parameters substituted), with real papermill kernels."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_kf_converter.targets.argo import ENTRYPOINT, build_workflow
from jupyter_kf_converter.targets.options import TargetOptions
from jupyter_kf_converter.targets.steprun import NOTEBOOK_MARKER, StepParameterError, coerce, split_notebook

from .pipelines import demo_pipeline


def run_like_argo(
    wf: dict, tmp: Path, overrides: dict[str, str] | None = None
) -> dict[str, subprocess.CompletedProcess]:
    """Execute each DAG task's container in dependency order (Argo's semantics, minus the pods)."""
    workflow_params = {p["name"]: p["value"] for p in wf["spec"].get("arguments", {}).get("parameters", [])}
    workflow_params.update(overrides or {})
    templates = {t["name"]: t for t in wf["spec"]["templates"]}
    done: dict[str, subprocess.CompletedProcess] = {}
    pending = list(templates[ENTRYPOINT]["dag"]["tasks"])
    while pending:
        task = next(t for t in pending if all(d in done for d in t.get("dependencies", [])))
        pending.remove(task)
        if any(done[d].returncode != 0 for d in task.get("dependencies", [])):
            continue
        template = templates[task["template"]]
        inputs = {}
        for arg in task.get("arguments", {}).get("parameters", []):
            inputs[arg["name"]] = re.sub(
                r"\{\{workflow\.parameters\.(\w+)\}\}", lambda m: workflow_params[m[1]], arg["value"]
            )
        for art in template["inputs"]["artifacts"]:
            target = tmp / art["path"].lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(art["raw"]["data"])
        container = template["container"]
        argv = [
            re.sub(r"\{\{inputs\.parameters\.(\w+)\}\}", lambda m, i=inputs: i[m[1]], a)
            for a in container["args"]
        ]
        argv = [str(tmp / a.lstrip("/")) if a.startswith(("/kf/", "/tmp/kf-")) else a for a in argv]
        command = [sys.executable if c == "python" else c for c in container["command"]]
        Path(container["workingDir"]).mkdir(parents=True, exist_ok=True)
        done[task["name"]] = subprocess.run(
            command + argv, cwd=container["workingDir"], capture_output=True, text=True
        )
    return done


CELLS = [
    ("n = 3\nwords = ['a', 'b']\nfast = False", ["pipeline-parameters"]),
    ("xs = list(range(n)) * len(words)", ["step:make"]),
    ("total = sum(xs) if not fast else -1", ["step:add"]),
    ("total", ["pipeline-metrics"]),
]


def test_argo_step_containers_run_the_emitted_notebooks(tmp_path):
    p = demo_pipeline(CELLS)
    work = tmp_path / "work"
    wf = build_workflow(p, TargetOptions(image="img:1", workdir=str(work), volume=False))
    done = run_like_argo(wf, tmp_path, {"n": "4", "words": '["x", "y", "z"]'})
    assert {k: v.returncode for k, v in done.items()} == {"make": 0, "add": 0}, done["add"].stderr[-2000:]
    metrics = json.loads((tmp_path / "tmp" / "kf-metrics.json").read_text())
    assert metrics == {"total": 18}  # sum(range(4)) * 3 through a value saved by `make`
    assert (work / "kf-steps" / "add.ipynb").exists()
    # the executed notebook also travels in the log, for the watcher to keep once the volume is gone
    log, executed = split_notebook(done["add"].stdout + done["add"].stderr)
    assert NOTEBOOK_MARKER not in log and executed == (work / "kf-steps" / "add.ipynb").read_bytes()


def test_argo_step_container_failure_exits_nonzero(tmp_path):
    p = demo_pipeline([("x = 1", ["step:ok"]), ("raise ValueError('bad data in step')", ["step:bad"])])
    work = tmp_path / "work"
    done = run_like_argo(
        build_workflow(p, TargetOptions(image="img:1", workdir=str(work), volume=False)), tmp_path
    )
    assert done["ok"].returncode == 0
    assert done["bad"].returncode != 0
    assert "bad data in step" in done["bad"].stderr + done["bad"].stdout
    _, executed = split_notebook(done["bad"].stdout + done["bad"].stderr)  # with its traceback
    assert executed and b"bad data in step" in executed


@pytest.mark.parametrize(
    ("value", "type_name", "expected"),
    [
        ("4", "int", 4),
        (4.0, "int", 4),
        ("2.5", "float", 2.5),
        ("true", "bool", True),
        ("0", "bool", False),
        ('["a"]', "list", ["a"]),
        ('{"k": 1}', "dict", {"k": 1}),
        ("text", "str", "text"),
        ("", "null", None),
    ],
)
def test_templated_values_come_back_typed(value, type_name, expected):
    assert coerce("p", value, type_name) == expected


@pytest.mark.parametrize(
    ("value", "type_name"), [("4.5", "int"), ("maybe", "bool"), ("{}", "list"), ("x", "float")]
)
def test_bad_templated_values_name_the_parameter(value, type_name):
    with pytest.raises(
        StepParameterError, match=f"parameter 'p': '{re.escape(value)}' is not a valid {type_name}"
    ):
        coerce("p", value, type_name)
