"""Argo Workflow custom objects (argoproj.io/v1alpha1): create, read, stop, delete; pod logs."""

from __future__ import annotations

from typing import Any

from .client import ClusterError, KubeClients, api_error, delete_if_present

GROUP = "argoproj.io"
VERSION = "v1alpha1"
PLURAL = "workflows"
MAX_PREFIX = 253 - 10 - 1  # Argo keeps pod name prefixes short enough for the hash suffix


def _call(doing: str, fn, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        if getattr(exc, "status", None) is None:
            raise
        raise api_error(exc, doing) from None


def create_workflow(clients: KubeClients, manifest: dict[str, Any], namespace: str) -> dict[str, Any]:
    meta = manifest.get("metadata", {})
    what = meta.get("name") or meta.get("generateName", "") + "*"
    return _call(
        f"creating Workflow {namespace}/{what}",
        clients.custom.create_namespaced_custom_object,
        GROUP, VERSION, namespace, PLURAL, manifest,
    )  # fmt: skip


def get_workflow(clients: KubeClients, name: str, namespace: str) -> dict[str, Any]:
    return _call(
        f"reading Workflow {namespace}/{name}",
        clients.custom.get_namespaced_custom_object,
        GROUP, VERSION, namespace, PLURAL, name,
    )  # fmt: skip


def stop_workflow(clients: KubeClients, name: str, namespace: str) -> dict[str, Any]:
    """Ask Argo to stop the workflow (``spec.shutdown: Stop``: running pods end, exit handlers run)."""
    return _call(
        f"stopping Workflow {namespace}/{name}",
        clients.custom.patch_namespaced_custom_object,
        GROUP, VERSION, namespace, PLURAL, name, {"spec": {"shutdown": "Stop"}},
    )  # fmt: skip


def delete_workflow(clients: KubeClients, name: str, namespace: str) -> bool:
    """Delete a Workflow; False when it was already gone."""
    return delete_if_present(
        f"deleting Workflow {namespace}/{name}",
        clients.custom.delete_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name,
    )  # fmt: skip


def pod_log(clients: KubeClients, pod: str, namespace: str, container: str = "main") -> str:
    try:
        return clients.core.read_namespaced_pod_log(pod, namespace, container=container)
    except Exception as exc:
        if getattr(exc, "status", None) is None:
            raise
        raise api_error(exc, f"reading the log of pod {namespace}/{pod}") from None


def fnv32a(text: str) -> int:
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


POD_NAME_FORMAT = "workflows.argoproj.io/pod-name-format"


def pod_name_format(workflow: dict[str, Any]) -> str:
    """"v1" or "v2": what the controller recorded on the workflow (v2 when it says nothing)."""
    return ((workflow.get("metadata") or {}).get("annotations") or {}).get(POD_NAME_FORMAT) or "v2"


def pod_name(workflow: str, node: dict[str, Any], name_format: str = "v2") -> str:
    """The pod of a Pod node, as Argo names it: the node ID with POD_NAMES=v1, else (v2, the
    default since 3.4) ``<workflow>-<template>-<fnv32a of the node name>``."""
    if name_format == "v1":
        return node["id"]
    template = node.get("templateName") or ""
    if node.get("name") == workflow:
        return workflow
    prefix = f"{workflow}-{template}"[:MAX_PREFIX] if template else workflow
    return f"{prefix}-{fnv32a(node['name'])}"


def kfp_executor_pods(node_ids: list[str]) -> list[str]:
    """Pod names to try for a KFP task's executor, from the Argo node IDs KFP reports in
    ``child_tasks[].pod_name`` (its UI translates them the same way, kubeflow/pipelines#8935):
    with v2 names the executor runs the ``system-container-impl`` template, and its node ID is
    ``<workflow>-<hash>``; with v1 names the node ID is the pod's name."""
    v2 = []
    for node_id in reversed(node_ids):
        workflow, _, digest = node_id.rpartition("-")
        if workflow and digest.isdigit():
            prefix = f"{workflow}-system-container-impl"[:MAX_PREFIX]
            v2.append(f"{prefix}-{digest}")
    return v2 + list(reversed(node_ids))


def step_pod_nodes(workflow: dict[str, Any], step: str) -> list[dict[str, Any]]:
    """The Pod nodes of a DAG task (one per attempt when retried), oldest first."""
    nodes = (workflow.get("status") or {}).get("nodes") or {}
    def attempt_of_step(node: dict[str, Any]) -> bool:
        name = node.get("displayName") or ""
        return name == step or name.startswith(f"{step}(")  # retried: "step(0)", "step(1)", ...

    pods = [n for n in nodes.values() if n.get("type") == "Pod" and attempt_of_step(n)]
    return sorted(pods, key=lambda n: n.get("startedAt") or "")


def require_name(obj: dict[str, Any]) -> str:
    name = (obj.get("metadata") or {}).get("name")
    if not name:
        raise ClusterError("the API server returned a Workflow without a name")
    return name
