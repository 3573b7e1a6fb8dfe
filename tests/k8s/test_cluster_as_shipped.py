"""What the KFP and Argo controllers of Kubeflow 1.9/1.10 do differently from a schema check,
each with the fake behaving as they do: pod names, volume classes and garbage collection,
what steps inherit from the notebook pod, and what comes back into the run store."""

from __future__ import annotations

import base64
import gzip
import json

import nbformat
import pytest

from jupyter_kf.backends.argo import ArgoBackend
from jupyter_kf.backends.kfp import KfpBackend
from jupyter_kf.models import RunStatus, StepStatus

from .fakeapi import workflow_causes
from .test_cluster_backends import posted, start


def claims(cluster) -> list[str]:
    return sorted(name for (_, name) in cluster.pvcs if name != "home-pvc")


@pytest.mark.parametrize("name_format", ["v2", "v1"])
def test_argo_logs_and_metrics_follow_the_pod_name_format(settings, cluster, store, name_format):
    cluster.pod_name_format = name_format
    _, run, handle = start(ArgoBackend(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.succeeded, final.error
    assert store.step_log_path(run.id, "train").read_text() == "log of step train\n"


@pytest.mark.parametrize("name_format", ["v2", "v1"])
def test_kfp_logs_and_metrics_come_from_the_executor_pod(settings, cluster, store, name_format):
    from jupyter_kf_converter.targets.steprun import METRICS_MARKER

    cluster.pod_name_format = name_format
    cluster.step_log_tail["train"] = METRICS_MARKER + '{"total": 3.5}\n'
    _, run, handle = start(KfpBackend(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.succeeded, final.error
    details = next(iter(cluster.runs.values()))["run_details"]["task_details"]
    node_ids = [c["pod_name"] for t in details for c in t["child_tasks"]]
    assert all("system-container" not in n for n in node_ids)  # KFP reports node IDs, not pod names
    log = store.step_log_path(run.id, "train").read_text()
    assert log.startswith("kfp log of train (")
    if name_format == "v2":
        assert "-system-container-impl-" in log
    assert final.step("train").metrics == {"total": 3.5}


def test_argo_removes_the_volume_of_a_failed_run_and_expires_the_workflow(settings, cluster, store):
    cluster.fail_steps.add("train")
    _, _, handle = start(ArgoBackend(store, settings, poll_interval=0.01), store)
    assert handle.wait(30).status == RunStatus.failed
    (wf,) = posted(cluster, "/workflows")
    assert wf["spec"]["volumeClaimGC"] == {"strategy": "OnWorkflowCompletion"}
    assert wf["spec"]["ttlStrategy"] == {"secondsAfterCompletion": 86400}
    assert claims(cluster) == []  # Argo's default (OnWorkflowSuccess) would keep a copy of home


def test_kfp_run_volume_is_removed_and_uses_the_cluster_default_class(settings, cluster, store):
    # no `standard` class here (as on EKS, AKS...): a claim asking for it would never bind
    cluster.storage_classes = {"gp3"}
    cluster.default_storage_class = "gp3"
    settings = settings.model_copy(update={"snapshot": False})
    _, _, handle = start(KfpBackend(store, settings, poll_interval=0.01), store)
    assert handle.wait(30).status == RunStatus.succeeded
    (claim,) = posted(cluster, "/persistentvolumeclaims")
    assert "storageClassName" not in claim["spec"]  # so the cluster's default class provisions it
    assert claims(cluster) == []


def test_steps_inherit_the_pods_security_context_pull_secrets_and_scheduling(settings, cluster, store):
    pod = cluster.pods[("team", "nb-0")]
    pod["spec"].update(
        securityContext={
            "runAsUser": 1000,
            "runAsGroup": 100,
            "fsGroup": 100,
            "seLinuxOptions": {"level": "s0"},
        },
        imagePullSecrets=[{"name": "regcred"}],
        tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        nodeSelector={"pool": "notebooks"},
    )
    _, _, handle = start(ArgoBackend(store, settings, poll_interval=0.01), store)
    assert handle.wait(30).status == RunStatus.succeeded
    (wf,) = posted(cluster, "/workflows")
    assert workflow_causes(wf) == []
    spec = wf["spec"]
    # a uid-1000 image can write on a fresh volume: fsGroup makes it group-writable
    assert spec["securityContext"] == {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100}
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    assert spec["tolerations"] == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert spec["nodeSelector"] == {"pool": "notebooks"}
    assert spec["podMetadata"]["annotations"]["sidecar.istio.io/inject"] == "false"

    _, _, handle = start(KfpBackend(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.succeeded, final.error
    body = posted(cluster, "/apis/v2beta1/runs")[0]
    k8s = body["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    train = k8s["exec-train"]
    assert train["imagePullSecret"] == [{"secretName": "regcred"}]
    assert train["nodeSelector"] == {"labels": {"pool": "notebooks"}}
    assert train["tolerations"][0]["key"] == "gpu"


def test_a_namespace_other_than_the_pods_is_refused_before_any_snapshot(settings, cluster, store):
    settings = settings.model_copy(update={"argo_namespace": "elsewhere"})
    _, _, handle = start(ArgoBackend(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.failed
    assert "'elsewhere'" in final.error and "'team'" in final.error and "KF_SNAPSHOT=0" in final.error
    assert posted(cluster, "/volumesnapshots") == [] and posted(cluster, "/workflows") == []


@pytest.mark.parametrize("backend_cls", [ArgoBackend, KfpBackend])
def test_executed_notebooks_come_back_into_the_run_store(settings, cluster, store, backend_cls):
    from jupyter_kf_converter.targets.steprun import NOTEBOOK_MARKER

    executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    packed = base64.b64encode(gzip.compress(nbformat.writes(executed).encode())).decode()
    cluster.step_log_tail["train"] = NOTEBOOK_MARKER + packed + "\n"
    cluster.fail_steps.add("report")
    cluster.step_log_tail["report"] = NOTEBOOK_MARKER + packed + "\n"
    _, run, handle = start(backend_cls(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.failed
    for step in ("train", "report"):  # a failed step's notebook too
        path = store.step_notebook_path(run.id, step)
        assert nbformat.reads(path.read_text(), as_version=4).cells[0].source == "print(1)"
        assert final.step(step).notebook and final.step(step).notebook.endswith(f"steps/{step}.ipynb")
        assert NOTEBOOK_MARKER not in store.step_log_path(run.id, step).read_text()
    assert final.step("report").status == StepStatus.failed


def test_run_volume_and_snapshot_names_keep_the_run_id_whatever_the_pipeline_name():
    from jupyter_kf.k8s.volumes import unique_name

    long = "a-very-long-pipeline-name-" * 4
    a, b = (
        unique_name(long, "20261204-101010-ab12", "work"),
        unique_name(long, "20261204-101010-cd34", "work"),
    )
    assert a != b and len(a) <= 63 and a.endswith("20261204-101010-ab12-work")


def test_run_link_points_at_the_kfp_ui_not_the_api(settings):
    from jupyter_kf.k8s.kfp_api import KfpApi

    ui = settings.model_copy(update={"kfp_ui": "https://kubeflow.example/_/pipeline/"})
    assert KfpApi(ui).run_url("r1") == "https://kubeflow.example/_/pipeline/#/runs/details/r1"


def test_kfp_server_version_old_ones_refused_retries_noted(settings, cluster, store):
    cluster.kfp_release = "2.0.5"
    _, _, handle = start(KfpBackend(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.failed and "KFP 2.0.5 is not supported" in final.error
    assert posted(cluster, "/apis/v2beta1/runs") == []
    cluster.kfp_release = "2.3.0"
    _, run, handle = start(KfpBackend(store, settings, poll_interval=0.01), store)
    assert handle.wait(30).status == RunStatus.succeeded
    record = json.loads((store.run_path(run.id) / "cluster.json").read_text())
    assert any("does not retry failed steps" in n and "train" in n for n in record["notes"])


def test_kfp_cache_key_follows_the_data_not_the_snapshot_name(settings, cluster, store, project):
    """Each run takes a new VolumeSnapshot; the cache key (store and KFP's salt) follows what the
    data is, so a second run on unchanged data can reuse results and one on changed data cannot."""
    from jupyter_kf.models import Run, RunRequest
    from jupyter_kf.store import utcnow

    from .pipelines import demo_pipeline

    notebook = str(project / "proj" / "demo.ipynb")
    backend = KfpBackend(store, settings.model_copy(update={"pod_name": "nb-1"}), poll_interval=0.01)

    def run_once() -> tuple[dict, dict]:
        p = demo_pipeline()
        run = store.create_run(
            Run(
                id=store.new_run_id(), pipeline=p.name, notebook=notebook, backend="kfp", created_at=utcnow()
            ),
            p,
            capture_env=False,
        )
        final = backend.start(p, run, RunRequest(notebook=notebook, backend="kfp")).wait(30)
        assert final.status == RunStatus.succeeded, final.error
        tasks = posted(cluster, "/apis/v2beta1/runs")[-1]["pipeline_spec"]["pipeline_spec"]["root"]["dag"][
            "tasks"
        ]
        salts = {
            k: t["inputs"]["parameters"]["cache_salt"]["runtimeValue"]["constant"] for k, t in tasks.items()
        }
        return salts, {s.name: s.cache_key for s in final.steps}

    first = run_once()
    snapshots = [b["metadata"]["name"] for b in posted(cluster, "/volumesnapshots")]
    assert (
        run_once() == first
        and len(set(snapshots + [b["metadata"]["name"] for b in posted(cluster, "/volumesnapshots")])) == 2
    )
    (project / "proj" / "data.csv").write_text("a,b\n1,2\n")
    salts, keys = run_once()
    assert all(salts[k] != first[0][k] for k in salts) and all(keys[k] != first[1][k] for k in keys)


def _submit_export(settings, cluster, mutate=None) -> dict:
    """Upload an exported spec (`jupyter kf compile --target kfp`) as a run, let KFP run it."""
    import yaml
    from jupyter_kf_converter.targets import compile_target

    from jupyter_kf.k8s.kfp_api import KfpApi

    from .fakeapi.simulate import tick
    from .pipelines import demo_pipeline

    docs = [d for d in yaml.safe_load_all(compile_target(demo_pipeline(), "kfp", image="img:1")) if d]
    if mutate:
        mutate(docs[0])
    api = KfpApi(settings)
    run = api.create_run(
        display_name="demo export",
        experiment_id=api.ensure_experiment("e", "team"),
        compiled_yaml=yaml.safe_dump_all(docs),
    )
    cluster.hold = True
    tick(cluster, to_end=True, max_ticks=20)
    return cluster.runs[run["run_id"]]


def test_an_exported_kfp_spec_gets_the_default_class_and_deletes_its_volume(settings, cluster):
    cluster.storage_classes, cluster.default_storage_class = {"gp3"}, "gp3"
    run = _submit_export(settings, cluster)
    assert run["state"] == "SUCCEEDED"
    names = [t["display_name"] for t in run["run_details"]["task_details"]]
    assert names[0] == "run-volume" and names[-1] == "delete-run-volume"
    assert claims(cluster) == []


def test_the_fake_kfp_like_the_real_one_asks_for_standard_when_no_class_is_given(settings, cluster):
    cluster.storage_classes, cluster.default_storage_class = {"gp3"}, "gp3"

    def no_class(spec):  # what kfp-kubernetes compiles when storage_class_name is left out
        del spec["root"]["dag"]["tasks"]["createpvc"]["inputs"]["parameters"]["storage_class_name"]

    run = _submit_export(settings, cluster, no_class)
    assert run["state"] == "RUNNING"  # hangs: the claim asks for `standard`, which never binds
    assert [t["display_name"] for t in run["run_details"]["task_details"]] == ["run-volume"]
    (claim,) = [cluster.pvcs[k] for k in cluster.pvcs if k[1] != "home-pvc"]
    assert claim["spec"]["storageClassName"] == "standard" and claim["status"]["phase"] == "Pending"
