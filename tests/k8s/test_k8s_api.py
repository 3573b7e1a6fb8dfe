"""jupyter_kf.k8s against the fake API server: own pod, image/env inheritance, VolumeSnapshots,
PVCs, Workflows, KFP REST, with the error answers the real servers give."""

from __future__ import annotations

import json

import pytest

from jupyter_kf.k8s.client import ClusterConfigError, ClusterError, KubeClients
from jupyter_kf.k8s.config import ClusterSettings
from jupyter_kf.k8s.kfp_api import KfpApi
from jupyter_kf.k8s.pod import read_own_pod, volume_for
from jupyter_kf.k8s.volumes import create_snapshot, delete_pvc, delete_snapshot, wait_ready
from jupyter_kf.k8s.workflows import create_workflow, delete_workflow, get_workflow, stop_workflow

from .conftest import POD


def test_own_pod_gives_pvc_image_by_digest_env_and_service_account(settings):
    pod = read_own_pod(KubeClients(settings))
    assert pod.name == POD and pod.namespace == "team"
    assert pod.image == "registry.example/notebook@sha256:" + "ab" * 32
    assert pod.service_account == "notebook"
    # plain values only; secrets and credential-looking names never copied
    assert pod.env == {"LANG": "C.UTF-8", "DATA_ROOT": "/home/jovyan/data"}
    vol = pod.volume_for("/home/jovyan/projects/demo")
    assert (vol.claim, vol.mount_path, vol.relative) == ("home-pvc", "/home/jovyan", "projects/demo")


def test_folder_not_on_a_pvc_is_a_clear_error(settings):
    pod = read_own_pod(KubeClients(settings))
    with pytest.raises(ClusterError, match=r"/tmp/elsewhere is not on a PersistentVolumeClaim in pod 'nb-0'"):
        pod.volume_for("/tmp/elsewhere")


def test_deepest_mount_wins():
    pod = {
        "metadata": {"name": "p"},
        "spec": {
            "volumes": [
                {"name": "a", "persistentVolumeClaim": {"claimName": "home"}},
                {"name": "b", "persistentVolumeClaim": {"claimName": "data"}},
            ],
            "containers": [
                {
                    "name": "c",
                    "volumeMounts": [
                        {"name": "a", "mountPath": "/home/jovyan"},
                        {"name": "b", "mountPath": "/home/jovyan/data", "subPath": "x"},
                    ],
                }
            ],
        },
    }
    v = volume_for(pod, "/home/jovyan/data/proj")
    assert (v.claim, v.sub_path) == ("data", "x")
    assert volume_for(pod, "/home/jovyan/database").claim == "home"  # a prefix of a name is not a parent


def test_missing_own_pod_is_404_with_a_hint(settings):
    s = settings.model_copy(update={"pod_name": "not-me"})
    with pytest.raises(
        ClusterError, match=r"pod 'not-me' was not found in namespace 'team' \(is HOSTNAME"
    ) as err:
        read_own_pod(KubeClients(s))
    assert err.value.status == 404


def test_forbidden_pod_read_carries_the_rbac_message(settings, cluster):
    cluster.denied.add(("get", "pods"))
    with pytest.raises(ClusterError) as err:
        read_own_pod(KubeClients(settings))
    assert err.value.status == 403
    assert 'User "system:serviceaccount:team:notebook" cannot get resource "pods"' in str(err.value)
    assert "deploy/rbac.yaml" in str(err.value)


def test_wrong_token_is_unauthorized(settings, sa_dir):
    (sa_dir / "token").write_text("not-the-token")
    with pytest.raises(ClusterError) as err:
        read_own_pod(KubeClients(settings))
    assert err.value.status == 401


def test_token_file_is_reread_for_rotation(settings, sa_dir, cluster):
    clients = KubeClients(settings)
    read_own_pod(clients)
    cluster.token = "rotated-" + cluster.token
    (sa_dir / "token").write_text(cluster.token)
    assert read_own_pod(clients).name == POD  # same client, new token


def test_snapshot_created_then_ready(settings, cluster):
    clients = KubeClients(settings)
    info = create_snapshot(clients, "home-pvc", "team", name="home-pvc-run1", snapshot_class="csi-rbd-snap")
    (req,) = [r for r in cluster.requests if r["method"] == "POST"]
    assert req["body"]["spec"] == {
        "source": {"persistentVolumeClaimName": "home-pvc"},
        "volumeSnapshotClassName": "csi-rbd-snap",
    }
    assert cluster.snapshots[("team", "home-pvc-run1")]["status"] == {"readyToUse": False}
    ready = wait_ready(clients, info, timeout=5, poll=0.01)
    assert ready.size == "5Gi" and ready.storage_class == "csi-rbd"
    gets = [r for r in cluster.requests if r["method"] == "GET" and "volumesnapshots" in r["path"]]
    assert len(gets) == cluster.snapshot_ready_after  # polled until ready, not once more
    assert delete_snapshot(clients, "home-pvc-run1", "team") is True
    assert delete_snapshot(clients, "home-pvc-run1", "team") is False  # 404: already gone


