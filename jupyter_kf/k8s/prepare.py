"""Everything a cluster run needs before submission: the notebook pod's image, env and service
account, and the run volume restored from a VolumeSnapshot of the notebook's PVC."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jupyter_kf_converter.targets import TargetOptions

from .client import ClusterError, KubeClients
from .pod import PodInfo, read_own_pod
from .volumes import VolumeSnapshotInfo, create_snapshot, delete_snapshot, k8s_name, unique_name, wait_ready

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..models import Run, RunRequest

log = logging.getLogger(__name__)


@dataclass
class ClusterPlan:
    namespace: str
    options: TargetOptions
    pod: PodInfo | None = None
    snapshot: VolumeSnapshotInfo | None = None
    notes: list[str] = field(default_factory=list)
    extra_snapshots: list[VolumeSnapshotInfo] = field(default_factory=list)  # `volume:<claim>:snapshot`

    @property
    def snapshot_name(self) -> str | None:
        return self.snapshot.name if self.snapshot else None


def notebook_folder(
    run: Run, pipeline: Pipeline, request: RunRequest | None = None, root: Path | None = None
) -> str:
    """The absolute folder of the run's notebook (where the pod mounts it)."""
    base = root or Path.cwd()
    for candidate in (request.notebook if request else None, run.notebook, pipeline.notebook):
        if not candidate:
            continue
        p = Path(candidate)
        if p.is_absolute():
            return str(p.parent)
        if (base / p).exists():
            return str((base / p).resolve().parent)
    return str(base.resolve())


def write_record(store_run_dir: Path, plan: ClusterPlan, *, keep_snapshot: bool, **fields: object) -> None:
    """``cluster.json`` in the run's folder: where and how the run was submitted (no secrets), and
    what its watcher must delete at the end; a watcher re-attached later works from it alone."""
    import json

    from .._fsutil import atomic_write_text

    record = {
        "namespace": plan.namespace,
        "snapshot": plan.snapshot_name,
        "source_pvc": plan.snapshot.source_pvc if plan.snapshot else None,
        "keep_snapshot": keep_snapshot,
        "image": plan.options.image,
        "service_account": plan.options.service_account,
        "workdir": plan.options.workdir,
        "env": sorted(plan.options.env),  # names only
        "notes": plan.notes,
        "extra_snapshots": [i.name for i in plan.extra_snapshots],
        **fields,
    }
    atomic_write_text(store_run_dir / "cluster.json", json.dumps(record, indent=2, default=str))


def plan_from_record(record: dict) -> ClusterPlan:
    """The parts of a run's plan its cleanup needs, read back from ``cluster.json``."""
    plan = ClusterPlan(namespace=record["namespace"], options=TargetOptions(pvc_name=record.get("pvc")))
    plan.extra_snapshots = [
        VolumeSnapshotInfo(name=n, namespace=record["namespace"], source_pvc="", storage_class=None,
                           snapshot_class=None, size=None)
        for n in record.get("extra_snapshots") or []
    ]  # fmt: skip
    if record.get("snapshot"):
        plan.snapshot = VolumeSnapshotInfo(
            name=record["snapshot"],
            namespace=record["namespace"],
            source_pvc=record.get("source_pvc") or "",
            storage_class=None,
            snapshot_class=None,
            size=None,
        )
    return plan


