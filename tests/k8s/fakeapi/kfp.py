"""KFP v2beta1 REST routes: experiments, runs (validated with KFP's protobuf PipelineSpec), terminate."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from .cluster import FakeCluster
from .common import ApiFailure, now
from .kube import public
from .simulate import advance_kfp


def release(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def _authorization(path: str, method: str) -> tuple[str, str] | None:
    """What multi-user KFP 2.x authorizes a v2beta1 call as (verb, resource), from its API server's
    resource manager: list/create experiments, create/get/terminate runs, create/delete recurring runs."""
    m = re.match(r"^(experiments|runs|recurringruns)(/([^/:]+))?(:(\w+))?$", path)
    if not m:
        return None
    resource, name, action = m.group(1), m.group(3), m.group(5)
    if action:
        return action, resource
    verbs = {"GET": "get" if name else "list", "POST": "create", "DELETE": "delete"}
    return verbs[method], resource


def _authorize(c: FakeCluster, method: str, path: str, query: dict, body: Any) -> None:
    needed = _authorization(path, method)
    if needed is None:
        return
    c.kfp_authorized.add(needed)
    if needed in c.kfp_denied:
        ns = query.get("namespace", [None])[0] or (body or {}).get("namespace") or c.namespace
        raise ApiFailure(
            403, "PermissionDenied",
            f"Failed to authorize with API: PermissionDenied: User '{c.user}' is not authorized with reason:  "
            f"(request: &ResourceAttributes{{Namespace:{ns},Verb:{needed[0]},Group:pipelines.kubeflow.org,"
            f"Version:v1beta1,Resource:{needed[1]},Subresource:,Name:,}})",
        )  # fmt: skip


def kfp_route(c: FakeCluster, method: str, path: str, query: dict, body: Any):
    _authorize(c, method, path, query, body)
    if path == "healthz" and method == "GET":
        return 200, {"commit_sha": "fake", "tag_name": c.kfp_release, "multi_user": True}
    if path == "experiments":
        if method == "GET":
            flt = json.loads(query.get("filter", ["{}"])[0] or "{}")
            wanted = [
                p.get("string_value") for p in flt.get("predicates", []) if p.get("key") == "display_name"
            ]
            ns = query.get("namespace", [None])[0]
            exps = [
                e
                for e in c.experiments.values()
                if (not wanted or e["display_name"] in wanted) and (ns is None or e.get("namespace") == ns)
            ]
            return 200, ({"experiments": exps, "total_size": len(exps)} if exps else {})
        if method == "POST":
            if not isinstance(body, dict) or not body.get("display_name"):
                raise ApiFailure(
                    400,
                    "BadRequest",
                    "Invalid input error: Experiment name is empty. Please specify a valid experiment name",
                )
            if any(
                e["display_name"] == body["display_name"] and e.get("namespace") == body.get("namespace")
                for e in c.experiments.values()
            ):
                raise ApiFailure(
                    409,
                    "AlreadyExists",
                    f"Failed to create a new experiment: The name {body['display_name']} already exists. Please specify a new name",
                )
            exp = {
                **body,
                "experiment_id": secrets.token_hex(8),
                "created_at": now(),
                "storage_state": "AVAILABLE",
            }
            c.experiments[exp["experiment_id"]] = exp
            return 200, exp
    if path.startswith("recurringruns"):
        from .cron import recurring_run_route

        answer = recurring_run_route(c, method, path, body)
        if answer is not None:
            return answer
    if path == "runs" and method == "POST":
        run = validate_kfp_run(c, body)
        c.runs[run["run_id"]] = run
        return 200, public(run)
    m = re.match(r"^runs/([^/:]+)(:terminate)?$", path)
    if m:
        run = c.runs.get(m[1])
        if run is None:
            raise ApiFailure(
                404, "NotFound", f"Failed to get run: ResourceNotFoundError: Run {m[1]} not found"
            )
        if m[2] and method == "POST":
            run["_terminate"] = True
            return 200, {}
        if method == "GET" and not m[2]:
            advance_kfp(c, run)
            return 200, public(run)
    raise ApiFailure(404, "NotFound", f"Not Found: {method} /apis/v2beta1/{path}")


def validate_kfp_run(c: FakeCluster, body: Any) -> dict:
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    if not isinstance(body, dict):
        raise ApiFailure(400, "BadRequest", "Invalid input error: run is empty")
    allowed = {
        "display_name",
        "description",
        "experiment_id",
        "pipeline_spec",
        "pipeline_version_reference",
        "runtime_config",
        "service_account",
    }
    if set(body) - allowed:
        raise ApiFailure(400, "BadRequest", f"unknown field(s) {sorted(set(body) - allowed)} in Run")
    if not body.get("display_name"):
        raise ApiFailure(
            400, "BadRequest", "Invalid input error: The run name is empty. Please specify a valid name"
        )
    if body.get("experiment_id") not in c.experiments:
        raise ApiFailure(
            404,
            "NotFound",
            f"Failed to create a run: ResourceNotFoundError: Experiment {body.get('experiment_id')} not found",
        )
    spec = body.get("pipeline_spec")
    if not isinstance(spec, dict):
        raise ApiFailure(400, "BadRequest", "Invalid input error: pipeline spec is missing")
    pipeline_doc, platform = (
        (spec["pipeline_spec"], spec.get("platform_spec")) if "pipeline_spec" in spec else (spec, None)
    )
    try:
        pipeline = json_format.ParseDict(pipeline_doc, pipeline_spec_pb2.PipelineSpec())
        if platform is not None:
            json_format.ParseDict(platform, pipeline_spec_pb2.PlatformSpec())
    except json_format.ParseError as exc:
        raise ApiFailure(400, "BadRequest", f"Invalid input error: invalid pipeline spec: {exc}") from None
    declared = dict(pipeline.root.input_definitions.parameters)
    params = (body.get("runtime_config") or {}).get("parameters") or {}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ApiFailure(400, "BadRequest", f"Invalid input error: unrecognized input parameter(s) {unknown}")
    tasks = {}
    mounts = _pvc_mounts(platform)
    for key, task in pipeline.root.dag.tasks.items():
        tasks[key] = {"display_name": task.task_info.name or key, "deps": list(task.dependent_tasks)}
        params = task.inputs.parameters
        component = task.component_ref.name
        if component.startswith("comp-createpvc"):
            name = params["pvc_name"].runtime_value.constant.string_value if "pvc_name" in params else ""
            suffix = params["pvc_name_suffix"].runtime_value.constant.string_value if "pvc_name_suffix" in params else ""
            tasks[key]["create_pvc"] = name or secrets.token_hex(4) + suffix
            # KFP's driver: no storage_class_name input at all -> the class literally named "standard"
            tasks[key]["storage_class"] = (
                params["storage_class_name"].runtime_value.constant.string_value
                if "storage_class_name" in params
                else "standard"
            )
            if "data_source" in params and release(c.kfp_release) >= (2, 17):  # read from KFP 2.17 on
                tasks[key]["data_source"] = params["data_source"].runtime_value.constant.struct_value["name"]
        elif component.startswith("comp-deletepvc"):
            tasks[key]["delete_pvc"] = params["pvc_name"].task_output_parameter.producer_task
        executor = pipeline.components[component].executor_label if component in pipeline.components else ""
        if executor in mounts:
            tasks[key]["mount"] = mounts[executor]
    # Each driver parses its task's executor config with its own release's protos, strictly.
    from ..kfp_protos import strict_parse

    driver_errors = strict_parse(c.kfp_release, pipeline_doc, platform) if release(c.kfp_release) < (2, 4, 1) else []
    return {
        **body,
        "run_id": secrets.token_hex(8),
        "state": "PENDING",
        "created_at": now(),
        "run_details": {"task_details": []},
        "_tasks": tasks,
        "_driver_errors": driver_errors,
        "_workflow": re.sub(r"[^a-z0-9-]", "-", body["display_name"].lower())[:40].strip("-") + "-" + secrets.token_hex(3)[:5],
    }


def _pvc_mounts(platform: dict | None) -> dict[str, tuple[str, str]]:
    """executor label -> ("constant", claim) or ("task", producer task), as the drivers read them."""
    out: dict[str, tuple[str, str]] = {}
    executors = ((platform or {}).get("platforms", {}).get("kubernetes", {}).get("deploymentSpec", {}) or {}).get(
        "executors"
    ) or {}
    for label, config in executors.items():
        for mount in config.get("pvcMount") or []:
            if mount.get("constant"):
                out[label] = ("constant", mount["constant"])
            elif mount.get("taskOutputParameter"):
                out[label] = ("task", mount["taskOutputParameter"]["producerTask"])
    return out