def test_snapshot_that_never_gets_ready_names_storage_and_snapshot_class(settings, cluster):
    cluster.unsnapshottable_classes.add("csi-rbd")
    clients = KubeClients(settings)
    info = create_snapshot(clients, "home-pvc", "team", name="s-never")
    with pytest.raises(ClusterError) as err:
        wait_ready(clients, info, timeout=0.3, poll=0.05)
    msg = str(err.value)
    assert "VolumeSnapshot team/s-never of PVC 'home-pvc' was not ready after 0.3s" in msg
    assert "StorageClass is 'csi-rbd'" in msg and "VolumeSnapshotClass '(cluster default)'" in msg


def test_snapshot_error_from_the_csi_side_is_reported(settings, cluster):
    clients = KubeClients(settings)
    info = create_snapshot(clients, "home-pvc", "team", name="s-err")
    del cluster.pvcs[("team", "home-pvc")]  # the snapshotter cannot find the claim any more
    with pytest.raises(ClusterError, match=r'failed: .*persistentvolumeclaims "home-pvc" not found'):
        wait_ready(clients, info, timeout=5, poll=0.01)


def test_snapshot_create_errors_forbidden_conflict_missing_pvc(settings, cluster):
    clients = KubeClients(settings)
    create_snapshot(clients, "home-pvc", "team", name="dup")
    with pytest.raises(ClusterError) as err:
        create_snapshot(clients, "home-pvc", "team", name="dup")
    assert err.value.status == 409 and 'volumesnapshots.snapshot.storage.k8s.io "dup" already exists' in str(
        err.value
    )
    with pytest.raises(ClusterError) as err:
        create_snapshot(clients, "no-such-pvc", "team")
    assert err.value.status == 404 and 'persistentvolumeclaims "no-such-pvc" not found' in str(err.value)
    cluster.denied.add(("create", "volumesnapshots"))
    with pytest.raises(ClusterError) as err:
        create_snapshot(clients, "home-pvc", "team", name="other")
    assert err.value.status == 403
    assert (
        'volumesnapshots.snapshot.storage.k8s.io is forbidden: User "system:serviceaccount:team:notebook" '
        'cannot create resource "volumesnapshots" in API group "snapshot.storage.k8s.io"'
    ) in str(err.value)


def test_invalid_snapshot_name_is_rejected_like_the_api(settings):
    with pytest.raises(ClusterError) as err:
        create_snapshot(KubeClients(settings), "home-pvc", "team", name="Bad_Name")
    assert err.value.status == 422 and "RFC 1123" in str(err.value)


def test_pvc_delete_and_404(settings, cluster):
    clients = KubeClients(settings)
    assert delete_pvc(clients, "home-pvc", "team") is True
    assert delete_pvc(clients, "home-pvc", "team") is False
    cluster.denied.add(("delete", "persistentvolumeclaims"))
    with pytest.raises(ClusterError, match='cannot delete resource "persistentvolumeclaims"'):
        delete_pvc(clients, "x", "team")


def _workflow(name="wf-") -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": name},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "img:1"}}]},
    }


def test_workflow_create_get_stop_delete(settings, cluster):
    clients = KubeClients(settings)
    created = create_workflow(clients, _workflow(), "team")
    name = created["metadata"]["name"]
    assert name.startswith("wf-")
    assert get_workflow(clients, name, "team")["metadata"]["name"] == name
    stop_workflow(clients, name, "team")
    patch = [r for r in cluster.requests if r["method"] == "PATCH"][-1]
    assert patch["body"] == {"spec": {"shutdown": "Stop"}}
    assert patch["content_type"] == "application/merge-patch+json"
    assert cluster.workflows[("team", name)]["spec"]["shutdown"] == "Stop"
    assert delete_workflow(clients, name, "team") is True
    with pytest.raises(ClusterError) as err:
        get_workflow(clients, name, "team")
    assert err.value.status == 404 and f'workflows.argoproj.io "{name}" not found' in str(err.value)


def test_workflow_schema_errors_are_rejected(settings):
    bad = _workflow()
    bad["spec"]["templates"][0]["container"]["resources"] = {"limits": "lots"}  # not a map
    with pytest.raises(ClusterError) as err:
        create_workflow(KubeClients(settings), bad, "team")
    assert err.value.status == 422
    unknown = _workflow()
    unknown["spec"]["templates"][0]["containr"] = {"image": "x"}
    with pytest.raises(ClusterError, match="unknown field"):
        create_workflow(KubeClients(settings), unknown, "team")


