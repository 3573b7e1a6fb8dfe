"""The notebook pod's other PVCs in cluster runs (`volume:<claim>:snapshot|shared|none`), end to
end against the fake API server: what is mounted, snapshotted, restored and cleaned up, and the
warning for a ReadWriteOnce volume that parallel steps would share."""

from __future__ import annotations

import json

import pytest
from jupyter_kf_converter import compile_notebook
from kf_testing import build_notebook

from jupyter_kf.backends.argo import ArgoBackend
from jupyter_kf.backends.kfp import KfpBackend
from jupyter_kf.models import Run, RunRequest, RunStatus
from jupyter_kf.store import utcnow

from .conftest import POD
from .fakeapi import workflow_causes
from .test_cluster_backends import NOTEBOOK, posted

SERIAL = [("a = 1", ["step:first"]), ("b = a + 1", ["step:second"])]
PARALLEL = [("a = 1", ["step:left"]), ("b = 2", ["step:right"]), ("c = a + b", ["step:both"])]


def add_data_volume(cluster, access_modes=("ReadWriteOnce",), sub_path=""):
    pod = cluster.pods[(cluster.namespace, POD)]
    pod["spec"]["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "data-pvc"}})
    mount = {"name": "data", "mountPath": "/mnt/data"}
    if sub_path:
        mount["subPath"] = sub_path
    pod["spec"]["containers"][0]["volumeMounts"].append(mount)
    cluster.pvcs[(cluster.namespace, "data-pvc")] = {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-pvc", "namespace": cluster.namespace},
        "spec": {"accessModes": list(access_modes), "storageClassName": "csi-rbd",
                 "resources": {"requests": {"storage": "20Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "20Gi"}},
    }  # fmt: skip


def run_cells(backend, store, cells, volume_tags=()):
    cells = [(src, tags + list(volume_tags) if i == 0 else tags) for i, (src, tags) in enumerate(cells)]
    p = compile_notebook(build_notebook(cells), notebook_path="vol.ipynb")
    assert p.valid, p.problems
    run = store.create_run(
        Run(id=store.new_run_id(), pipeline=p.name, notebook=NOTEBOOK, backend=backend.name, created_at=utcnow()),
        p, capture_env=False,
    )  # fmt: skip
    final = backend.start(p, run, RunRequest(notebook=NOTEBOOK, backend=backend.name)).wait(30)
    record = json.loads((store.run_path(run.id) / "cluster.json").read_text()) if final.external_id else {}
    return final, record


def _data_mounts(wf):
    return [
        m for t in wf["spec"]["templates"] if "container" in t
        for m in t["container"].get("volumeMounts", []) if m["mountPath"] == "/mnt/data"
    ]  # fmt: skip


def test_argo_mounts_another_pvc_shared_by_default(settings, cluster, store):
    add_data_volume(cluster, access_modes=("ReadWriteMany",))
    final, record = run_cells(ArgoBackend(store, settings, poll_interval=0.01), store, PARALLEL)
    assert final.status == RunStatus.succeeded, final.error
    (wf,) = posted(cluster, "/workflows")
    assert workflow_causes(wf) == []
    name = {v["name"] for v in wf["spec"]["volumes"] if v["persistentVolumeClaim"]["claimName"] == "data-pvc"}
    mounts = _data_mounts(wf)
    assert len(mounts) == 3 and {m["name"] for m in mounts} == name
    assert [s["spec"]["source"]["persistentVolumeClaimName"] for s in posted(cluster, "/volumesnapshots")] == [
        "home-pvc"
    ]
    # the run volume restored from home-pvc is ReadWriteOnce, data-pvc is not
    (note,) = [n for n in record["notes"] if "ReadWriteOnce" in n]
    assert note.startswith("the run volume is ReadWriteOnce") and "data-pvc" not in note and "'left'" in note


def test_argo_snapshot_mode_restores_a_copy_per_run_and_cleans_up(settings, cluster, store):
    add_data_volume(cluster, sub_path="team-a")
    final, record = run_cells(
        ArgoBackend(store, settings, poll_interval=0.01), store, SERIAL, ["volume:data-pvc:snapshot"]
    )
    assert final.status == RunStatus.succeeded, final.error
    (wf,) = posted(cluster, "/workflows")
    assert workflow_causes(wf) == []
    snaps = {s["spec"]["source"]["persistentVolumeClaimName"]: s["metadata"]["name"]
             for s in posted(cluster, "/volumesnapshots")}  # fmt: skip
    assert set(snaps) == {"home-pvc", "data-pvc"}
    templates = {t["metadata"]["name"]: t["spec"] for t in wf["spec"]["volumeClaimTemplates"]}
    (data,) = [n for n, t in templates.items() if t["dataSource"]["name"] == snaps["data-pvc"]]
    assert templates[data]["resources"]["requests"]["storage"] == "20Gi"
    mounts = _data_mounts(wf)
    assert {m["name"] for m in mounts} == {data} and {m.get("subPath") for m in mounts} == {"team-a"}
    assert "volumes" not in wf["spec"]  # the claim itself is not mounted
    assert cluster.snapshots == {} and record["extra_snapshots"] == [snaps["data-pvc"]]
    assert not [n for n in record["notes"] if "ReadWriteOnce" in n]  # serial steps: no warning


def test_argo_none_leaves_a_volume_out_and_an_unknown_claim_is_refused(settings, cluster, store):
    add_data_volume(cluster)
    backend = ArgoBackend(store, settings, poll_interval=0.01)
    final, _ = run_cells(backend, store, PARALLEL, ["volume:data-pvc:none"])
    assert final.status == RunStatus.succeeded, final.error
    assert _data_mounts(posted(cluster, "/workflows")[0]) == []
    final, _ = run_cells(backend, store, SERIAL, ["volume:scratch:shared"])
    assert final.status == RunStatus.failed and "volume:scratch names no PVC of the notebook pod" in final.error
    assert "data-pvc" in final.error and cluster.snapshots == {}


def test_kfp_restores_a_snapshot_volume_into_its_own_claim_and_deletes_it(settings, cluster, store):
    add_data_volume(cluster)
    final, record = run_cells(
        KfpBackend(store, settings, poll_interval=0.01), store, SERIAL, ["volume:data-pvc:snapshot"]
    )
    assert final.status == RunStatus.succeeded, final.error
    claims = {c["metadata"]["name"]: c["spec"] for c in posted(cluster, "/persistentvolumeclaims")}
    (data_claim,) = record["extra_pvcs"]
    assert claims[data_claim]["dataSource"]["name"] in {s["metadata"]["name"] for s in posted(cluster, "/volumesnapshots")}
    (created,) = posted(cluster, "/runs")
    executors = created["pipeline_spec"]["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for config in executors.values():
        assert {"mountPath": "/mnt/data", "constant": data_claim} in config["pvcMount"]
    assert (cluster.namespace, data_claim) not in cluster.pvcs and cluster.snapshots == {}


def test_kfp_refuses_a_shared_volume_mounted_from_a_folder(settings, cluster, store):
    add_data_volume(cluster, sub_path="team-a")
    final, _ = run_cells(KfpBackend(store, settings, poll_interval=0.01), store, SERIAL)
    assert final.status == RunStatus.failed
    assert "volume 'data-pvc' is mounted from its folder 'team-a'" in final.error
    assert cluster.snapshots == {} and not [k for k in cluster.pvcs if k[1] != "home-pvc" and k[1] != "data-pvc"]


@pytest.mark.parametrize("tags,message", [
    (["volume:data-pvc:shared", "volume:data-pvc:none"], "a volume has one mode per run"),
    (["volume:data-pvc:copy"], "volume:<PVC name>:snapshot"),
])  # fmt: skip
def test_volume_tags_are_checked_when_compiling(tags, message):
    p = compile_notebook(build_notebook([("a = 1", ["step:one", *tags])]), notebook_path="v.ipynb")
    assert not p.valid and any(message in pr.message for pr in p.problems)


def test_the_notebooks_own_volume_left_out_gives_an_empty_run_volume(settings, cluster, store):
    final, record = run_cells(ArgoBackend(store, settings, poll_interval=0.01), store, SERIAL, ["volume:home-pvc:none"])
    assert final.status == RunStatus.succeeded, final.error
    (wf,) = posted(cluster, "/workflows")
    (claim,) = wf["spec"]["volumeClaimTemplates"]
    assert "dataSource" not in claim["spec"] and posted(cluster, "/volumesnapshots") == []
    assert "volume:home-pvc:none: steps start on an empty run volume" in record["notes"]
