"""The argo and kfp backends end to end against the fake API server, with the real run store:
snapshot, submission, watching into StepRuns, logs, cancel, failures, cleanup, no token leaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from jupyter_kf.backends import backend_class
from jupyter_kf.backends.argo import ArgoBackend
from jupyter_kf.backends.kfp import KfpBackend
from jupyter_kf.k8s.config import ClusterSettings
from jupyter_kf.models import Run, RunRequest, RunStatus, StepStatus
from jupyter_kf.store import RunStore, utcnow

from .fakeapi import permissions_used, workflow_causes
from .pipelines import demo_pipeline

NOTEBOOK = "/home/jovyan/projects/demo/demo.ipynb"
DIGEST_IMAGE = "registry.example/notebook@sha256:" + "ab" * 32


def start(backend, store: RunStore, *, parameters=None, on_update=None, cache=True):
    p = demo_pipeline()
    run = Run(
        id=store.new_run_id(),
        pipeline=p.name,
        notebook=NOTEBOOK,
        backend=backend.name,
        created_at=utcnow(),
        parameters=parameters or {},
    )
    run = store.create_run(run, p, capture_env=False)
    request = RunRequest(notebook=NOTEBOOK, backend=backend.name, parameters=parameters or {}, cache=cache)
    return p, run, backend.start(p, run, request, on_update)


def posted(cluster, fragment: str) -> list[dict]:
    return [r["body"] for r in cluster.requests if r["method"] == "POST" and fragment in r["path"]]


def assert_no_secret_anywhere(store: RunStore, cluster, *secrets: str) -> None:
    texts = [json.dumps([r["body"] for r in cluster.requests])]
    texts += [
        f.read_text(errors="replace") for f in store.path.rglob("*") if f.is_file() and f.suffix != ".sqlite"
    ]
    texts += [json.dumps([r.model_dump(mode="json") for r in store.list_runs()])]
    for secret in secrets:
        assert not any(secret in t for t in texts), f"{secret[:6]}... leaked"


def test_argo_run_end_to_end(settings, cluster, store, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    backend = ArgoBackend(store, settings, poll_interval=0.01)
    p, run, handle = start(backend, store, parameters={"n": 5, "label": "x"})
    final = handle.wait(30)
    assert final.status == RunStatus.succeeded, final.error
    assert [s.status for s in final.steps] == [StepStatus.succeeded] * 3
    assert final.external_id and final.external_id.startswith("demo-")
    assert final.step("train").metrics == {"ran": "train"}
    assert store.step_log_path(run.id, "train").read_text() == "log of step train\n"
    (wf,) = posted(cluster, "/workflows")
    assert workflow_causes(wf) == []
    spec = wf["spec"]
    (claim,) = spec["volumeClaimTemplates"]
    (snap,) = posted(cluster, "/volumesnapshots")
    assert claim["spec"]["dataSource"]["name"] == snap["metadata"]["name"]
    assert snap["spec"]["source"] == {"persistentVolumeClaimName": "home-pvc"}
    assert (
        claim["spec"]["storageClassName"] == "csi-rbd"
        and claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    )
    assert spec["serviceAccountName"] == "notebook"
    args = {a["name"]: a["value"] for a in spec["arguments"]["parameters"]}
    assert args == {"n": "5", "scale": "1.5", "label": "x"}
    step = next(t for t in spec["templates"] if t["name"] == "step-train")["container"]
    assert step["image"] == DIGEST_IMAGE
    assert step["workingDir"] == "/home/jovyan/projects/demo"
    assert step["volumeMounts"][0]["mountPath"] == "/home/jovyan"
    assert {e["name"] for e in step["env"]} == {"LANG", "DATA_ROOT"}
    assert wf["metadata"]["labels"]["jupyter-kf/run"] == run.id
    # the snapshot is removed after the run; its name is in every step's cache key
    assert cluster.snapshots == {}
    keys = {s.name: s.cache_key for s in final.steps}
    assert all(keys.values())
    _, run2, handle2 = start(backend, store, parameters={"n": 5, "label": "x"})
    assert handle2.wait(30).status == RunStatus.succeeded
    assert all(keys[s.name] != s.cache_key for s in store.get_run(run2.id).steps)  # new snapshot, new keys
    assert_no_secret_anywhere(store, cluster, cluster.token, "hub-secret-value", "plain-secret-value")
    assert cluster.token not in caplog.text


def test_argo_failing_step_fails_the_run_and_skips_the_rest(settings, cluster, store):
    cluster.fail_steps.add("train")
    _, run, handle = start(ArgoBackend(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.failed
    assert final.step("load").status == StepStatus.succeeded
    assert final.step("train").status == StepStatus.failed and "exit code 1" in final.step("train").error
    assert final.step("report").status == StepStatus.skipped
    assert cluster.snapshots == {}


def test_argo_cancel_stops_the_workflow(settings, cluster, store):
    handles = []

    def on_update(run: Run) -> None:
        if handles and any(s.status == StepStatus.running for s in run.steps):
            handles[0].cancel()

    backend = ArgoBackend(store, settings, poll_interval=0.01)
    p = demo_pipeline()
    run = store.create_run(
        Run(id=store.new_run_id(), pipeline=p.name, notebook=NOTEBOOK, backend="argo", created_at=utcnow()),
        p,
        capture_env=False,
    )
    from jupyter_kf.backends.argo import ArgoDriver
    from jupyter_kf.k8s.watch import ClusterRunHandle

    handle = ClusterRunHandle(
        store, run, ArgoDriver(backend, p, run, RunRequest(notebook=NOTEBOOK)), on_update, poll_interval=0.01
    )
    handles.append(handle)
    final = handle.start().wait(30)
    assert final.status == RunStatus.cancelled
    patches = [r["body"] for r in cluster.requests if r["method"] == "PATCH"]
    assert patches == [{"spec": {"shutdown": "Stop"}}]
    assert final.step("load").status in (StepStatus.failed, StepStatus.cancelled)
    assert final.step("report").status == StepStatus.skipped


def test_cancel_requested_through_the_store_before_submission(settings, cluster, store):
    p = demo_pipeline()
    run = store.create_run(
        Run(id=store.new_run_id(), pipeline=p.name, notebook=NOTEBOOK, backend="argo", created_at=utcnow()),
        p,
        capture_env=False,
    )
    store.request_cancel(run.id)
    handle = ArgoBackend(store, settings, poll_interval=0.01).start(p, run, RunRequest(notebook=NOTEBOOK))
    assert handle.wait(10).status == RunStatus.cancelled
    assert posted(cluster, "/workflows") == [] and posted(cluster, "/volumesnapshots") == []


def test_snapshot_forbidden_fails_the_run_with_the_rbac_message(settings, cluster, store):
    cluster.denied.add(("create", "volumesnapshots"))
    _, run, handle = start(ArgoBackend(store, settings, poll_interval=0.01), store)
    final = handle.wait(10)
    assert final.status == RunStatus.failed
    assert 'cannot create resource "volumesnapshots"' in final.error and "deploy/rbac.yaml" in final.error
    assert all(s.status == StepStatus.skipped for s in final.steps)
    assert posted(cluster, "/workflows") == []


def test_snapshot_never_ready_names_the_storage_class_and_is_removed(settings, cluster, store):
    cluster.unsnapshottable_classes.add("csi-rbd")
    s = settings.model_copy(update={"snapshot_timeout": 0.3})
    _, run, handle = start(ArgoBackend(store, s, poll_interval=0.01), store)
    final = handle.wait(10)
    assert final.status == RunStatus.failed
    assert "StorageClass is 'csi-rbd'" in final.error and "VolumeSnapshotClass" in final.error
    assert cluster.snapshots == {}
    assert posted(cluster, "/workflows") == []


def test_keep_snapshot_and_snapshots_off(settings, cluster, store):
    keep = settings.model_copy(update={"keep_snapshot": True})
    _, _, handle = start(ArgoBackend(store, keep, poll_interval=0.01), store)
    assert handle.wait(30).status == RunStatus.succeeded
    assert len(cluster.snapshots) == 1
    off = settings.model_copy(update={"snapshot": False})
    _, _, handle = start(ArgoBackend(store, off, poll_interval=0.01), store)
    assert handle.wait(30).status == RunStatus.succeeded
    wf = posted(cluster, "/workflows")[-1]
    assert "dataSource" not in wf["spec"]["volumeClaimTemplates"][0]["spec"]
    assert len(posted(cluster, "/volumesnapshots")) == 1


def test_step_image_setting_and_image_tag_override_the_pod_image(settings, cluster, store):
    s = settings.model_copy(update={"step_image": "registry.example/steps:2"})
    backend = ArgoBackend(store, s, poll_interval=0.01)
    p = demo_pipeline()
    p.step("report").image = "registry.example/report:1"
    run = store.create_run(
        Run(id=store.new_run_id(), pipeline=p.name, notebook=NOTEBOOK, backend="argo", created_at=utcnow()),
        p,
        capture_env=False,
    )
    assert backend.start(p, run, RunRequest(notebook=NOTEBOOK)).wait(30).status == RunStatus.succeeded
    images = {
        t["name"]: t["container"]["image"]
        for t in posted(cluster, "/workflows")[0]["spec"]["templates"]
        if "container" in t
    }
    assert images == {
        "step-load": "registry.example/steps:2",
        "step-train": "registry.example/steps:2",
        "step-report": "registry.example/report:1",
    }


def test_kfp_run_end_to_end(settings, cluster, store):
    from jupyter_kf_converter.targets.steprun import METRICS_MARKER

    cluster.step_log_tail["train"] = "noise\n" + METRICS_MARKER + '{"total": 12.5}\n'
    backend = KfpBackend(store, settings, poll_interval=0.01)
    _, run, handle = start(backend, store, parameters={"n": 7})
    final = handle.wait(30)
    assert final.status == RunStatus.succeeded, final.error
    assert [s.status for s in final.steps] == [StepStatus.succeeded] * 3
    (body,) = posted(cluster, "/apis/v2beta1/runs")
    assert body["runtime_config"] == {"parameters": {"n": 7}}
    assert body["service_account"] == "notebook"
    assert body["experiment_id"] in cluster.experiments
    # the run volume: created by the backend from the snapshot (every KFP release mounts it by
    # name; CreatePVC's data_source is read from KFP 2.17 only), in the notebook PVC's class
    assert "createpvc" not in body["pipeline_spec"]["pipeline_spec"]["root"]["dag"]["tasks"]
    (snap,) = posted(cluster, "/volumesnapshots")
    (claim,) = posted(cluster, "/persistentvolumeclaims")
    assert claim["spec"]["dataSource"]["name"] == snap["metadata"]["name"]
    assert claim["spec"]["storageClassName"] == "csi-rbd"
    pvc_name = claim["metadata"]["name"]
    assert run.id in pvc_name
    mounts = body["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert {m["pvcMount"][0]["constant"] for m in mounts.values()} == {pvc_name}
    executors = body["pipeline_spec"]["pipeline_spec"]["deploymentSpec"]["executors"]
    assert executors["exec-train"]["container"]["image"] == DIGEST_IMAGE
    assert final.external_url.endswith(f"#/runs/details/{final.external_id}")
    # KFP reports Argo node IDs as child pod names; the log comes from the executor pod (v2 name)
    log = store.step_log_path(run.id, "load").read_text()
    assert log.startswith("kfp log of load (") and "-system-container-impl-" in log
    # metrics: what the step container printed last (KFP keeps metric values in MLMD, not the run API)
    assert final.step("train").metrics == {"total": 12.5}
    assert final.metrics == {"total": 12.5}
    # after the run: the run volume and the snapshot are deleted
    deletes = [r["path"] for r in cluster.requests if r["method"] == "DELETE"]
    assert any(d.endswith(f"/persistentvolumeclaims/{pvc_name}") for d in deletes)
    assert cluster.snapshots == {}
    # a second run reuses the experiment
    _, _, handle = start(backend, store)
    assert handle.wait(30).status == RunStatus.succeeded
    assert len(cluster.experiments) == 1
    assert_no_secret_anywhere(store, cluster, cluster.token, "hub-secret-value")


def test_kfp_failure_and_cancel(settings, cluster, store):
    cluster.fail_steps.add("load")
    backend = KfpBackend(store, settings, poll_interval=0.01)
    _, _, handle = start(backend, store)
    final = handle.wait(30)
    assert final.status == RunStatus.failed and "load" in final.error
    assert final.step("load").status == StepStatus.failed
    assert final.step("train").status == StepStatus.skipped
    cluster.fail_steps.clear()

    p = demo_pipeline()
    run = store.create_run(
        Run(id=store.new_run_id(), pipeline=p.name, notebook=NOTEBOOK, backend="kfp", created_at=utcnow()),
        p,
        capture_env=False,
    )

    def on_update(r: Run) -> None:
        if any(s.status == StepStatus.running for s in r.steps):
            store.request_cancel(r.id)  # as another process (REST, CLI) would

    final = backend.start(p, run, RunRequest(notebook=NOTEBOOK), on_update).wait(30)
    assert final.status == RunStatus.cancelled
    assert any(r["path"].endswith(":terminate") for r in cluster.requests)


def test_kfp_unknown_parameter_is_not_sent(settings, cluster, store):
    _, _, handle = start(
        KfpBackend(store, settings, poll_interval=0.01), store, parameters={"n": 2, "zzz": 1}
    )
    assert handle.wait(30).status == RunStatus.succeeded
    assert posted(cluster, "/apis/v2beta1/runs")[0]["runtime_config"]["parameters"] == {"n": 2}


def test_info_says_whether_configured_and_why_not(settings, tmp_path, store):
    assert ArgoBackend(store, settings).info().configured is True
    assert KfpBackend(store, settings).info().configured is True
    nowhere = ClusterSettings(
        service_account_dir=str(tmp_path / "none"), kubeconfig=str(tmp_path / "no-kubeconfig")
    )
    argo = ArgoBackend(store, nowhere).info()
    assert argo.available and not argo.configured and "no Kubernetes API" in argo.reason
    kfp = KfpBackend(store, nowhere).info()
    assert not kfp.configured and "KF_KFP_ENDPOINT" in kfp.reason
    assert backend_class("argo") is ArgoBackend and backend_class("kfp") is KfpBackend


def test_outside_a_pod_runs_on_an_empty_volume_with_kubeconfig(api, cluster, store, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "fake",
                "clusters": [{"name": "fake", "cluster": {"server": api.url}}],
                "users": [{"name": "me", "user": {"token": cluster.token}}],
                "contexts": [
                    {"name": "fake", "context": {"cluster": "fake", "user": "me", "namespace": "team"}}
                ],
            }
        )
    )
    s = ClusterSettings(
        kubeconfig=str(kubeconfig),
        argo_namespace="team",
        step_image="img:1",
        service_account_dir=str(tmp_path / "no-sa"),
    )
    _, _, handle = start(ArgoBackend(store, s, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.succeeded, final.error
    wf = posted(cluster, "/workflows")[0]
    assert "dataSource" not in wf["spec"]["volumeClaimTemplates"][0]["spec"]
    assert posted(cluster, "/volumesnapshots") == []


def test_deploy_rbac_grants_everything_the_backends_use(settings, cluster, store):
    """Every (group, resource, verb) the backends sent is granted by deploy/rbac.yaml."""
    for backend in (
        ArgoBackend(store, settings, poll_interval=0.01),
        KfpBackend(store, settings, poll_interval=0.01),
    ):
        _, run, handle = start(backend, store)
        assert handle.wait(30).status == RunStatus.succeeded
        backend.step_log(store.get_run(run.id), "train")
    rbac = Path(__file__).parents[2] / "deploy" / "rbac.yaml"
    role = next(d for d in yaml.safe_load_all(rbac.read_text()) if d["kind"] == "Role")
    granted = {
        (g, r, v)
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    used = permissions_used(cluster)
    assert {
        ("", "pods", "get"),
        ("", "pods/log", "get"),
        ("snapshot.storage.k8s.io", "volumesnapshots", "create"),
        ("argoproj.io", "workflows", "create"),
        ("", "persistentvolumeclaims", "delete"),
    } <= used
    assert used <= granted, used - granted
    # and nothing more, but what Argo's executor does as the same service account in step pods
    executor = {("argoproj.io", "workflowtaskresults", v) for v in ("create", "patch")}
    cancel = {("argoproj.io", "workflows", "patch")}  # shutdown: Stop (test_argo_cancel_stops_the_workflow)
    deploy = {("argoproj.io", "cronworkflows", v) for v in ("create", "delete")}  # test_schedule_deploy.py
    assert granted - executor - cancel - deploy <= used, granted - executor - cancel - deploy - used


def test_unconfigured_backends_fail_the_run_with_the_reason(settings, cluster, store, tmp_path):
    no_kfp = settings.model_copy(update={"kfp_endpoint": None})
    _, _, handle = start(KfpBackend(store, no_kfp, poll_interval=0.01), store)
    final = handle.wait(10)
    assert final.status == RunStatus.failed and "KF_KFP_ENDPOINT" in final.error
    no_ns = settings.model_copy(
        update={"service_account_dir": str(tmp_path / "none"), "argo_namespace": None}
    )
    _, _, handle = start(ArgoBackend(store, no_ns, poll_interval=0.01), store)
    final = handle.wait(10)
    assert final.status == RunStatus.failed and "KF_ARGO_NAMESPACE" in final.error
    assert cluster.requests == []


@pytest.mark.parametrize("backend_cls", [ArgoBackend, KfpBackend])
def test_transient_api_errors_while_watching_are_ridden_out(settings, cluster, store, backend_cls):
    cluster.unavailable_reads = 3
    _, _, handle = start(backend_cls(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.succeeded, final.error
    assert cluster.unavailable_reads == 0
    cluster.unavailable_reads = 100
    _, _, handle = start(backend_cls(store, settings, poll_interval=0.01), store)
    final = handle.wait(60)
    assert final.status == RunStatus.failed
    assert "503" in final.error or "unable to handle" in final.error
