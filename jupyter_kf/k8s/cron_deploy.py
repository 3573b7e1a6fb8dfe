"""Hand a schedule to the cluster's own scheduler: create (or delete) its Argo CronWorkflow or KFP
recurring run, built like a one-off cluster run from inside the notebook pod (its image, env and
service account; the run volume cloned from the PVC holding the notebook's folder at each run)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..models import Schedule, ScheduleDeployment
from .client import ClusterConfigError, KubeClients, api_error, delete_if_present
from .cron import check, cron_workflow, recurring_run

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline
    from jupyter_kf_converter.targets import TargetOptions

    from .config import ClusterSettings

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "cronworkflows"


def _namespace(settings: ClusterSettings, target: str) -> str:
    ns = (settings.argo_namespace if target == "argo" else settings.kfp_namespace) or settings.pod_namespace()
    if not ns:
        raise ClusterConfigError(f"no namespace for the {target} schedule: set KF_{target.upper()}_NAMESPACE")
    return ns


def _options(clients: KubeClients, folder: str) -> tuple[TargetOptions, str | None]:
    """Target options from the notebook pod (when in one) and the PVC to clone for each run."""
    from jupyter_kf_converter.targets import TargetOptions

    from .pod import read_own_pod

    s = clients.settings
    opts = TargetOptions(image=s.step_image, volume_size=s.volume_size, storage_class=s.storage_class)
    if not (s.in_cluster and s.inherit_pod):
        return opts, None
    pod = read_own_pod(clients)
    volume = pod.volume_for(folder)
    opts = replace(
        opts, image=s.step_image or pod.image, env=dict(pod.env), service_account=pod.service_account,
        mount_path=volume.mount_path, sub_path=volume.sub_path, workdir=volume.folder,
    )
    return opts, volume.claim


def deploy(schedule: Schedule, pipeline: Pipeline, target: str, settings: ClusterSettings,
           folder: str) -> ScheduleDeployment:
    """Create the cluster-side schedule; raises ClusterScheduleError (a policy the target lacks)
    before any request, ClusterError with the API's reason after one."""
    if target not in ("argo", "kfp"):
        raise ValueError(f"target: {target!r} is not argo or kfp")
    check(schedule, target)
    if target == "kfp":
        from .kfp_api import KfpApi

        api = KfpApi(settings)  # not configured: refused before any request
    clients = KubeClients(settings)
    namespace = _namespace(settings, target)
    opts, clone = _options(clients, folder)
    now = datetime.now(timezone.utc)
    if target == "argo":
        manifest = cron_workflow(schedule, pipeline, opts, clone_pvc=clone)
        try:
            made = clients.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
        except Exception as exc:
            if getattr(exc, "status", None) is None:
                raise
            raise api_error(exc, f"creating CronWorkflow {namespace}/{manifest['metadata']['name']}") from None
        return ScheduleDeployment(target="argo", namespace=namespace, name=made["metadata"]["name"], deployed_at=now)
    body = recurring_run(schedule, pipeline, opts, clone_pvc=clone)
    body["experiment_id"] = api.ensure_experiment(settings.kfp_experiment, namespace)
    if opts.service_account:
        body["service_account"] = opts.service_account
    made = api.create_recurring_run(body)
    return ScheduleDeployment(target="kfp", namespace=namespace, name=made["recurring_run_id"], deployed_at=now)


def undeploy(deployment: ScheduleDeployment, settings: ClusterSettings) -> None:
    """Delete the cluster-side schedule (already gone: fine)."""
    if deployment.target == "argo":
        clients = KubeClients(settings)
        delete_if_present(
            f"deleting CronWorkflow {deployment.namespace}/{deployment.name}",
            clients.custom.delete_namespaced_custom_object, GROUP, VERSION, deployment.namespace, PLURAL,
            deployment.name,
        )  # fmt: skip
    else:
        from .kfp_api import KfpApi

        try:
            KfpApi(settings).delete_recurring_run(deployment.name)
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                raise
