"""A fake Kubernetes API server (and KFP REST API) at the HTTP boundary, for tests.

A real HTTP server on 127.0.0.1 in a thread. It validates request bodies against the schemas of
the kinds involved (kubernetes client models for core kinds, the VolumeSnapshot CRD's v1 schema,
Hera's generated Argo models for Workflows, KFP's protobuf PipelineSpec for runs) and answers as
the real servers do: Status objects with 401/403/404/409/422, RBAC-style Forbidden messages,
snapshots that become ready after a few reads (or fail, like a CSI driver that cannot snapshot),
and workflows / KFP runs that progress along their DAG, one step per read.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

RFC1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
GROUPS = {
    "pods": "",
    "pods/log": "",
    "persistentvolumeclaims": "",
    "volumesnapshots": "snapshot.storage.k8s.io",
    "workflows": "argoproj.io",
}
KINDS = {
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "volumesnapshots": "VolumeSnapshot",
    "workflows": "Workflow",
}
API_VERSIONS = {
    "persistentvolumeclaims": "v1",
    "volumesnapshots": "snapshot.storage.k8s.io/v1",
    "workflows": "argoproj.io/v1alpha1",
}
SNAPSHOT_SPEC_FIELDS = {"source", "volumeSnapshotClassName"}
SNAPSHOT_SOURCE_FIELDS = {"persistentVolumeClaimName", "volumeSnapshotContentName"}


class ApiFailure(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict[str, Any]:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _resource_label(resource: str) -> str:
    group = GROUPS[resource]
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str) -> ApiFailure:
    return ApiFailure(404, "NotFound", f'{_resource_label(resource)} "{name}" not found', {"name": name, "kind": resource})


def invalid(kind: str, resource: str, name: str, causes: list[str]) -> ApiFailure:
    group = GROUPS[resource]
    label = f"{kind}.{group}" if group else kind
    return ApiFailure(422, "Invalid", f'{label} "{name}" is invalid: {", ".join(causes)}', {"name": name, "kind": kind})


@dataclass
class FakeCluster:
    """State and behaviour knobs of the fake API server."""

    namespace: str = "team"
    service_account: str = "notebook"
    token: str = field(default_factory=lambda: "tok-" + secrets.token_hex(16))
    denied: set[tuple[str, str]] = field(default_factory=set)  # (verb, resource)
    pods: dict[tuple[str, str], dict] = field(default_factory=dict)
    pvcs: dict[tuple[str, str], dict] = field(default_factory=dict)
    snapshots: dict[tuple[str, str], dict] = field(default_factory=dict)
    workflows: dict[tuple[str, str], dict] = field(default_factory=dict)
    logs: dict[tuple[str, str], str] = field(default_factory=dict)
    snapshot_ready_after: int = 2  # reads before readyToUse
    unsnapshottable_classes: set[str] = field(default_factory=set)  # storage classes whose driver fails
    fail_steps: set[str] = field(default_factory=set)  # steps that fail in workflows and KFP runs
    unavailable_reads: int = 0  # the next N reads of workflows/KFP runs answer 503
    step_log_tail: dict[str, str] = field(default_factory=dict)  # what a KFP step's pod prints last
    requests: list[dict[str, Any]] = field(default_factory=list)
    # KFP
    experiments: dict[str, dict] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def check_rbac(self, verb: str, resource: str, namespace: str, name: str | None) -> None:
        if (verb, resource) in self.denied:
            group = GROUPS[resource]
            who = f'{_resource_label(resource)} "{name}"' if name else _resource_label(resource)
            raise ApiFailure(
                403,
                "Forbidden",
                f'{who} is forbidden: User "{self.user}" cannot {verb} resource "{resource}" in API group '
                f'"{group}" in the namespace "{namespace}"',
                {"name": name or "", "kind": resource},
            )

    # -- fixtures ----------------------------------------------------------------------------
    def add_notebook_pod(
        self,
        name: str,
        *,
        claim: str = "home-pvc",
        mount_path: str = "/home/jovyan",
        image: str = "registry.example/notebook:v1",
        digest: str = "sha256:" + "ab" * 32,
        env: list[dict[str, Any]] | None = None,
        storage_class: str = "csi-rbd",
    ) -> dict:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": self.namespace, "uid": secrets.token_hex(8)},
            "spec": {
                "serviceAccountName": self.service_account,
                "containers": [
                    {
                        "name": "notebook",
                        "image": image,
                        "env": env or [],
                        "volumeMounts": [
                            {"name": "home", "mountPath": mount_path},
                            {"name": "sa-token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
                        ],
                    }
                ],
                "volumes": [
                    {"name": "home", "persistentVolumeClaim": {"claimName": claim}},
                    {"name": "sa-token", "projected": {"sources": []}},
                ],
            },
            "status": {
                "phase": "Running",
                "containerStatuses": [
                    {"name": "notebook", "image": image, "imageID": f"{image.split(':')[0]}@{digest}", "ready": True,
                     "restartCount": 0}
                ],
            },
        }
        self.pods[(self.namespace, name)] = pod
        self.pvcs[(self.namespace, claim)] = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "namespace": self.namespace},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                     "resources": {"requests": {"storage": "5Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}},
        }
        return pod


class FakeApiServer:
    """``with FakeApiServer() as api: api.url ...``; ``api.cluster`` holds the state."""

    def __init__(self, cluster: FakeCluster | None = None) -> None:
        self.cluster = cluster or FakeCluster()
        handler = type("Handler", (_Handler,), {"cluster": self.cluster})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiFailure(400, "BadRequest", "the body of the request was not valid JSON") from None

    def _handle(self, method: str) -> None:
        c = self.cluster
        url = urlparse(self.path)
        try:
            body = self._body() if method in ("POST", "PATCH", "PUT") else None
            with c.lock:
                c.requests.append(
                    {"method": method, "path": url.path, "query": url.query, "body": body,
                     "content_type": self.headers.get("Content-Type"), "auth": self.headers.get("Authorization")}
                )
            if self.headers.get("Authorization") != f"Bearer {c.token}":
                raise ApiFailure(401, "Unauthorized", "Unauthorized")
            if method == "GET" and c.unavailable_reads and ("/workflows/" in url.path or "/runs/" in url.path):
                with c.lock:
                    c.unavailable_reads -= 1
                raise ApiFailure(503, "ServiceUnavailable", "the server is currently unable to handle the request")
            with c.lock:
                if url.path.startswith("/apis/v2beta1/"):
                    code, out = _kfp(c, method, url.path[len("/apis/v2beta1/") :], parse_qs(url.query), body)
                else:
                    code, out = _k8s(c, method, url.path, parse_qs(url.query), body, self.headers.get("Content-Type"))
            if isinstance(out, str):
                self._send(code, out, "text/plain")
            else:
                self._send(code, out)
        except ApiFailure as f:
            self._send(f.code, f.status())
        except Exception as exc:  # a bug in the fake: answer 500 instead of dropping the connection
            self._send(500, ApiFailure(500, "InternalError", f"fake apiserver: {exc!r}").status())

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


# -- Kubernetes ---------------------------------------------------------------------------------
_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/(?P<version>[^/]+))/namespaces/(?P<ns>[^/]+)/(?P<res>[^/]+)"
    r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$"
)


def _k8s(c: FakeCluster, method: str, path: str, query: dict, body: Any, content_type: str | None):
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
    table = {"pods": c.pods, "persistentvolumeclaims": c.pvcs, "volumesnapshots": c.snapshots, "workflows": c.workflows}[res]
    if method == "POST":
        if name:
            raise ApiFailure(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        obj = _validate_create(c, res, ns, body)
        key = (ns, obj["metadata"]["name"])
        if key in table:
            raise ApiFailure(409, "AlreadyExists", f'{_resource_label(res)} "{key[1]}" already exists',
                             {"name": key[1], "kind": res})
        obj["metadata"].update(namespace=ns, uid=secrets.token_hex(8), creationTimestamp=now(), resourceVersion="1")
        if res == "volumesnapshots":
            obj["status"] = {"readyToUse": False}
            obj["_reads"] = 0
        if res == "workflows":
            obj["status"] = {}
        table[key] = obj
        return 201, _public(obj)
    if not name:
        items = [_public(o) for (n, _), o in table.items() if n == ns]
        return 200, {"kind": KINDS.get(res, "Pod") + "List", "apiVersion": API_VERSIONS.get(res, "v1"), "items": items}
    key = (ns, name)
    if key not in table:
        raise not_found(res, name)
    obj = table[key]
    if method == "GET":
        if res == "volumesnapshots":
            _advance_snapshot(c, obj)
        if res == "workflows":
            _advance_workflow(c, obj)
        return 200, _public(obj)
    if method == "DELETE":
        del table[key]
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                     "details": {"name": name, "kind": res}}
    if method == "PATCH":
        if content_type != "application/merge-patch+json":
            raise ApiFailure(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
        if not isinstance(body, dict):
            raise ApiFailure(400, "BadRequest", "merge patch must be a JSON object")
        _merge(obj, body)
        if res == "workflows":
            _check_workflow(obj, name)
        return 200, _public(obj)
    raise ApiFailure(405, "MethodNotAllowed", "method not allowed")


def permissions_used(c: FakeCluster) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) of every Kubernetes request the server received."""
    used = set()
    for r in c.requests:
        m = _PATH.match(r["path"])
        if not m:
            continue
        resource = f"{m['res']}/{m['sub']}" if m["sub"] else m["res"]
        verb = {"GET": "get" if m["name"] else "list", "POST": "create", "PATCH": "patch", "DELETE": "delete"}[r["method"]]
        used.add((m["group"] or "", resource, verb))
    return used


