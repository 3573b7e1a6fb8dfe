"""Kubernetes routes: pods (and logs), PVCs, VolumeSnapshots and Workflows."""

from __future__ import annotations

import copy
import re
import secrets
from typing import Any

from .cluster import FakeCluster
from .common import API_VERSIONS, GROUPS, KINDS, ApiFailure, _resource_label, not_found, now
from .schemas import check_workflow, validate_create
from .simulate import advance_snapshot, advance_workflow

_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/(?P<version>[^/]+))/namespaces/(?P<ns>[^/]+)/(?P<res>[^/]+)"
    r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)


def k8s_route(c: FakeCluster, method: str, path: str, query: dict, body: Any, content_type: str | None):
    m = _PATH.match(path)
    if not m:
        raise ApiFailure(404, "NotFound", "the server could not find the requested resource")
    ns, res, name, sub = m["ns"], m["res"], m["name"], m["sub"]
    resource = f"{res}/{sub}" if sub else res
    if resource not in GROUPS or (m["group"] or "") != GROUPS[res]:
        raise ApiFailure(404, "NotFound", "the server could not find the requested resource")
    verb = {"GET": "get" if name else "list", "POST": "create", "PATCH": "patch", "DELETE": "delete"}[method]
    c.check_rbac(verb, resource, ns, name)
    if resource == "pods/log":
        if (ns, name) not in c.pods and (ns, name) not in c.logs:
            raise not_found("pods", name)
        return 200, c.logs.get((ns, name), "")
    table = {
        "pods": c.pods,
        "persistentvolumeclaims": c.pvcs,
        "volumesnapshots": c.snapshots,
        "workflows": c.workflows,
        "cronworkflows": c.cronworkflows,
    }[res]
    if method == "POST":
        if name:
            raise ApiFailure(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        obj = validate_create(c, res, ns, body)
        key = (ns, obj["metadata"]["name"])
        if key in table:
            raise ApiFailure(
                409,
                "AlreadyExists",
                f'{_resource_label(res)} "{key[1]}" already exists',
                {"name": key[1], "kind": res},
            )
        obj["metadata"].update(
            namespace=ns, uid=secrets.token_hex(8), creationTimestamp=now(), resourceVersion="1"
        )
        if res == "volumesnapshots":
            obj["status"] = {"readyToUse": False}
            obj["_reads"] = 0
        if res == "workflows":
            obj["status"] = {}
            # the controller records the pod-name format it uses on the workflow
            obj["metadata"].setdefault("annotations", {})["workflows.argoproj.io/pod-name-format"] = (
                c.pod_name_format
            )
        if res == "persistentvolumeclaims":
            admit_pvc(c, obj)
        table[key] = obj
        return 201, public(obj)
    if not name:
        items = [public(o) for (n, _), o in table.items() if n == ns]
        return 200, {
            "kind": KINDS.get(res, "Pod") + "List",
            "apiVersion": API_VERSIONS.get(res, "v1"),
            "items": items,
        }
    key = (ns, name)
    if key not in table:
        raise not_found(res, name)
    obj = table[key]
    if method == "GET":
        if res == "volumesnapshots":
            advance_snapshot(c, obj)
        if res == "workflows":
            advance_workflow(c, obj)
        return 200, public(obj)
    if method == "DELETE":
        del table[key]
        return 200, {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "kind": res},
        }
    if method == "PATCH":
        if content_type != "application/merge-patch+json":
            raise ApiFailure(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )
        if not isinstance(body, dict):
            raise ApiFailure(400, "BadRequest", "merge patch must be a JSON object")
        _merge(obj, body)
        if res == "workflows":
            check_workflow(obj, name)
        return 200, public(obj)
    raise ApiFailure(405, "MethodNotAllowed", "method not allowed")


def admit_pvc(c: FakeCluster, obj: dict) -> None:
    """What the API server and the provisioner do with a new claim: no class named gets the
    cluster's default class (DefaultStorageClass admission); a class nobody provides never binds."""
    spec = obj.setdefault("spec", {})
    if "storageClassName" not in spec and c.default_storage_class:
        spec["storageClassName"] = c.default_storage_class
    bound = spec.get("storageClassName") in c.storage_classes
    obj["status"] = {"phase": "Bound", "capacity": {"storage": spec["resources"]["requests"]["storage"]}} if bound else {"phase": "Pending"}


def permissions_used(c: FakeCluster) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) of every Kubernetes request the server received."""
    used = set()
    for r in c.requests:
        m = _PATH.match(r["path"])
        if not m:
            continue
        resource = f"{m['res']}/{m['sub']}" if m["sub"] else m["res"]
        verb = {
            "GET": "get" if m["name"] else "list",
            "POST": "create",
            "PATCH": "patch",
            "DELETE": "delete",
        }[r["method"]]
        used.add((m["group"] or "", resource, verb))
    return used


def public(obj: Any) -> Any:
    """What the API shows: the fake's own bookkeeping (keys starting with "_") left out."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return copy.deepcopy(obj)


def _merge(target: dict, patch: dict) -> None:
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)