def test_kfp_experiment_is_created_once_and_runs_validated(settings, cluster):
    api = KfpApi(settings)
    exp = api.ensure_experiment("jupyter-kf", "team")
    assert api.ensure_experiment("jupyter-kf", "team") == exp
    assert len(cluster.experiments) == 1
    with pytest.raises(ClusterError) as err:
        api.create_run(display_name="r", experiment_id=exp, compiled_yaml="pipelineInfo: {nam: x}\n")
    assert err.value.status == 400 and "invalid pipeline spec" in str(err.value)
    with pytest.raises(ClusterError) as err:
        api.get_run("nope")
    assert err.value.status == 404


def test_kfp_without_endpoint_is_not_configured(settings):
    with pytest.raises(ClusterConfigError, match="KF_KFP_ENDPOINT"):
        KfpApi(settings.model_copy(update={"kfp_endpoint": None}))


def test_kfp_token_from_the_projected_path_wins(settings, sa_dir, cluster):
    projected = sa_dir / "kfp-token"
    projected.write_text(cluster.token)
    (sa_dir / "token").write_text("service-account-token-not-for-kfp")
    api = KfpApi(settings.model_copy(update={"kfp_token_path": str(projected)}))
    assert api.healthz()["multi_user"] is True
    assert cluster.requests[-1]["auth"] == f"Bearer {cluster.token}"


def test_settings_from_env_and_jupyter_config(monkeypatch):
    from traitlets.config import Config

    from jupyter_kf.k8s.config import KubernetesConfig

    env = {
        "KF_KFP_ENDPOINT": "http://kfp:8888",
        "KF_ARGO_NAMESPACE": "argo",
        "KF_SNAPSHOT_TIMEOUT": "12",
        "KF_KEEP_SNAPSHOT": "1",
        "KF_K8S_TOKEN": "secret-token-value",
    }
    s = ClusterSettings.from_env(env)
    assert (s.kfp_endpoint, s.argo_namespace, s.snapshot_timeout, s.keep_snapshot) == (
        "http://kfp:8888",
        "argo",
        12,
        True,
    )
    assert "secret-token-value" not in repr(s) and "secret-token-value" not in s.model_dump_json()
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    cfg = Config()
    cfg.KubernetesConfig.argo_namespace = "from-config"
    s = KubernetesConfig(config=cfg).settings()
    assert s.argo_namespace == "from-config" and s.kfp_endpoint == "http://kfp:8888"
    with pytest.raises(ValueError, match="KF_SNAPSHOT_TIMEOUT"):
        ClusterSettings.from_env({"KF_SNAPSHOT_TIMEOUT": "soon"})


def test_no_token_in_any_request_body(settings, cluster):
    clients = KubeClients(settings)
    create_snapshot(clients, "home-pvc", "team", name="s1")
    create_workflow(clients, _workflow(), "team")
    bodies = json.dumps([r["body"] for r in cluster.requests])
    assert cluster.token not in bodies


def test_fake_rejects_pvc_bodies_the_real_api_rejects(settings, cluster):
    """The fake validates core kinds with the kubernetes client's models (required fields)."""
    from kubernetes.client.exceptions import ApiException

    core = KubeClients(settings).core
    good = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "run-work"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "dataSource": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "s1"},
        },
    }
    core.create_namespaced_persistent_volume_claim("team", good)
    bad = json.loads(json.dumps(good))
    bad["metadata"]["name"] = "run-work-2"
    del bad["spec"]["dataSource"]["name"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_persistent_volume_claim("team", bad)
    assert err.value.status == 422 and "name" in json.loads(err.value.body)["message"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_persistent_volume_claim("team", good)
    assert err.value.status == 409


def test_configure_from_a_jupyter_app_sets_the_backends_defaults(tmp_path, monkeypatch):
    from traitlets.config import Config, Configurable

    from jupyter_kf.backends.argo import ArgoBackend
    from jupyter_kf.k8s.backend import configure, set_default_settings
    from jupyter_kf.store import RunStore

    monkeypatch.setenv("KF_KFP_ENDPOINT", "http://env-kfp:8888")
    cfg = Config()
    cfg.KubernetesConfig.argo_namespace = "from-server-config"
    app = Configurable(config=cfg)  # stands in for the ServerApp
    try:
        s = configure(app)
        assert (s.argo_namespace, s.kfp_endpoint) == ("from-server-config", "http://env-kfp:8888")
        with RunStore(tmp_path / "kf-runs", register=False) as store:
            assert ArgoBackend(store).settings.argo_namespace == "from-server-config"
    finally:
        set_default_settings(None)
