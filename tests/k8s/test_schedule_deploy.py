"""`jupyter kf schedule deploy`: a schedule handed to Argo (CronWorkflow) or KFP (recurring run),
created in the fake API, which checks them against Hera's and kfp-server-api's models."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from jupyter_kf.k8s.client import ClusterError
from jupyter_kf.k8s.cron import ClusterScheduleError
from jupyter_kf.models import ScheduleFields, ScheduleRequest
from jupyter_kf.schedules import ScheduleConflictError, Scheduler, ScheduleService
from jupyter_kf.service import PipelineService

from .fakeapi.kube import permissions_used

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _settings_from_env(monkeypatch):
    from jupyter_kf.k8s import backend

    monkeypatch.setattr(backend, "_DEFAULT_SETTINGS", None)


@pytest.fixture
def schedules(project):
    now = [T0]
    svc = PipelineService(project)
    yield ScheduleService(svc, clock=lambda: now[0]), now
    svc.close()


def test_deploy_to_argo_and_back(schedules, cluster):
    service, now = schedules
    s = service.create(ScheduleRequest(notebook="proj/demo.ipynb", cron="30 2 * * *", timezone="Europe/Berlin",
                                       parameters={"n": 6}))
    deployed = service.deploy(s.id, "argo")
    ((key, cw),) = cluster.cronworkflows.items()
    assert key == (cluster.namespace, deployed.deployed.name) and deployed.deployed.target == "argo"
    spec = cw["spec"]
    assert (spec["schedules"], spec["timezone"]) == (["30 2 * * *"], "Europe/Berlin")
    (claim,) = spec["workflowSpec"]["volumeClaimTemplates"]
    assert claim["spec"]["dataSource"]["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["dataSource"]["name"] == "home-pvc"  # the PVC holding the notebook's folder
    assert {p["name"]: p["value"] for p in spec["workflowSpec"]["arguments"]["parameters"]}["n"] == "6"
    assert not [r for r in cluster.requests if r["path"].endswith("/volumesnapshots")]  # nothing taken now

    now[0] = T0 + timedelta(days=1)
    assert Scheduler(service).tick() == []  # the cluster runs it, not jupyter-kf
    with pytest.raises(ScheduleConflictError, match="undeploy"):
        service.update(s.id, ScheduleFields(cron="0 4 * * *"))
    back = service.undeploy(s.id)
    assert back.deployed is None and cluster.cronworkflows == {}

    rbac = Path(__file__).parents[2] / "deploy" / "rbac.yaml"
    role = next(d for d in yaml.safe_load_all(rbac.read_text()) if d["kind"] == "Role")
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
               for v in rule["verbs"]}
    used = permissions_used(cluster)
    assert {("argoproj.io", "cronworkflows", "create"), ("argoproj.io", "cronworkflows", "delete")} <= used
    assert used <= granted, used - granted


def test_deploy_to_kfp_and_delete(schedules, cluster, monkeypatch):
    service, _ = schedules
    s = service.create(ScheduleRequest(notebook="proj/demo.ipynb", interval=3600, missed="skip"))
    # from the notebook pod, each run would need a clone of its PVC, which KFP 2.2-2.5 cannot make
    with pytest.raises(ClusterScheduleError, match="copy of the notebook's volume"):
        service.deploy(s.id, "kfp")
    assert cluster.recurring_runs == {} and service.get(s.id).deployed is None
    monkeypatch.setenv("KF_INHERIT_POD", "false")  # steps on their own volume: a recurring run can
    deployed = service.deploy(s.id, "kfp")
    rr = cluster.recurring_runs[deployed.deployed.name]
    assert rr["trigger"] == {"periodic_schedule": {"interval_second": "3600"}} and rr["no_catchup"] is True
    assert rr["experiment_id"] in cluster.experiments
    service.delete(s.id)  # deleting a deployed schedule removes its recurring run too
    assert cluster.recurring_runs == {}


def test_what_the_cluster_cannot_do_is_refused_before_any_request(schedules, cluster):
    service, _ = schedules
    s = service.create(ScheduleRequest(notebook="proj/demo.ipynb", cron="0 3 * * *", overlap="queue"))
    sent = len(cluster.requests)
    with pytest.raises(ClusterScheduleError, match="overlap"):
        service.deploy(s.id, "argo")
    s2 = service.create(ScheduleRequest(notebook="proj/demo.ipynb", cron="0 3 * * *", timezone="Asia/Tokyo"))
    with pytest.raises(ClusterScheduleError, match="timezone"):
        service.deploy(s2.id, "kfp")
    assert len(cluster.requests) == sent
    assert service.get(s.id).deployed is None


def test_the_fake_refuses_what_argo_would(schedules, cluster, monkeypatch):
    from jupyter_kf.k8s import cron_deploy

    service, _ = schedules
    s = service.create(ScheduleRequest(notebook="proj/demo.ipynb", cron="0 3 * * *"))
    real = cron_deploy.cron_workflow

    def broken(*args, **kwargs):
        cw = real(*args, **kwargs)
        cw["spec"]["scheduleEvery"] = "1d"
        return cw

    monkeypatch.setattr(cron_deploy, "cron_workflow", broken)
    with pytest.raises(ClusterError, match="scheduleEvery: unknown field"):
        service.deploy(s.id, "argo")
    assert cluster.cronworkflows == {} and service.get(s.id).deployed is None


def test_deploy_commands(project, cluster):
    import json
    import subprocess
    import sys

    kf = str(Path(sys.executable).with_name("jupyter-kf"))

    def run(*args):
        return subprocess.run([kf, "schedule", *args], cwd=project, capture_output=True, text=True, timeout=120)

    made = run("create", "proj/demo.ipynb", "--cron", "0 5 * * *", "--json")
    assert made.returncode == 0, made.stderr
    sid = json.loads(made.stdout)["id"]
    deployed = run("deploy", sid, "--target", "argo")
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed   CronWorkflow team/" in deployed.stdout and len(cluster.cronworkflows) == 1
    edit = run("edit", sid, "--cron", "0 6 * * *")
    assert edit.returncode == 2 and f"jupyter kf schedule undeploy {sid}" in edit.stderr
    assert run("undeploy", sid).returncode == 0 and cluster.cronworkflows == {}
    queued = json.loads(run("create", "proj/demo.ipynb", "--cron", "0 5 * * *", "--overlap", "queue", "--json").stdout)
    refused = run("deploy", queued["id"], "--target", "argo")
    assert refused.returncode == 2 and "overlap: Argo cannot queue" in refused.stderr
