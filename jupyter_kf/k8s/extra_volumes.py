"""The notebook pod's other PVCs in a cluster run (`volume:<claim>:snapshot|shared|none`).

Default: the volume holding the notebook's folder is snapshotted (the run volume, see prepare);
every other PVC of the notebook container is mounted shared, where the pod mounts it. A
``snapshot`` one is snapshotted too and restored per run; ``none`` leaves it out.
"""

from __future__ import annotations

import logging
import posixpath
from typing import TYPE_CHECKING, Any

from jupyter_kf_converter.targets import ExtraVolume
from jupyter_kf_converter.targets.options import read_write_once_warning

from .client import ClusterError, KubeClients
from .volumes import create_snapshot, k8s_name, read_pvc, unique_name, wait_ready

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from .prepare import ClusterPlan


def pvc_mounts(pod: dict[str, Any], container: str | None = None) -> list[tuple[str, str, str]]:
    """(claim, mountPath, subPath) of every PVC the notebook container mounts."""
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod.get("spec", {}).get("volumes", []) or []
        if v.get("persistentVolumeClaim")
    }
    containers = pod.get("spec", {}).get("containers", []) or []
    main = next((c for c in containers if c.get("name") == container), containers[0] if containers else {})
    return [
        (claims[m["name"]], posixpath.normpath(m["mountPath"]), m.get("subPath", ""))
        for m in main.get("volumeMounts", []) or []
        if m.get("name") in claims
    ]


def plan_extra_volumes(
    clients: KubeClients, plan: ClusterPlan, pipeline: Pipeline, run_id: str, notebook_claim: str | None
) -> None:
    """Fill ``plan.options.extra_volumes`` (snapshots made and ready) and note a ReadWriteOnce
    volume that steps running at the same time would share. Raises ClusterError for a
    ``volume:`` tag naming no PVC of the pod, or a ``shared`` notebook volume."""
    assert plan.pod is not None
    mounts = pvc_mounts(plan.pod.raw)
    known = {claim for claim, _, _ in mounts}
    unknown = sorted(set(pipeline.volumes) - known)
    if unknown:
        raise ClusterError(
            f"volume:{unknown[0]} names no PVC of the notebook pod (its PVCs: {', '.join(sorted(known)) or 'none'})"
        )
    if notebook_claim and pipeline.volumes.get(notebook_claim) == "shared":
        raise ClusterError(
            f"volume:{notebook_claim}:shared: {notebook_claim!r} holds the notebook's folder, which each run "
            "gets as a snapshot (volume:<claim>:none for an empty run volume)"
        )
    access: dict[str, list[str]] = {}
    if plan.options.volume:
        access["run volume"] = list(plan.options.access_modes)
    for claim, mount_path, sub_path in mounts:
        mode = pipeline.volumes.get(claim, "shared")
        if claim == notebook_claim or mode == "none":
            continue
        source = read_pvc(clients, claim, plan.namespace)
        modes = list(source.get("spec", {}).get("accessModes") or ["ReadWriteOnce"])
        extra = ExtraVolume(claim=claim, mount_path=mount_path, mode=mode, sub_path=sub_path, access_modes=modes)
        if mode == "snapshot":
            info = create_snapshot(
                clients, claim, plan.namespace, name=unique_name(claim, run_id),
                snapshot_class=clients.settings.snapshot_class, labels={"jupyter-kf/run": k8s_name(run_id)},
            )  # fmt: skip
            plan.extra_snapshots.append(info)  # released with the run's own snapshot, even on failure
            wait_ready(clients, info, timeout=clients.settings.snapshot_timeout)
            extra.snapshot, extra.storage_class = info.name, info.storage_class
            extra.size = info.size or extra.size
            extra.pvc_name = unique_name(claim, run_id, "vol")
        plan.options.extra_volumes.append(extra)
        access[claim] = modes
    warning = read_write_once_warning(pipeline, access)
    if warning:
        log.warning("run %s: %s", run_id, warning)
        plan.notes.append(warning)

