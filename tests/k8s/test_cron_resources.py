"""A schedule as an Argo CronWorkflow and a KFP recurring run, checked against their own published
models: Hera's CronWorkflow (Argo's schema) and kfp-server-api's V2beta1RecurringRun, with the
pipeline spec parsed by KFP's protobuf PipelineSpec."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from kf_testing import build_notebook

from jupyter_kf.k8s.cron import ClusterScheduleError, cluster_cron, cron_workflow, recurring_run
from jupyter_kf.models import Schedule

from .fakeapi.schemas import _unknown_fields

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
CELLS = [("n = 3", ["pipeline-parameters"]), ("x = n * 2", ["step:a", "image:python:3.12"]),
         ("y = x + 1", ["step:b", "image:python:3.12"])]


@pytest.fixture
def pipeline():
    from jupyter_kf_converter import compile_notebook

    return compile_notebook(build_notebook(CELLS), notebook_path="demo.ipynb")


def _schedule(**kw) -> Schedule:
    fields = {"id": "sch-0a1b2c3d", "name": "Nightly train", "notebook": "/home/jovyan/demo.ipynb",
              "cron": "30 2 * * *", "parameters": {"n": 5}, "created_at": NOW, "updated_at": NOW, "anchor": NOW}
    return Schedule(**{**fields, **kw})


def argo_causes(obj: dict) -> list[str]:
    from hera.workflows.models import CronWorkflow
    from pydantic import ValidationError

    try:
        model = CronWorkflow.model_validate(obj)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return _unknown_fields(obj, model.model_dump(by_alias=True, exclude_none=True, mode="json"), "")


def kfp_causes(body: dict) -> list[str]:
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from kfp_server_api import ApiClient
    from kfp_server_api.models import V2beta1RecurringRun

    causes = [f"{k}: unknown field" for k in sorted(set(body) - set(V2beta1RecurringRun.attribute_map.values()))]

    class _Resp:
        data = json.dumps(body)

    try:
        ApiClient().deserialize(_Resp(), "V2beta1RecurringRun")
    except (ValueError, TypeError) as exc:
        causes.append(str(exc))
    spec = body["pipeline_spec"]
    try:
        json_format.ParseDict(spec["pipeline_spec"], pipeline_spec_pb2.PipelineSpec())
        json_format.ParseDict(spec["platform_spec"], pipeline_spec_pb2.PlatformSpec())
    except json_format.ParseError as exc:
        causes.append(f"pipeline_spec: {exc}")
    cron = body["trigger"].get("cron_schedule", {}).get("cron")
    if cron is not None and len(cron.split()) != 6:  # KFP's cron has a seconds field
        causes.append(f"trigger.cron_schedule.cron: {cron!r} is not a 6-field cron")
    return causes


def test_cron_workflow_is_valid_and_carries_the_schedule(pipeline):
    cw = cron_workflow(_schedule(timezone="Europe/Berlin", overlap="skip", missed="skip"), pipeline,
                       clone_pvc="home-pvc")
    assert argo_causes(cw) == []
    spec = cw["spec"]
    assert (spec["schedules"], spec["timezone"], spec["concurrencyPolicy"], spec["startingDeadlineSeconds"]) == (
        ["30 2 * * *"], "Europe/Berlin", "Forbid", 0)
    (claim,) = spec["workflowSpec"]["volumeClaimTemplates"]
    assert claim["spec"]["dataSource"] == {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": "home-pvc"}
    args = {p["name"]: p["value"] for p in spec["workflowSpec"]["arguments"]["parameters"]}
    assert args == {"n": "5"}
    assert spec["workflowMetadata"]["labels"]["jupyter-kf/schedule"] == "sch-0a1b2c3d"
    assert cw["metadata"]["name"] == "nightly-train-sch-0a1b2c3d"


def test_the_argo_check_rejects_what_argo_would(pipeline):
    cw = cron_workflow(_schedule(), pipeline)
    cw["spec"]["concurrencyPolicy"] = 3
    cw["spec"]["scheduleEvery"] = "1h"
    causes = argo_causes(cw)
    assert causes and any("concurrencyPolicy" in c for c in causes)
    del cw["spec"]["concurrencyPolicy"]
    assert argo_causes(cw) == ["spec.scheduleEvery"]


def test_recurring_run_is_valid_and_carries_the_schedule(pipeline):
    body = recurring_run(_schedule(cron="0 3 * * 1-5", overlap="allow", paused=True), pipeline,
                         experiment_id="exp-1")
    assert kfp_causes(body) == []
    assert body["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * 1-5"}}
    assert (body["mode"], body["max_concurrency"], body["no_catchup"], body["experiment_id"]) == (
        "DISABLE", "10", False, "exp-1")
    assert body["runtime_config"] == {"parameters": {"n": 5}}
    # a per-run clone of the notebook's PVC needs CreatePVC's data_source (KFP >= 2.17): refused
    with pytest.raises(ClusterScheduleError, match="copy of the notebook's volume 'home-pvc'.*--target argo"):
        recurring_run(_schedule(), pipeline, clone_pvc="home-pvc")
    periodic = recurring_run(_schedule(cron=None, interval=900, missed="skip"), pipeline)
    assert kfp_causes(periodic) == []
    assert periodic["trigger"] == {"periodic_schedule": {"interval_second": "900"}} and periodic["no_catchup"]


def test_the_kfp_check_rejects_what_kfp_would(pipeline):
    body = recurring_run(_schedule(), pipeline)
    body["trigger"] = {"cron_schedule": {"cron": "0 3 * * *"}}
    body["schedule_every"] = "1h"
    assert kfp_causes(body) == [
        "schedule_every: unknown field", "trigger.cron_schedule.cron: '0 3 * * *' is not a 6-field cron"]


@pytest.mark.parametrize(
    ("build", "fields", "field"),
    [
        (cron_workflow, {"overlap": "queue"}, "overlap"),
        (recurring_run, {"timezone": "Europe/Berlin"}, "timezone"),
        (cron_workflow, {"cron": None, "interval": 7 * 60}, "interval"),
    ],
)
def test_what_a_cluster_scheduler_cannot_do_is_refused(pipeline, build, fields, field):
    with pytest.raises(ClusterScheduleError) as info:
        build(_schedule(**fields), pipeline)
    assert info.value.field == field


@pytest.mark.parametrize(("seconds", "cron"), [(60, "* * * * *"), (900, "*/15 * * * *"), (3600, "0 * * * *"),
                                                (6 * 3600, "0 */6 * * *"), (86400, "0 0 * * *")])
def test_intervals_as_cron(seconds, cron):
    assert cluster_cron(_schedule(cron=None, interval=seconds)) == cron


def test_schedule_export_command(tmp_path: Path, monkeypatch):
    import nbformat

    from jupyter_kf.models import ScheduleRequest
    from jupyter_kf.schedules import ScheduleService
    from jupyter_kf.service import PipelineService

    monkeypatch.setenv("JUPYTER_KF_REGISTRY", str(tmp_path / "kf-stores.json"))
    nbformat.write(build_notebook(CELLS), tmp_path / "demo.ipynb")
    svc = PipelineService(tmp_path)
    s = ScheduleService(svc).create(ScheduleRequest(notebook="demo.ipynb", cron="0 4 * * *", timezone="Asia/Tokyo"))
    svc.close()
    kf = str(Path(sys.executable).with_name("jupyter-kf"))

    def export(*args):
        return subprocess.run([kf, "schedule", "export", s.id, *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)

    argo = export("--target", "argo", "--clone-pvc", "home-pvc")
    assert argo.returncode == 0, argo.stderr
    cw = yaml.safe_load(argo.stdout)
    assert argo_causes(cw) == [] and cw["spec"]["timezone"] == "Asia/Tokyo"
    refused = export("--target", "kfp")
    assert refused.returncode == 2 and "timezone: KFP recurring runs follow UTC" in refused.stderr
