"""Argo Workflow manifests: checked against Argo's schema (Hera's models) and for DAG, volumes,
resources, parameters and the carried step notebooks."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
import yaml
from jupyter_kf_converter.emit import emit_step
from jupyter_kf_converter.targets import TargetError, compile_target, write_target
from jupyter_kf_converter.targets.argo import ENTRYPOINT, build_workflow, template_name
from jupyter_kf_converter.targets.options import TargetOptions, unpack_notebook

from .fakeapi import workflow_causes
from .pipelines import DEMO_CELLS, demo_pipeline


def assert_valid_workflow(manifest: dict) -> None:
    """Loads into hera.workflows.models.Workflow with no field dropped (no unknown field)."""
    assert workflow_causes(manifest) == []


def templates(wf: dict) -> dict[str, dict]:
    return {t["name"]: t for t in wf["spec"]["templates"]}


def test_manifest_is_valid_argo_with_dag_resources_parameters_and_volume():
    p = demo_pipeline()
    opts = TargetOptions(
        image="registry.example/nb@sha256:" + "ab" * 32,
        snapshot="home-pvc-snap-1",
        workdir="/home/jovyan/project",
        mount_path="/home/jovyan",
        volume_size="5Gi",
        storage_class="csi-rbd",
        env={"LANG": "C.UTF-8"},
        service_account="notebook",
    )
    wf = build_workflow(p, opts)
    assert_valid_workflow(wf)
    assert wf["apiVersion"] == "argoproj.io/v1alpha1" and wf["kind"] == "Workflow"
    spec = wf["spec"]
    assert spec["serviceAccountName"] == "notebook"
    # parameters: the pipeline's, with their defaults as Argo strings
    assert spec["arguments"]["parameters"] == [
        {"name": "n", "value": "3"},
        {"name": "scale", "value": "1.5"},
        {"name": "label", "value": "run"},
    ]
    # DAG: one task per step, edges as dependencies (inferred and prev:)
    tasks = {t["name"]: t for t in templates(wf)[ENTRYPOINT]["dag"]["tasks"]}
    assert set(tasks) == {"load", "train", "report"}
    assert "dependencies" not in tasks["load"]
    assert tasks["train"]["dependencies"] == ["load"]
    assert sorted(tasks["report"]["dependencies"]) == ["load", "train"]
    assert tasks["load"]["arguments"]["parameters"] == [
        {"name": "n", "value": "{{workflow.parameters.n}}"},
        {"name": "scale", "value": "{{workflow.parameters.scale}}"},
    ]
    # the restored volume: a claim template from the snapshot, mounted in every step
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": "home-pvc-snap-1",
    }
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert claim["spec"]["storageClassName"] == "csi-rbd"
    for step in ("load", "train", "report"):
        t = templates(wf)[template_name(step)]
        c = t["container"]
        assert c["volumeMounts"] == [{"name": claim["metadata"]["name"], "mountPath": "/home/jovyan"}]
        assert c["workingDir"] == "/home/jovyan/project"
        assert c["image"] == opts.image
        assert c["env"] == [{"name": "LANG", "value": "C.UTF-8"}]
        assert c["command"] == ["python", "-m", "jupyter_kf_converter.targets.steprun"]
    train = templates(wf)[template_name("train")]
    assert train["container"]["resources"] == {
        "limits": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"}
    }
    assert train["retryStrategy"] == {"limit": 2, "retryPolicy": "OnFailure"}
    assert train["activeDeadlineSeconds"] == 120
    assert "resources" not in templates(wf)[template_name("load")]["container"]
    assert "--param" in train["container"]["args"]
    assert "label={{inputs.parameters.label}}" in train["container"]["args"]


def test_each_step_carries_its_emitted_notebook():
    p = demo_pipeline()
    wf = build_workflow(p, TargetOptions(image="img:1"))
    for step in p.steps:
        (art,) = templates(wf)[template_name(step.name)]["inputs"]["artifacts"]
        carried = nbformat.reads(unpack_notebook(art["raw"]["data"]), as_version=4)
        expected = emit_step(p, step.name)
        assert [(c.cell_type, c.source, c.metadata) for c in carried.cells] == [
            (c.cell_type, c.source, c.metadata) for c in expected.cells
        ]
        assert carried.metadata == expected.metadata
        assert art["path"] in templates(wf)[template_name(step.name)]["container"]["args"]


def test_braces_in_code_are_hidden_from_argo_templating_but_preserved():
    cells = [("x = 1", ["step:a"]), ("msg = f'{{x}} is {x}'\nprint(msg)", ["step:b"])]
    p = demo_pipeline(cells)
    wf = build_workflow(p, TargetOptions(image="img:1", volume=False))
    assert_valid_workflow(wf)
    raw = templates(wf)[template_name("b")]["inputs"]["artifacts"][0]["raw"]["data"]
    assert "{{" not in raw
    nb = nbformat.reads(unpack_notebook(raw), as_version=4)
    assert any("f'{{x}} is {x}'" in c.source for c in nb.cells)
    assert "volumeClaimTemplates" not in wf["spec"]


def test_run_volume_without_snapshot_is_an_empty_claim():
    wf = build_workflow(demo_pipeline(), TargetOptions(image="img:1"))
    assert_valid_workflow(wf)
    (claim,) = wf["spec"]["volumeClaimTemplates"]
    assert "dataSource" not in claim["spec"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_write_target_yaml_round_trips(tmp_path):
    p = demo_pipeline()
    out = write_target(p, "argo", tmp_path / "out" / "wf.yaml", image="img:1", snapshot="s1")
    wf = yaml.safe_load(out.read_text())
    assert_valid_workflow(wf)
    assert wf == build_workflow(p, TargetOptions(image="img:1", snapshot="s1"))


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (("memory", "lots"), "step 'b': limit memory='lots' is not a Kubernetes quantity"),
        (("gpu", "0.5"), "step 'b': GPU limit gpu='0.5' must be a whole number"),
        (("disk", "1Gi"), "step 'b': unsupported resource limit 'disk'"),
    ],
)
@pytest.mark.parametrize("target", ["argo", "kfp"])
def test_bad_limits_in_an_ir_name_the_step(limit, expected, target):
    """The converter refuses such tags; an IR edited by hand (it is JSON) is checked again."""
    p = demo_pipeline([("x = 1", ["step:a"]), ("y = x", ["step:b"])])
    p.step("b").resources.limits[limit[0]] = limit[1]
    with pytest.raises(TargetError) as err:
        compile_target(p, target, image="img:1")
    assert expected in str(err.value)


def test_invalid_pipeline_and_unknown_target_and_option_are_refused():
    p = demo_pipeline()
    from jupyter_kf_converter.ir import Problem

    broken = p.model_copy(
        update={"problems": [Problem(code="cycle", message="steps a and b depend on each other", step="a")]}
    )
    with pytest.raises(TargetError, match="steps a and b depend on each other"):
        compile_target(broken, "argo")
    with pytest.raises(TargetError, match="unknown target 'airflow'"):
        compile_target(p, "airflow")
    with pytest.raises(TargetError, match="unknown target option"):
        compile_target(p, "argo", imagee="x")


def test_converter_compiles_argo_without_kfp_hera_or_kubernetes(tmp_path):
    """The converter's CLI path must not pull heavy cluster libraries in."""
    nb = tmp_path / "demo.ipynb"
    from kf_testing import build_notebook

    nbformat.write(build_notebook(DEMO_CELLS), nb)
    code = (
        "import sys\n"
        "from jupyter_kf_converter import compile_notebook\n"
        "from jupyter_kf_converter.targets import write_target\n"
        f"write_target(compile_notebook({str(nb)!r}), 'argo', {str(tmp_path / 'wf.yaml')!r}, image='img:1')\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('kfp', 'hera', 'kubernetes')]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert yaml.safe_load((tmp_path / "wf.yaml").read_text())["kind"] == "Workflow"


def test_parameter_values_render_as_argo_strings():
    from jupyter_kf_converter.targets.argo import parameter_text

    assert [parameter_text(v) for v in (True, 3, 1.5, "a b", [1, 2], {"k": 1}, None)] == [
        "true",
        "3",
        "1.5",
        "a b",
        "[1, 2]",
        json.dumps({"k": 1}),
        "",
    ]
