"""The notebook's own pod: which PVC holds the notebook's folder, and what steps inherit from it.

Own pod name from ``HOSTNAME``, namespace from the service-account namespace file; both read
through the Kubernetes API (``pods get``), never guessed from the local filesystem.
"""

from __future__ import annotations

import os
import posixpath
import re
import socket
from dataclasses import dataclass, field
from typing import Any

from .client import ClusterError, KubeClients, api_error

SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSW|PASSWD|CREDENTIAL|API_?KEY|ACCESS_?KEY|PRIVATE|AUTH", re.IGNORECASE
)
# Set per pod by Kubernetes or JupyterHub; a step pod gets its own.
POD_SPECIFIC = re.compile(r"^(HOSTNAME|JUPYTERHUB_|JPY_|KUBERNETES_|MEM_|CPU_)")


@dataclass
class NotebookVolume:
    """The PVC that holds a folder, and where the folder sits inside it."""

    claim: str
    mount_path: str
    sub_path: str = ""
    folder: str = ""  # the notebook folder (absolute, in the pod)

    @property
    def relative(self) -> str:
        """The folder relative to the mount point."""
        return posixpath.relpath(self.folder, self.mount_path) if self.folder else "."


@dataclass
class PodInfo:
    name: str
    namespace: str
    image: str | None  # by digest when the pod status has it
    service_account: str | None
    env: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def volume_for(self, folder: str) -> NotebookVolume:
        """The PVC whose mount holds ``folder`` (the deepest matching mount wins)."""
        return volume_for(self.raw, folder)


def own_pod_name(clients: KubeClients) -> str:
    name = clients.settings.pod_name or os.environ.get("HOSTNAME") or socket.gethostname()
    if not name:
        raise ClusterError("cannot tell this pod's name (HOSTNAME is not set)")
    return name


def read_own_pod(clients: KubeClients, container: str | None = None) -> PodInfo:
    """The notebook pod, read through the API."""
    namespace = clients.namespace()
    name = own_pod_name(clients)
    try:
        pod = clients.api_client.sanitize_for_serialization(clients.core.read_namespaced_pod(name, namespace))
    except Exception as exc:
        if getattr(exc, "status", None) is None:
            raise
        err = api_error(exc, f"reading this notebook's pod {namespace}/{name}")
        if exc.status == 404:
            err = ClusterError(
                f"this notebook's pod {name!r} was not found in namespace {namespace!r} "
                "(is HOSTNAME the pod name?)",
                status=404,
            )
        raise err from None
    main = _notebook_container(pod, container)
    return PodInfo(
        name=name,
        namespace=namespace,
        image=image_by_digest(pod, main.get("name")),
        service_account=pod.get("spec", {}).get("serviceAccountName"),
        env=inheritable_env(main),
        raw=pod,
    )


def _notebook_container(pod: dict[str, Any], name: str | None) -> dict[str, Any]:
    containers = pod.get("spec", {}).get("containers", [])
    if not containers:
        raise ClusterError(f"pod {pod.get('metadata', {}).get('name')!r} has no containers")
    if name:
        for c in containers:
            if c.get("name") == name:
                return c
    # The notebook container: the one named like the pod's notebook, else the first.
    for c in containers:
        if c.get("name") in ("notebook", "jupyter", "jupyterlab") or "notebook" in c.get("name", ""):
            return c
    return containers[0]


def image_by_digest(pod: dict[str, Any], container: str | None) -> str | None:
    """``repo@sha256:...`` from the pod status's imageID (what the node really ran)."""
    spec_image = None
    for c in pod.get("spec", {}).get("containers", []):
        if container is None or c.get("name") == container:
            spec_image = c.get("image")
            break
    for status in pod.get("status", {}).get("containerStatuses", []) or []:
        if container is not None and status.get("name") != container:
            continue
        image_id = status.get("imageID") or ""
        for prefix in ("docker-pullable://", "docker://", "containerd://"):
            image_id = image_id.removeprefix(prefix)
        if "@sha256:" in image_id:
            return image_id
        if image_id.startswith("sha256:") and spec_image:
            repo = spec_image.split("@")[0]
            last = repo.rsplit("/", 1)[-1]
            if ":" in last:
                repo = repo[: repo.rfind(":")]
            return f"{repo}@{image_id}"
    return spec_image


def inheritable_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's plain env values, minus secrets and pod-specific variables.

    Values from secrets (valueFrom.secretKeyRef, envFrom) are never copied, nor any name that
    looks like a credential (JupyterHub passes its API token as a plain value).
    """
    env: dict[str, str] = {}
    for item in container.get("env", []) or []:
        name = item.get("name", "")
        if "value" not in item or item.get("valueFrom"):
            continue
        if SECRET_NAME.search(name) or POD_SPECIFIC.match(name):
            continue
        env[name] = str(item["value"])
    return env


def volume_for(pod: dict[str, Any], folder: str) -> NotebookVolume:
    """The PVC mounted at the deepest mountPath containing ``folder``; ClusterError otherwise."""
    folder = posixpath.normpath(folder)
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod.get("spec", {}).get("volumes", []) or []
        if v.get("persistentVolumeClaim")
    }
    best: NotebookVolume | None = None
    mounts_seen = []
    for c in pod.get("spec", {}).get("containers", []):
        for m in c.get("volumeMounts", []) or []:
            path = posixpath.normpath(m["mountPath"])
            mounts_seen.append(path)
            if m["name"] not in claims:
                continue
            if folder == path or folder.startswith(path.rstrip("/") + "/"):
                if best is None or len(path) > len(best.mount_path):
                    best = NotebookVolume(claims[m["name"]], path, m.get("subPath", ""), folder)
    if best is None:
        pvc_mounts = [p for p in mounts_seen] or ["none"]
        raise ClusterError(
            f"the notebook folder {folder} is not on a PersistentVolumeClaim in pod "
            f"{pod.get('metadata', {}).get('name')!r} (mounts: {', '.join(pvc_mounts)}); "
            "move the notebook onto the PVC-backed home folder or turn snapshots off (KF_SNAPSHOT=0)"
        )
    return best
