"""CSI VolumeSnapshots of the notebook's PVC, and the run volumes restored from them."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .client import ClusterError, KubeClients, api_error, delete_if_present

GROUP = "snapshot.storage.k8s.io"
VERSION = "v1"
PLURAL = "volumesnapshots"
LABELS = {"app.kubernetes.io/managed-by": "jupyter-kf"}


@dataclass
class VolumeSnapshotInfo:
    name: str
    namespace: str
    source_pvc: str
    storage_class: str | None
    snapshot_class: str | None
    size: str | None  # the restore size (or the source PVC's request)


def k8s_name(*parts: str, limit: int = 63) -> str:
    """An RFC 1123 label from ``parts`` (lower-case, dashes), cut to ``limit`` characters."""
    text = "-".join(p for p in parts if p).lower()
    text = re.sub(r"[^a-z0-9-]+", "-", text).strip("-")
    text = re.sub(r"-{2,}", "-", text)
    return text[:limit].rstrip("-") or "kf"


def unique_name(prefix: str, unique: str, suffix: str = "", limit: int = 63) -> str:
    """``<prefix>-<unique>[-<suffix>]`` as an RFC 1123 label: only the prefix is ever cut, so
    names made for different runs never collide, however long the pipeline's name."""
    tail = k8s_name(unique, suffix)
    head = k8s_name(prefix, limit=max(1, limit - len(tail) - 1))
    return k8s_name(head, tail, limit=limit)


def create_pvc(
    clients: KubeClients,
    name: str,
    namespace: str,
    *,
    size: str,
    access_modes: list[str],
    storage_class: str | None = None,
    snapshot: str | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Create a run volume (restored from ``snapshot`` when given). No ``storage_class``: the
    claim names none, so the cluster's default class provisions it."""
    spec: dict[str, Any] = {"accessModes": list(access_modes), "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    if snapshot:
        spec["dataSource"] = {"apiGroup": GROUP, "kind": "VolumeSnapshot", "name": snapshot}
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace, "labels": {**LABELS, **(labels or {})}},
        "spec": spec,
    }
    try:
        return clients.api_client.sanitize_for_serialization(
            clients.core.create_namespaced_persistent_volume_claim(namespace, body)
        )
    except Exception as exc:
        if getattr(exc, "status", None) is None:
            raise
        raise api_error(exc, f"creating PersistentVolumeClaim {namespace}/{name}") from None


def read_pvc(clients: KubeClients, name: str, namespace: str) -> dict[str, Any]:
    try:
        return clients.api_client.sanitize_for_serialization(
            clients.core.read_namespaced_persistent_volume_claim(name, namespace)
        )
    except Exception as exc:
        if getattr(exc, "status", None) is None:
            raise
        raise api_error(exc, f"reading PersistentVolumeClaim {namespace}/{name}") from None


def delete_pvc(clients: KubeClients, name: str, namespace: str) -> bool:
    """Delete a PVC; False when it was already gone."""
    return delete_if_present(
        f"deleting PersistentVolumeClaim {namespace}/{name}",
        clients.core.delete_namespaced_persistent_volume_claim, name, namespace,
    )  # fmt: skip


def create_snapshot(
    clients: KubeClients,
    pvc: str,
    namespace: str,
    *,
    name: str | None = None,
    snapshot_class: str | None = None,
    labels: dict[str, str] | None = None,
) -> VolumeSnapshotInfo:
    """Create a VolumeSnapshot of ``pvc`` (not waiting for it; see :func:`wait_ready`)."""
    source = read_pvc(clients, pvc, namespace)
    name = name or k8s_name(pvc, "kf", secrets.token_hex(3))
    body: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": namespace, "labels": {**LABELS, **(labels or {})}},
        "spec": {"source": {"persistentVolumeClaimName": pvc}},
    }
    if snapshot_class:
        body["spec"]["volumeSnapshotClassName"] = snapshot_class
    try:
        clients.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    except Exception as exc:
        if getattr(exc, "status", None) is None:
            raise
        raise api_error(exc, f"creating VolumeSnapshot {namespace}/{name} of PVC {pvc!r}") from None
    spec = source.get("spec", {})
    return VolumeSnapshotInfo(
        name=name,
        namespace=namespace,
        source_pvc=pvc,
        storage_class=spec.get("storageClassName"),
        snapshot_class=snapshot_class,
        size=spec.get("resources", {}).get("requests", {}).get("storage")
        or source.get("status", {}).get("capacity", {}).get("storage"),
    )


def get_snapshot(clients: KubeClients, name: str, namespace: str) -> dict[str, Any]:
    try:
        return clients.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
    except Exception as exc:
        if getattr(exc, "status", None) is None:
            raise
        raise api_error(exc, f"reading VolumeSnapshot {namespace}/{name}") from None


def wait_ready(
    clients: KubeClients, info: VolumeSnapshotInfo, *, timeout: float = 300.0, poll: float = 1.0
) -> VolumeSnapshotInfo:
    """Poll until ``status.readyToUse``; a clear error on a snapshot error or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        snap = get_snapshot(clients, info.name, info.namespace)
        status = snap.get("status") or {}
        if status.get("readyToUse"):
            info.size = status.get("restoreSize") or info.size
            info.snapshot_class = snap.get("spec", {}).get("volumeSnapshotClassName") or info.snapshot_class
            return info
        error = (status.get("error") or {}).get("message")
        if error or time.monotonic() >= deadline:
            reason = f"failed: {error}" if error else f"was not ready after {timeout:g}s"
            raise ClusterError(
                f"VolumeSnapshot {info.namespace}/{info.name} of PVC {info.source_pvc!r} {reason}. "
                f"The PVC's StorageClass is {info.storage_class or '(default)'!r} and the "
                f"VolumeSnapshotClass {info.snapshot_class or '(cluster default)'!r}: the CSI driver "
                "behind them must support snapshots (a VolumeSnapshotClass for that driver). Set "
                "KF_SNAPSHOT_CLASS, or KF_SNAPSHOT=0 to run on an empty volume."
            )
        time.sleep(poll)


def delete_snapshot(clients: KubeClients, name: str, namespace: str) -> bool:
    """Delete a VolumeSnapshot; False when it was already gone."""
    return delete_if_present(
        f"deleting VolumeSnapshot {namespace}/{name}",
        clients.custom.delete_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name,
    )  # fmt: skip
