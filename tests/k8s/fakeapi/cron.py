"""Cluster-side schedules in the fake: Argo CronWorkflows (checked with Hera's CronWorkflow model)
and KFP v2beta1 recurring runs (checked with kfp-server-api's V2beta1RecurringRun model, the pipeline
spec with KFP's protobuf PipelineSpec), refused as the real servers would refuse them."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from .cluster import FakeCluster
from .common import ApiFailure, now


def cron_workflow_causes(obj: dict) -> list[str]:
    from hera.workflows.models import CronWorkflow
    from pydantic import ValidationError

    from .schemas import _unknown_fields

    try:
        model = CronWorkflow.model_validate(obj)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]]
    causes = [f"{p}: unknown field" for p in _unknown_fields(
        obj, model.model_dump(by_alias=True, exclude_none=True, mode="json"), "")[:5]]
    if not (obj.get("spec") or {}).get("schedules"):
        causes.append("spec.schedules: Required value: at least one cron schedule")
    return causes


def recurring_run_causes(c: FakeCluster, body: Any) -> list[str]:
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from kfp_server_api import ApiClient
    from kfp_server_api.models import V2beta1RecurringRun

    if not isinstance(body, dict):
        return ["recurring run is empty"]
    causes = [f"unknown field {k!r}" for k in sorted(set(body) - set(V2beta1RecurringRun.attribute_map.values()))]

    class _Resp:
        data = json.dumps(body)

    try:
        ApiClient().deserialize(_Resp(), "V2beta1RecurringRun")
    except (ValueError, TypeError) as exc:
        causes.append(str(exc))
    if body.get("experiment_id") not in c.experiments:
        causes.append(f"experiment {body.get('experiment_id')!r} not found")
    spec = body.get("pipeline_spec") or {}
    doc = spec.get("pipeline_spec", spec)
    try:
        json_format.ParseDict(doc, pipeline_spec_pb2.PipelineSpec())
        if "platform_spec" in spec:
            json_format.ParseDict(spec["platform_spec"], pipeline_spec_pb2.PlatformSpec())
    except json_format.ParseError as exc:
        causes.append(f"invalid pipeline spec: {exc}")
    trigger = body.get("trigger") or {}
    cron = (trigger.get("cron_schedule") or {}).get("cron")
    if cron is not None and len(cron.split()) != 6:
        causes.append(f"invalid cron {cron!r}: KFP expects 6 fields (seconds first)")
    if not (cron or (trigger.get("periodic_schedule") or {}).get("interval_second")):
        causes.append("trigger: a cron_schedule or a periodic_schedule is required")
    return causes


def recurring_run_route(c: FakeCluster, method: str, path: str, body: Any):
    if path == "recurringruns" and method == "POST":
        causes = recurring_run_causes(c, body)
        if causes:
            raise ApiFailure(400, "BadRequest", "Invalid input error: " + "; ".join(causes))
        made = {**body, "recurring_run_id": secrets.token_hex(8), "created_at": now(), "status": "ENABLED"
                if body.get("mode", "ENABLE") == "ENABLE" else "DISABLED"}
        c.recurring_runs[made["recurring_run_id"]] = made
        return 200, made
    m = re.match(r"^recurringruns/([^/:]+)$", path)
    if m:
        if m[1] not in c.recurring_runs:
            raise ApiFailure(404, "NotFound", f"Failed to get recurring run: ResourceNotFoundError: {m[1]} not found")
        if method == "GET":
            return 200, c.recurring_runs[m[1]]
        if method == "DELETE":
            del c.recurring_runs[m[1]]
            return 200, {}
    return None