def _public(obj: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def _merge(target: dict, patch: dict) -> None:
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            _merge(target[k], v)
        else:
            target[k] = copy.deepcopy(v)


def _validate_create(c: FakeCluster, res: str, ns: str, body: Any) -> dict:
    if not isinstance(body, dict):
        raise ApiFailure(400, "BadRequest", "the body of the request was empty or not an object")
    obj = copy.deepcopy(body)
    kind = KINDS[res]
    meta = obj.get("metadata") or {}
    if obj.get("apiVersion") != API_VERSIONS[res] or obj.get("kind") != kind:
        raise ApiFailure(400, "BadRequest", f"the API version in the data ({obj.get('apiVersion')}) does not match "
                         f"the expected API version ({API_VERSIONS[res]}) or kind {obj.get('kind')!r} != {kind!r}")
    if meta.get("namespace") not in (None, ns):
        raise ApiFailure(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
    name = meta.get("name") or ""
    obj["metadata"] = meta
    causes = []
    if not name:
        causes.append("metadata.name: Required value: name or generateName is required")
    elif len(name) > 253 or not RFC1123_SUBDOMAIN.match(name):
        causes.append(f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower '
                      "case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character")
    if res == "volumesnapshots":
        causes += _snapshot_causes(obj)
    elif res == "workflows":
        causes += _workflow_causes(obj)
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
            causes.append("spec.source: Invalid value: exactly one of persistentVolumeClaimName and "
                          "volumeSnapshotContentName should be set")
    klass = spec.get("volumeSnapshotClassName")
    if klass is not None and not (isinstance(klass, str) and RFC1123_SUBDOMAIN.match(klass)):
        causes.append(f"spec.volumeSnapshotClassName: Invalid value: {klass!r}")
    return causes


def _workflow_causes(obj: dict) -> list[str]:
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
        return [p for i, (g, k) in enumerate(zip(given, kept)) for p in _unknown_fields(g, k, f"{where}[{i}]")]
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


def _check_workflow(obj: dict, name: str) -> None:
    causes = _workflow_causes({k: v for k, v in obj.items() if not k.startswith("_") and k != "status"})
    shutdown = (obj.get("spec") or {}).get("shutdown")
    if shutdown not in (None, "Stop", "Terminate"):
        causes.append(f'spec.shutdown: Unsupported value: "{shutdown}"')
    if causes:
        raise invalid("Workflow", "workflows", name, causes)


def _advance_snapshot(c: FakeCluster, obj: dict) -> None:
    if obj["status"].get("readyToUse") or obj["status"].get("error"):
        return
    ns = obj["metadata"]["namespace"]
    claim = obj["spec"]["source"].get("persistentVolumeClaimName")
    pvc = c.pvcs.get((ns, claim))
    if pvc is None:
        obj["status"]["error"] = {"time": now(), "message": f'failed to get input parameters to create snapshot: persistentvolumeclaims "{claim}" not found'}
        return
    if pvc["spec"].get("storageClassName") in c.unsnapshottable_classes:
        return  # no CSI snapshotter for that driver: the snapshot never becomes ready
    obj["_reads"] += 1
    if obj["_reads"] >= c.snapshot_ready_after:
        obj["status"] = {"readyToUse": True, "restoreSize": pvc["status"]["capacity"]["storage"], "creationTime": now(),
                         "boundVolumeSnapshotContentName": "snapcontent-" + obj["metadata"]["uid"]}


def fnv32a(text: str) -> int:
    h = 2166136261
    for b in text.encode():
        h = ((h ^ b) * 16777619) % (1 << 32)
    return h


def _advance_workflow(c: FakeCluster, wf: dict) -> None:
    """One tick: finish running nodes, start the ones whose dependencies succeeded."""
    status = wf.setdefault("status", {})
    if status.get("phase") in ("Succeeded", "Failed", "Error"):
        return
    name = wf["metadata"]["name"]
    entry = next(t for t in wf["spec"]["templates"] if t["name"] == wf["spec"]["entrypoint"])
    if "dag" not in entry:
        return  # only DAG workflows are simulated
    dag = entry["dag"]
    nodes = status.setdefault("nodes", {})
    by_task = {n["displayName"]: n for n in nodes.values() if n.get("type") == "Pod"}
    status["phase"] = "Running"
    status.setdefault("startedAt", now())
    stop = (wf["spec"].get("shutdown") == "Stop")
    for n in by_task.values():
        if n["phase"] == "Running":
            task = n["displayName"]
            if stop:
                n.update(phase="Failed", message="Stopped with strategy 'Stop'", finishedAt=now())
            elif task in c.fail_steps:
                n.update(phase="Failed", message="Error (exit code 1)", finishedAt=now())
            else:
                n.update(phase="Succeeded", finishedAt=now(),
                         outputs={"parameters": [{"name": "metrics", "value": json.dumps({"ran": task})}]})
            c.logs[(wf["metadata"]["namespace"], _pod(name, n))] = f"log of step {task}\n"
    if not stop:
        for task in dag["tasks"]:
            if task["name"] in by_task:
                continue
            deps = task.get("dependencies", [])
            if all(by_task.get(d, {}).get("phase") == "Succeeded" for d in deps):
                node_name = f"{name}.{task['name']}"
                node_id = f"{name}-{fnv32a(node_name)}"
                nodes[node_id] = {"id": node_id, "name": node_name, "displayName": task["name"], "type": "Pod",
                                  "templateName": task["template"], "phase": "Running", "startedAt": now()}
                by_task[task["name"]] = nodes[node_id]
    phases = {t["name"]: by_task.get(t["name"], {}).get("phase") for t in dag["tasks"]}
    if any(p == "Running" for p in phases.values()):
        return
    if all(p == "Succeeded" for p in phases.values()):
        status.update(phase="Succeeded", finishedAt=now())
    elif stop or any(p == "Failed" for p in phases.values()):
        status.update(phase="Failed", finishedAt=now(),
                      message="Stopped with strategy 'Stop'" if stop else "child failed")


def _pod(workflow: str, node: dict) -> str:
    return f"{workflow}-{node['templateName']}-{fnv32a(node['name'])}"


# -- KFP REST -----------------------------------------------------------------------------------
def _kfp(c: FakeCluster, method: str, path: str, query: dict, body: Any):
    if path == "healthz" and method == "GET":
        return 200, {"commit_sha": "fake", "tag_name": "2.4.0", "multi_user": True}
    if path == "experiments":
        if method == "GET":
            flt = json.loads(query.get("filter", ["{}"])[0] or "{}")
            wanted = [p.get("string_value") for p in flt.get("predicates", []) if p.get("key") == "display_name"]
            ns = query.get("namespace", [None])[0]
            exps = [e for e in c.experiments.values() if (not wanted or e["display_name"] in wanted)
                    and (ns is None or e.get("namespace") == ns)]
            return 200, ({"experiments": exps, "total_size": len(exps)} if exps else {})
        if method == "POST":
            if not isinstance(body, dict) or not body.get("display_name"):
                raise ApiFailure(400, "BadRequest", "Invalid input error: Experiment name is empty. Please specify a valid experiment name")
            if any(e["display_name"] == body["display_name"] and e.get("namespace") == body.get("namespace")
                   for e in c.experiments.values()):
                raise ApiFailure(409, "AlreadyExists", f"Failed to create a new experiment: The name {body['display_name']} already exists. Please specify a new name")
            exp = {**body, "experiment_id": secrets.token_hex(8), "created_at": now(), "storage_state": "AVAILABLE"}
            c.experiments[exp["experiment_id"]] = exp
            return 200, exp
    if path == "runs" and method == "POST":
        run = _validate_kfp_run(c, body)
        c.runs[run["run_id"]] = run
        return 200, _public(run)
    m = re.match(r"^runs/([^/:]+)(:terminate)?$", path)
    if m:
        run = c.runs.get(m[1])
        if run is None:
            raise ApiFailure(404, "NotFound", f"Failed to get run: ResourceNotFoundError: Run {m[1]} not found")
        if m[2] and method == "POST":
            run["_terminate"] = True
            return 200, {}
        if method == "GET" and not m[2]:
            _advance_kfp(c, run)
            return 200, _public(run)
    raise ApiFailure(404, "NotFound", f"Not Found: {method} /apis/v2beta1/{path}")


def _validate_kfp_run(c: FakeCluster, body: Any) -> dict:
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    if not isinstance(body, dict):
        raise ApiFailure(400, "BadRequest", "Invalid input error: run is empty")
    allowed = {"display_name", "description", "experiment_id", "pipeline_spec", "pipeline_version_reference",
               "runtime_config", "service_account"}
    if set(body) - allowed:
        raise ApiFailure(400, "BadRequest", f"unknown field(s) {sorted(set(body) - allowed)} in Run")
    if not body.get("display_name"):
        raise ApiFailure(400, "BadRequest", "Invalid input error: The run name is empty. Please specify a valid name")
    if body.get("experiment_id") not in c.experiments:
        raise ApiFailure(404, "NotFound", f"Failed to create a run: ResourceNotFoundError: Experiment {body.get('experiment_id')} not found")
    spec = body.get("pipeline_spec")
    if not isinstance(spec, dict):
        raise ApiFailure(400, "BadRequest", "Invalid input error: pipeline spec is missing")
    pipeline_doc, platform = (spec["pipeline_spec"], spec.get("platform_spec")) if "pipeline_spec" in spec else (spec, None)
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
    for key, task in pipeline.root.dag.tasks.items():
        tasks[key] = {"display_name": task.task_info.name or key, "deps": list(task.dependent_tasks)}
    return {**body, "run_id": secrets.token_hex(8), "state": "PENDING", "created_at": now(),
            "run_details": {"task_details": []}, "_tasks": tasks}


def _advance_kfp(c: FakeCluster, run: dict) -> None:
    if run["state"] in ("SUCCEEDED", "FAILED", "CANCELED"):
        return
    details = {t["display_name"]: t for t in run["run_details"]["task_details"]}
    terminate = run.get("_terminate")
    run["state"] = "RUNNING"
    for key, t in run["_tasks"].items():
        d = details.get(t["display_name"])
        if d and d["state"] == "RUNNING":
            if terminate:
                d.update(state="CANCELED", end_time=now())
            elif t["display_name"] in c.fail_steps:
                d.update(state="FAILED", end_time=now(), error={"message": "task failed: exit status 1"})
            else:
                d.update(state="SUCCEEDED", end_time=now())
            c.logs[(c.namespace, d["child_tasks"][-1]["pod_name"])] = (
                f"kfp log of {t['display_name']}\n" + c.step_log_tail.get(t["display_name"], "")
            )
    if not terminate:
        for key, t in run["_tasks"].items():
            if t["display_name"] in details:
                continue
            keyed = {k: details.get(run["_tasks"][k]["display_name"]) for k in t["deps"]}
            if all(v and v["state"] == "SUCCEEDED" for v in keyed.values()):
                pod = f"{run['display_name'].split()[0]}-{key}-{secrets.token_hex(3)}"
                d = {"task_id": secrets.token_hex(6), "display_name": t["display_name"], "state": "RUNNING",
                     "start_time": now(), "end_time": "1970-01-01T00:00:00Z",
                     "child_tasks": [{"pod_name": pod + "-driver"}, {"pod_name": pod}]}
                run["run_details"]["task_details"].append(d)
                details[t["display_name"]] = d
    states = [details.get(t["display_name"], {}).get("state") for t in run["_tasks"].values()]
    if "RUNNING" in states:
        return
    if all(s == "SUCCEEDED" for s in states):
        run.update(state="SUCCEEDED", finished_at=now())
    elif terminate:
        run.update(state="CANCELED", finished_at=now())
    elif "FAILED" in states:
        failed = [t["display_name"] for t in run["_tasks"].values() if details.get(t["display_name"], {}).get("state") == "FAILED"]
        run.update(state="FAILED", finished_at=now(), error={"message": f"task(s) failed: {', '.join(failed)}"})
