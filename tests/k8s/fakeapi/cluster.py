"""The fake cluster's state and behaviour knobs."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from .common import GROUPS, ApiFailure, _resource_label


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
    cronworkflows: dict[tuple[str, str], dict] = field(default_factory=dict)
    logs: dict[tuple[str, str], str] = field(default_factory=dict)
    snapshot_ready_after: int = 2  # reads before readyToUse
    unsnapshottable_classes: set[str] = field(default_factory=set)  # storage classes whose driver fails
    fail_steps: set[str] = field(default_factory=set)  # steps that fail in workflows and KFP runs
    unavailable_reads: int = 0  # the next N reads of workflows/KFP runs answer 503
    hold: bool = False  # workflows and KFP runs do not progress on reads (see simulate.tick)
    step_log_tail: dict[str, str] = field(default_factory=dict)  # what a KFP step's pod prints last
    requests: list[dict[str, Any]] = field(default_factory=list)
    # StorageClasses and the default one (what the DefaultStorageClass admission plugin assigns)
    storage_classes: set[str] = field(default_factory=lambda: {"csi-rbd"})
    default_storage_class: str | None = "csi-rbd"
    # Argo's controller: POD_NAMES v2 (default since 3.4: <wf>-<template>-<hash>) or v1 (node id)
    pod_name_format: str = "v2"
    # KFP
    kfp_release: str = "2.2.0"  # whose protos its drivers parse executor configs with, strictly
    experiments: dict[str, dict] = field(default_factory=dict)
    runs: dict[str, dict] = field(default_factory=dict)
    recurring_runs: dict[str, dict] = field(default_factory=dict)
    # multi-user KFP's authorization (SubjectAccessReview in pipelines.kubeflow.org)
    kfp_denied: set[tuple[str, str]] = field(default_factory=set)  # (verb, resource)
    kfp_authorized: set[tuple[str, str]] = field(default_factory=set)  # what calls were checked for
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
                            {
                                "name": "sa-token",
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                            },
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
                    {
                        "name": "notebook",
                        "image": image,
                        "imageID": f"{image.split(':')[0]}@{digest}",
                        "ready": True,
                        "restartCount": 0,
                    }
                ],
            },
        }
        self.pods[(self.namespace, name)] = pod
        self.pvcs[(self.namespace, claim)] = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim, "namespace": self.namespace},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": storage_class,
                "resources": {"requests": {"storage": "5Gi"}},
            },
            "status": {"phase": "Bound", "capacity": {"storage": "5Gi"}},
        }
        return pod
