"""Every example and test pipeline, compiled for KFP, is a spec that each supported KFP backend
(2.2.0, 2.3.0, 2.4.1, 2.5.0: Kubeflow 1.9 and 1.10) parses and executes as meant.

Parsing uses the protos published with each release (tests/k8s/kfp_protos), strictly: the
drivers of 2.2-2.4.0 fail a task on any field they do not know. What the drivers read is
checked too: a restored volume must not depend on CreatePVC's ``data_source`` (KFP 2.17+) or a
mount ``subPath`` (KFP 2.16+), and a created claim must name its class (else: ``standard``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jupyter_kf_converter import compile_notebook
from jupyter_kf_converter.targets import compile_target

from jupyter_kf.k8s.kfp_api import pipeline_spec_body

from .kfp_protos import RELEASES, strict_parse
from .pipelines import DEMO_CELLS, demo_pipeline

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.ipynb"))
BACKEND = {  # as the KFP backend compiles: a claim it created from the snapshot
    "image": "registry.example/nb@sha256:" + "cd" * 32,
    "snapshot": "home-pvc-run1",
    "pvc_name": "demo-run1-work",
    "mount_path": "/home/jovyan",
    "sub_path": "users/ada",
    "workdir": "/home/jovyan/proj",
    "env": {"LANG": "C.UTF-8"},
    "image_pull_policy": "IfNotPresent",
    "timeout": 600,
    "image_pull_secrets": ["regcred"],
    "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
    "node_selector": {"pool": "notebooks"},
}
EXPORT = {"image": "registry.example/nb:v1"}  # `jupyter kf compile --target kfp`


def pipelines():
    yield "demo", demo_pipeline()
    cached = [(src, [t for t in tags if t != "cache:disabled"]) for src, tags in DEMO_CELLS]
    yield "demo-cached", demo_pipeline(cached)
    for path in EXAMPLES:
        yield path.stem, compile_notebook(nbformat.read(path, as_version=4), notebook_path=path.name)


CASES = [(name, p) for name, p in pipelines() if p.valid]


def test_every_example_is_covered():
    assert {p.stem for p in EXAMPLES} <= {name for name, _ in CASES} and len(EXAMPLES) >= 2


@pytest.mark.parametrize("options", [BACKEND, EXPORT], ids=["backend", "export"])
@pytest.mark.parametrize("name,pipeline", CASES, ids=[n for n, _ in CASES])
def test_each_supported_kfp_release_parses_the_spec_strictly(name, pipeline, options):
    body = pipeline_spec_body(compile_target(pipeline, "kfp", **options))
    spec, platform = body.get("pipeline_spec", body), body.get("platform_spec")
    for release in RELEASES:
        assert strict_parse(release, spec, platform) == [], f"KFP {release} rejects the spec of {name}"
    _assert_volume_as_old_drivers_read_it(spec, platform, options)


def _assert_volume_as_old_drivers_read_it(spec: dict, platform: dict, options: dict) -> None:
    tasks = spec["root"]["dag"]["tasks"]
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    mounts = [m for e in executors.values() for m in e.get("pvcMount", [])]
    steps = [
        t for t in tasks.values() if t["componentRef"]["name"] not in ("comp-createpvc", "comp-deletepvc")
    ]
    assert len(mounts) == len(steps)
    for mount in mounts:
        assert "subPath" not in mount and "pvcNameParameter" not in mount
    if options.get("pvc_name"):  # the backend's own claim, mounted by name: nothing to create
        assert "createpvc" not in tasks
        assert {m["constant"] for m in mounts} == {options["pvc_name"]}
        assert {m["mountPath"] for m in mounts} == {options["mount_path"]}
        # the whole claim is mounted, so the notebook's folder is under its subPath
        for t in steps:
            assert (
                t["inputs"]["parameters"]["workdir"]["runtimeValue"]["constant"]
                == "/home/jovyan/users/ada/proj"
            )
    else:
        create = tasks["createpvc"]["inputs"]["parameters"]
        assert "data_source" not in create
        assert create["storage_class_name"]["runtimeValue"]["constant"] == ""  # the cluster default
        assert {m["taskOutputParameter"]["producerTask"] for m in mounts} == {"createpvc"}
        assert "deletepvc" in tasks  # the exported spec does not leave a claim per run


def test_a_snapshot_without_a_created_claim_is_refused():
    from jupyter_kf_converter.targets import TargetError

    with pytest.raises(TargetError, match="data_source is read only by KFP 2.17"):
        compile_target(demo_pipeline(), "kfp", image="x", snapshot="home-pvc-run1")


def test_what_the_sdk_writes_unchanged_is_rejected_by_old_drivers(monkeypatch):
    """The check can fail: kfp's own output (newer fields) does not parse with KFP 2.2.0."""
    import jupyter_kf_converter.targets.kfp_compat as compat

    monkeypatch.setattr(compat, "for_oldest_backend", lambda *a: None)
    body = pipeline_spec_body(compile_target(demo_pipeline(), "kfp", **EXPORT))
    errors = strict_parse("2.2.0", body["pipeline_spec"], body["platform_spec"])
    assert any("pvcNameParameter" in e for e in errors)
    assert any("resourceCount" in e or "resourceCpuLimit" in e for e in errors)


def test_the_protos_are_those_of_each_release():
    """Fields that came with later releases are unknown to earlier ones (the pools are separate)."""
    from .kfp_protos import messages

    pvc_mount = {
        r: {
            f.name
            for f in messages(r)["KubernetesExecutorConfig"]
            .DESCRIPTOR.fields_by_name["pvc_mount"]
            .message_type.fields
        }
        for r in RELEASES
    }
    assert "pvc_name_parameter" not in pvc_mount["2.2.0"] and "pvc_name_parameter" in pvc_mount["2.5.0"]
    assert all("sub_path" not in fields for fields in pvc_mount.values())
