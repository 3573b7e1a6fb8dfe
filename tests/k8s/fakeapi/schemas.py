"""Request bodies checked against the kinds' schemas, as the API server (or controller) would."""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

from .cluster import FakeCluster
from .common import (
    API_VERSIONS,
    KINDS,
    RFC1123_SUBDOMAIN,
    SNAPSHOT_SOURCE_FIELDS,
    SNAPSHOT_SPEC_FIELDS,
    ApiFailure,
    invalid,
)


def validate_create(c: FakeCluster, res: str, ns: str, body: Any) -> dict:
    if not isinstance(body, dict):
        raise ApiFailure(400, "BadRequest", "the body of the request was empty or not an object")
    obj = copy.deepcopy(body)
    kind = KINDS[res]
    meta = obj.get("metadata") or {}
    if obj.get("apiVersion") != API_VERSIONS[res] or obj.get("kind") != kind:
        raise ApiFailure(
            400,
            "BadRequest",
            f"the API version in the data ({obj.get('apiVersion')}) does not match "
            f"the expected API version ({API_VERSIONS[res]}) or kind {obj.get('kind')!r} != {kind!r}",
        )
    if meta.get("namespace") not in (None, ns):
        raise ApiFailure(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
    name = meta.get("name") or ""
    obj["metadata"] = meta
    causes = []
    if not name:
        causes.append("metadata.name: Required value: name or generateName is required")
    elif len(name) > 253 or not RFC1123_SUBDOMAIN.match(name):
        causes.append(
            f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower '
            "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        )
    if res == "volumesnapshots":
        causes += _snapshot_causes(obj)
    elif res == "workflows":
        causes += workflow_causes(obj)
    elif res == "cronworkflows":
        from .cron import cron_workflow_causes

        causes += cron_workflow_causes(obj)
    elif res == "persistentvolumeclaims":
        causes += _core_model_causes(obj, "V1PersistentVolumeClaim")
    if causes:
        raise invalid(kind, res, name, causes)
    return obj


def _snapshot_causes(obj: dict) -> list[str]:
    """The VolumeSnapshot v1 CRD schema (external-snapshotter): spec.source is required and holds
    exactly one of persistentVolumeClaimName / volumeSnapshotContentName; no other fields."""
    spec = obj.get("spec")
    causes = []
    if not isinstance(spec, dict):
        return ["spec: Required value"]
    for k in sorted(set(spec) - SNAPSHOT_SPEC_FIELDS):
        causes.append(f'spec.{k}: unknown field "{k}"')
    source = spec.get("source")
    if not isinstance(source, dict):
        causes.append("spec.source: Required value")
    else:
        for k in sorted(set(source) - SNAPSHOT_SOURCE_FIELDS):
            causes.append(f'spec.source.{k}: unknown field "{k}"')
        if sum(1 for k in SNAPSHOT_SOURCE_FIELDS if source.get(k)) != 1:
            causes.append(
                "spec.source: Invalid value: exactly one of persistentVolumeClaimName and "
                "volumeSnapshotContentName should be set"
            )
    klass = spec.get("volumeSnapshotClassName")
    if klass is not None and not (isinstance(klass, str) and RFC1123_SUBDOMAIN.match(klass)):
        causes.append(f"spec.volumeSnapshotClassName: Invalid value: {klass!r}")
    return causes


def workflow_causes(obj: dict) -> list[str]:
    """Argo's schema through Hera's generated models; a field the models drop is unknown."""
    from hera.workflows.models import Workflow
    from pydantic import ValidationError

    try:
        model = Workflow.model_validate(obj)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]]
    dumped = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    unknown = _unknown_fields(obj, dumped, "")
    return [f"{p}: unknown field" for p in unknown[:5]]


def _unknown_fields(given: Any, kept: Any, where: str) -> list[str]:
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [where or "."]
        out = []
        for k, v in given.items():
            if k not in kept:
                if v not in (None, {}, []):
                    out.append(f"{where}.{k}" if where else k)
            else:
                out += _unknown_fields(v, kept[k], f"{where}.{k}" if where else k)
        return out
    if isinstance(given, list) and isinstance(kept, list):
        return [
            p for i, (g, k) in enumerate(zip(given, kept)) for p in _unknown_fields(g, k, f"{where}[{i}]")
        ]
    return []


def _core_model_causes(obj: dict, model: str) -> list[str]:
    from kubernetes import client

    class _Resp:
        data = json.dumps(obj)

    try:
        client.ApiClient().deserialize(_Resp(), model)
    except (ValueError, TypeError) as exc:
        return [str(exc)]
    return []


def check_workflow(obj: dict, name: str) -> None:
    causes = workflow_causes({k: v for k, v in obj.items() if not k.startswith("_") and k != "status"})
    shutdown = (obj.get("spec") or {}).get("shutdown")
    if shutdown not in (None, "Stop", "Terminate"):
        causes.append(f'spec.shutdown: Unsupported value: "{shutdown}"')
    if causes:
        raise invalid("Workflow", "workflows", name, causes)
