"""The KFP target: a pipeline built from kfp SDK objects, compiled by kfp's Compiler, and the
compiled YAML executed end to end by KFP's own local runner (real papermill steps)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_kf_converter.targets import compile_target
from jupyter_kf_converter.targets.options import unpack_notebook

from .pipelines import demo_pipeline


def docs(text: str) -> tuple[dict, dict]:
    pipeline, *rest = [d for d in yaml.safe_load_all(text) if d]
    return pipeline, (rest[0] if rest else {})


def test_compiled_spec_has_typed_parameters_resources_retries_caching_and_volume():
    p = demo_pipeline()
    spec, platform = docs(
        compile_target(
            p,
            "kfp",
            image="registry.example/nb@sha256:" + "cd" * 32,
            snapshot="home-snap-1",
            pvc_name="demo-run-work",
            mount_path="/home/jovyan",
            workdir="/home/jovyan/project",
            env={"LANG": "C.UTF-8"},
        )
    )
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert {k: v["parameterType"] for k, v in params.items()} == {
        "n": "NUMBER_INTEGER",
        "scale": "NUMBER_DOUBLE",
        "label": "STRING",
    }
    assert params["n"]["defaultValue"] == 3 and params["label"]["defaultValue"] == "run"
    tasks = spec["root"]["dag"]["tasks"]
    assert {t["taskInfo"]["name"] for t in tasks.values()} == {"load", "train", "report"}
    assert set(tasks["train"]["dependentTasks"]) == {"load"}
    assert set(tasks["report"]["dependentTasks"]) == {"load", "train"}
    assert tasks["train"]["retryPolicy"]["maxRetryCount"] == 2
    # steps whose values later steps load are never cached on a fresh run volume
    assert tasks["load"]["cachingOptions"] == {} and tasks["report"]["cachingOptions"] == {}
    executors = spec["deploymentSpec"]["executors"]
    train = executors["exec-train"]["container"]
    assert train["image"] == "registry.example/nb@sha256:" + "cd" * 32
    # limits in the numeric form every KFP release reads (2.2-2.4 reject the string fields)
    assert train["resources"] == {
        "cpuLimit": 0.5,
        "memoryLimit": 1.073741824,
        "accelerator": {"type": "nvidia.com/gpu", "count": "1"},
    }
    assert train["env"] == [{"name": "LANG", "value": "C.UTF-8"}]
    for name in ("exec-load", "exec-train", "exec-report"):
        command = " ".join(executors[name]["container"]["command"])
        assert "pip install" not in command  # nothing installed at step start
    # the volume: the claim the backend restored from the snapshot, mounted by name where the
    # notebook pod mounts it
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert k8s["exec-train"]["activeDeadlineSeconds"] == "120"
    for name in ("exec-load", "exec-train", "exec-report"):
        assert k8s[name]["pvcMount"] == [{"mountPath": "/home/jovyan", "constant": "demo-run-work"}]
    # the emitted notebook travels as a constant input
    nb_b64 = tasks["train"]["inputs"]["parameters"]["notebook"]["runtimeValue"]["constant"]
    nb = nbformat.reads(unpack_notebook(nb_b64), as_version=4)
    assert nb.metadata["jupyter_kf"] == {"pipeline": "demo", "step": "train"}
    assert (
        tasks["train"]["inputs"]["parameters"]["workdir"]["runtimeValue"]["constant"]
        == "/home/jovyan/project"
    )


def _salts(spec: dict) -> dict[str, str]:
    return {
        k: t["inputs"]["parameters"]["cache_salt"]["runtimeValue"]["constant"]
        for k, t in spec["root"]["dag"]["tasks"].items()
        if "cache_salt" in t["inputs"]["parameters"]
    }


def test_kfp_cache_key_covers_what_ours_covers():
    """KFP's key is a task's inputs, command and image: a cached last step must change with the
    parameters and code of the steps before it (their values reach it on the volume) and with
    the data, and must not change with anything else."""
    from .pipelines import DEMO_CELLS

    cells = [(src, [t for t in tags if t != "cache:disabled"]) for src, tags in DEMO_CELLS]
    opts = {"image": "img:1", "pvc_name": "w"}
    spec, _ = docs(compile_target(demo_pipeline(cells), "kfp", **opts, data_key="data-1"))
    report = spec["root"]["dag"]["tasks"]["report"]
    assert report["cachingOptions"] == {"enableCache": True}
    # `report` uses no parameter, but `load` (n, scale) and `train` (label) do
    inputs = report["inputs"]["parameters"]
    assert {k for k in inputs if k.startswith("param_")} == {"param_n", "param_scale", "param_label"}
    assert inputs["param_n"] == {"componentInputParameter": "n"}
    declared = spec["components"]["comp-report"]["inputDefinitions"]["parameters"]
    assert declared["param_n"]["parameterType"] == "NUMBER_INTEGER"
    salt = _salts(spec)

    def salts_of(cells, data_key):
        return _salts(docs(compile_target(demo_pipeline(cells), "kfp", **opts, data_key=data_key))[0])

    assert salt == salts_of(cells, "data-1")  # stable
    other_data = salts_of(cells, "data-2")
    assert all(other_data[k] != salt[k] for k in salt)
    changed = [(src.replace("i * scale", "i * scale + 1"), tags) for src, tags in cells]
    other_code = salts_of(changed, "data-1")
    assert other_code["load"] == salt["load"]  # load's own code is in its notebook input already
    assert other_code["train"] != salt["train"] and other_code["report"] != salt["report"]


@pytest.mark.parametrize("target", ["kfp", "argo"])
def test_a_notebook_too_big_for_the_command_line_is_refused_naming_the_step(target):
    import os

    from jupyter_kf_converter.targets import TargetError

    from .pipelines import DEMO_CELLS

    blob = os.urandom(80 * 1024).hex()  # incompressible: 160 KiB of hex in a cell
    cells = [*DEMO_CELLS[:3], (f"data = {blob!r}\n" + DEMO_CELLS[3][0], DEMO_CELLS[3][1]), *DEMO_CELLS[4:]]
    with pytest.raises(TargetError, match=r"step 'train': its notebook is \d+ KiB compressed"):
        compile_target(demo_pipeline(cells), target, image="img:1", pvc_name="w")


def test_compiling_twice_gives_the_same_spec():
    p = demo_pipeline()
    assert compile_target(p, "kfp", image="img:1") == compile_target(p, "kfp", image="img:1")


def test_cache_tags_are_honoured_when_no_volume_is_shared():
    p = demo_pipeline()
    spec, platform = docs(compile_target(p, "kfp", image="img:1", volume=False))
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["load"]["cachingOptions"] == {"enableCache": True}
    assert tasks["report"]["cachingOptions"] == {}  # cache:disabled tag
    assert "createpvc" not in tasks
    assert "pvcMount" not in json.dumps(platform)
    spec, _ = docs(compile_target(p, "kfp", image="img:1", volume=False, cache=False))
    assert all(t["cachingOptions"] == {} for t in spec["root"]["dag"]["tasks"].values())


def test_none_parameter_is_refused_with_its_cell():
    from jupyter_kf_converter.targets import TargetError

    p = demo_pipeline([("k = None", ["pipeline-parameters"]), ("x = k", ["step:a"])])
    with pytest.raises(TargetError, match=r"parameter 'k' \(cell 1\)"):
        compile_target(p, "kfp", image="img:1")


# -- executed by kfp.local ----------------------------------------------------------------------
RUN_CELLS = [
    ("import json", ["imports"]),
    ("n = 3\nscale = 1.5\nlabel = 'run'\nflags = {'fast': False}", ["pipeline-parameters"]),
    ("xs = [i * scale for i in range(n)]\nmode = 'fast' if flags['fast'] else 'slow'", ["step:load"]),
    ("total = sum(xs)\nopen('total.txt', 'w').write(json.dumps([label, total, mode]))", ["step:train"]),
    ("total", ["pipeline-metrics"]),
]


@pytest.fixture
def local_runner(tmp_path: Path):
    from kfp import local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    return tmp_path / "root"


def _load_compiled(p, workdir: Path):
    from kfp import components

    text = compile_target(p, "kfp", image="img:1", volume=False, workdir=str(workdir))
    return components.load_component_from_text(text)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_kfp_local_runs_the_compiled_pipeline_with_overridden_parameters(tmp_path, local_runner, capfd):
    p = demo_pipeline(RUN_CELLS)
    work = tmp_path / "work"
    pipeline = _load_compiled(p, work)
    pipeline(n=4, label="override", flags={"fast": True})
    # real values between steps: train loaded xs and mode from load's saved values
    assert json.loads((work / "total.txt").read_text()) == ["override", 9.0, "fast"]
    assert json.loads((work / "kf-values" / "train" / "metrics.json").read_text()) == {"total": 9.0}
    # the metric reached KFP as a Metrics artifact
    outputs = [json.loads(f.read_text()) for f in local_runner.glob("*/train/executor_output.json")]
    metrics = [a for o in outputs for a in o["artifacts"]["metrics"]["artifacts"]]
    assert metrics[0]["metadata"] == {"total": 9.0}
    # ...and is the last line of the step's log, where the kfp backend reads it from
    from jupyter_kf_converter.targets.steprun import metrics_from_log

    assert metrics_from_log(capfd.readouterr().out) == {"total": 9.0}
    # executed notebooks are kept on the volume
    executed = nbformat.read(work / "kf-steps" / "train.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_kfp_local_a_failing_step_fails_the_run(tmp_path, local_runner):
    cells = [("x = 1", ["step:ok"]), ("y = x / 0", ["step:boom"]), ("z = y", ["step:after"])]
    p = demo_pipeline(cells)
    work = tmp_path / "work"
    pipeline = _load_compiled(p, work)
    with pytest.raises(RuntimeError, match="Inner task failed: .*boom"):
        pipeline()
    executed = nbformat.read(work / "kf-steps" / "boom.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "ZeroDivisionError"
    assert not (work / "kf-steps" / "after.ipynb").exists()
