"""Shared pieces of the fake API server: kinds, Status errors, timestamps."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

RFC1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
GROUPS = {
    "pods": "",
    "pods/log": "",
    "persistentvolumeclaims": "",
    "volumesnapshots": "snapshot.storage.k8s.io",
    "workflows": "argoproj.io",
    "cronworkflows": "argoproj.io",
}
KINDS = {
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "volumesnapshots": "VolumeSnapshot",
    "workflows": "Workflow",
    "cronworkflows": "CronWorkflow",
}
API_VERSIONS = {
    "persistentvolumeclaims": "v1",
    "volumesnapshots": "snapshot.storage.k8s.io/v1",
    "workflows": "argoproj.io/v1alpha1",
    "cronworkflows": "argoproj.io/v1alpha1",
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
    return ApiFailure(
        404, "NotFound", f'{_resource_label(resource)} "{name}" not found', {"name": name, "kind": resource}
    )


def invalid(kind: str, resource: str, name: str, causes: list[str]) -> ApiFailure:
    group = GROUPS[resource]
    label = f"{kind}.{group}" if group else kind
    return ApiFailure(
        422, "Invalid", f'{label} "{name}" is invalid: {", ".join(causes)}', {"name": name, "kind": kind}
    )
