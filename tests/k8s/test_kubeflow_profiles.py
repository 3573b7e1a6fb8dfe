"""Kubeflow profiles: runs go to the notebook pod's namespace, the KFP API is called with the
projected token Kubeflow names in KF_PIPELINES_SA_TOKEN_PATH, and a 401/403 says which token and
which permission. The fake KFP authorizes calls as multi-user KFP does (pipelines.kubeflow.org)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import SecretStr

from jupyter_kf.backends.kfp import KfpBackend
from jupyter_kf.k8s.config import ClusterSettings
from jupyter_kf.k8s.kfp_api import KfpApi
from jupyter_kf.models import RunStatus

from .test_cluster_backends import posted, start


def test_kubeflows_token_path_variable_is_honoured(tmp_path: Path, sa_dir: Path, cluster):
    projected = tmp_path / "kfp-token"
    projected.write_text(cluster.token)
    s = ClusterSettings.from_env({"KF_PIPELINES_SA_TOKEN_PATH": str(projected), "KF_SERVICE_ACCOUNT_DIR": str(sa_dir)})
    assert s.kfp_token_path == str(projected)
    s = s.model_copy(update={"kfp_endpoint": "http://kfp.invalid"})
    assert KfpApi(s)._token_and_source() == (cluster.token, f"the projected token {projected}")
    # KF_KFP_TOKEN_PATH, when given, wins
    assert ClusterSettings.from_env({"KF_PIPELINES_SA_TOKEN_PATH": "/a", "KF_KFP_TOKEN_PATH": "/b"}).kfp_token_path == "/b"


def test_runs_go_to_the_notebook_pods_namespace(settings, cluster, store):
    _, _, handle = start(KfpBackend(store, settings, poll_interval=0.01), store)
    assert handle.wait(30).status == RunStatus.succeeded
    (experiment,) = posted(cluster, "/apis/v2beta1/experiments")
    assert experiment["namespace"] == cluster.namespace == "team"


def test_a_403_names_the_missing_permission_and_loses_nothing(settings, cluster, store):
    cluster.kfp_denied = {("create", "runs")}
    _, run, handle = start(KfpBackend(store, settings, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.failed
    assert "KFP answered 403 (the service account needs 'create' on 'runs' (API group pipelines.kubeflow.org)" in final.error
    assert "kubeflow-pipelines-edit" in final.error
    assert [k for k in cluster.pvcs if k[1] != "home-pvc"] == [] and cluster.snapshots == {}


def test_a_401_says_which_token_was_refused(settings, cluster, store):
    wrong = settings.model_copy(update={"kfp_token": SecretStr("not-the-token")})
    _, _, handle = start(KfpBackend(store, wrong, poll_interval=0.01), store)
    final = handle.wait(30)
    assert final.status == RunStatus.failed and "KFP answered 401" in final.error
    assert "KFP did not accept KF_KFP_TOKEN" in final.error and "KF_PIPELINES_SA_TOKEN_PATH" in final.error
    assert "not-the-token" not in final.error
    plain = settings.model_copy(update={"kfp_token_path": str(Path(settings.service_account_dir) / "missing")})
    assert "the plain service-account token" in KfpApi(plain)._token_and_source()[1]


def test_deploy_rbac_grants_exactly_what_kfp_authorizes(settings, cluster, store):
    """Both ways: every KFP permission the backend's calls were authorized for is in the
    jupyter-kf-pipelines Role of deploy/rbac.yaml, and the Role grants nothing else."""
    _, _, handle = start(KfpBackend(store, settings, poll_interval=0.01), store)
    run = handle.wait(30)
    api = KfpApi(settings)
    api.terminate_run(run.external_id)  # what a cancel sends
    experiment = api.ensure_experiment("sched", cluster.namespace)
    recurring = api.create_recurring_run({
        "display_name": "nightly", "experiment_id": experiment, "mode": "ENABLE",
        "pipeline_spec": posted(cluster, "/apis/v2beta1/runs")[0]["pipeline_spec"],
        "trigger": {"cron_schedule": {"cron": "0 0 3 * * *"}}, "max_concurrency": "1",
    })  # fmt: skip
    api.delete_recurring_run(recurring["recurring_run_id"])
    rbac = Path(__file__).parents[2] / "deploy" / "rbac.yaml"
    role = next(d for d in yaml.safe_load_all(rbac.read_text()) if d["metadata"]["name"] == "jupyter-kf-pipelines")
    granted = {(v, r) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
    assert {g for rule in role["rules"] for g in rule["apiGroups"]} == {"pipelines.kubeflow.org"}
    assert cluster.kfp_authorized == granted