def prepare(
    clients: KubeClients,
    pipeline: Pipeline,
    run: Run,
    request: RunRequest,
    *,
    namespace: str,
    folder: str,
    pvc_name: str | None = None,
) -> ClusterPlan:
    """Read the own pod (when in one), snapshot the notebook's PVC and wait for it; the options
    for the targets. Raises ClusterError with the reason when a required step fails."""
    s = clients.settings
    opts = TargetOptions(
        image=s.step_image,
        volume_size=s.volume_size,
        storage_class=s.storage_class,
        pvc_name=pvc_name,
        cache=False if not request.cache else None,
        timeout=request.timeout,
        run_timeout=s.run_timeout,
        workflow_ttl=s.workflow_ttl,
        kfp_backend=s.kfp_backend,
    )
    plan = ClusterPlan(namespace=namespace, options=opts)
    if request.retry_of:
        plan.notes.append(
            f"retry of {request.retry_of}: a cluster run keeps no values after it ends, so every step reruns"
        )
    in_pod = s.in_cluster
    if in_pod and (s.inherit_pod or s.snapshot):
        plan.pod = read_own_pod(clients)
        if s.inherit_pod:
            opts.image = s.step_image or plan.pod.image
            opts.env = dict(plan.pod.env)
            opts.service_account = plan.pod.service_account
            inherit_scheduling(opts, plan.pod.raw.get("spec") or {})
    elif not in_pod:
        plan.notes.append("not running in a pod: steps start on an empty run volume (no snapshot)")
    notebook_claim = _notebook_claim(plan.pod, folder)
    left_out = pipeline.volumes.get(notebook_claim or "") == "none"
    if in_pod and s.snapshot and not left_out:
        if plan.pod.namespace != namespace:
            # A VolumeSnapshot lives beside its PVC, and a claim restores only from a snapshot in
            # its own namespace: the run volume cannot be made in another namespace.
            raise ClusterError(
                f"runs go to namespace {namespace!r} but the notebook's volume is in {plan.pod.namespace!r}: "
                "a volume snapshot can only be restored in its own namespace. Run in the notebook's "
                "namespace (unset KF_KFP_NAMESPACE / KF_ARGO_NAMESPACE) or turn snapshots off (KF_SNAPSHOT=0)"
            )
        volume = plan.pod.volume_for(folder)
        info = create_snapshot(
            clients,
            volume.claim,
            namespace,
            name=unique_name(volume.claim, run.id),
            snapshot_class=s.snapshot_class,
            labels={"jupyter-kf/run": k8s_name(run.id)},
        )
        plan.snapshot = info
        try:
            wait_ready(clients, info, timeout=s.snapshot_timeout)
        except ClusterError:
            _forget(clients, info)
            raise
        opts.snapshot = info.name
        opts.mount_path = volume.mount_path
        opts.sub_path = volume.sub_path
        opts.workdir = volume.folder
        opts.storage_class = s.storage_class or info.storage_class
        if info.size:
            opts.volume_size = info.size
    elif in_pod and left_out:
        plan.notes.append(f"volume:{notebook_claim}:none: steps start on an empty run volume")
    elif in_pod:
        plan.notes.append("snapshots are off (KF_SNAPSHOT=0): steps start on an empty run volume")
    if plan.pod is not None and plan.pod.namespace == namespace:
        from .extra_volumes import plan_extra_volumes

        try:
            plan_extra_volumes(clients, plan, pipeline, run.id, notebook_claim)
        except BaseException:
            for info in ([plan.snapshot] if plan.snapshot else []) + plan.extra_snapshots:
                _forget(clients, info)
            raise
    elif plan.pod is not None:
        plan.notes.append(f"the notebook pod's other volumes are in namespace {plan.pod.namespace!r}: left out")
    return plan


def _notebook_claim(pod: PodInfo | None, folder: str) -> str | None:
    if pod is None:
        return None
    try:
        return pod.volume_for(folder).claim
    except ClusterError:
        return None


SECURITY_FIELDS = (
    "runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup", "fsGroupChangePolicy", "supplementalGroups"
)  # fmt: skip


def inherit_scheduling(opts: TargetOptions, pod_spec: dict) -> None:
    """Run steps as the notebook pod runs: its user and fsGroup (a fresh volume is then writable
    by a non-root image), pull secrets, tolerations and node selector."""
    security = {k: v for k, v in (pod_spec.get("securityContext") or {}).items() if k in SECURITY_FIELDS}
    opts.security_context = security or None
    opts.image_pull_secrets = [s["name"] for s in pod_spec.get("imagePullSecrets") or [] if s.get("name")]
    opts.tolerations = list(pod_spec.get("tolerations") or [])
    opts.node_selector = dict(pod_spec.get("nodeSelector") or {})


def release(clients: KubeClients, plan: ClusterPlan) -> None:
    """Delete the run's snapshot unless asked to keep it (errors are logged, not raised)."""
    if clients.settings.keep_snapshot:
        return
    for info in ([plan.snapshot] if plan.snapshot else []) + list(plan.extra_snapshots):
        _forget(clients, info)


def _forget(clients: KubeClients, info: VolumeSnapshotInfo) -> None:
    try:
        delete_snapshot(clients, info.name, info.namespace)
    except Exception as exc:  # cleanup must not hide the run's own outcome
        log.warning("could not delete VolumeSnapshot %s/%s: %s", info.namespace, info.name, exc)
