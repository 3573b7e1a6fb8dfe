"""A schedule as the cluster's own scheduler runs it: an Argo ``CronWorkflow`` or a KFP recurring run.

Built from the same Pipeline IR and target options as a one-off cluster run. With ``clone_pvc``
the run volume is a clone of that PVC (CSI volume cloning) made when each run starts, so every
scheduled run sees the notebook's files as they are then, as a local scheduled run does; without
it the steps start on an empty run volume. Step caching is off: a clone's name does not change
between runs, so a cache key could not tell yesterday's data from today's.

Policies map onto what each scheduler offers, and what has no equivalent is refused (the message
names the field): Argo has no queue for overlapping runs; KFP cron runs in UTC only and cannot
skip a past due time while running once for the others (``no_catchup`` runs none or all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import MissedPolicy, OverlapPolicy, Schedule

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline
    from jupyter_kf_converter.targets import TargetOptions

MISSED_GRACE_S = 24 * 3600  # Argo: a due time missed while the controller was down still runs within a day
KFP_MAX_CONCURRENCY_ALLOW = "10"


class ClusterScheduleError(ValueError):
    """The schedule cannot be expressed for this cluster scheduler; ``field`` names why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def cluster_cron(schedule: Schedule) -> str:
    """The schedule as a 5-field cron expression (intervals that divide a day or an hour evenly)."""
    if schedule.cron:
        return schedule.cron
    seconds = int(schedule.interval or 0)
    minutes, rest = divmod(seconds, 60)
    if rest == 0 and minutes < 60 and 60 % minutes == 0:
        return f"*/{minutes} * * * *" if minutes > 1 else "* * * * *"
    hours, rest = divmod(minutes, 60)
    if rest == 0 and hours < 24 and 24 % hours == 0:
        return f"0 */{hours} * * *" if hours > 1 else "0 * * * *"
    if minutes == 24 * 60:
        return "0 0 * * *"
    raise ClusterScheduleError(
        "interval", f"every {seconds} s has no cron equivalent: use a cron expression, or an interval that "
        "divides an hour or a day evenly"
    )


def check(schedule: Schedule, target: str) -> None:
    """Refuse what the target's scheduler cannot do (before anything is built or sent)."""
    if target == "argo":
        cluster_cron(schedule)
        if schedule.overlap == OverlapPolicy.queue:
            raise ClusterScheduleError("overlap", "Argo cannot queue a run behind a running one: use skip or allow")
    elif schedule.cron and schedule.timezone != "UTC":
        raise ClusterScheduleError(
            "timezone", f"KFP recurring runs follow UTC; {schedule.timezone!r} cannot be kept across daylight "
            "saving: schedule in UTC, or let jupyter-kf's scheduler submit the runs"
        )


def _options(options: TargetOptions | None, clone_pvc: str | None) -> TargetOptions:
    from dataclasses import replace

    from jupyter_kf_converter.targets import TargetOptions

    return replace(options or TargetOptions(), snapshot=clone_pvc, cache=False)


def _clone_sources(doc: Any, pvc: str) -> Any:
    """Every VolumeSnapshot data source naming ``pvc`` becomes a clone of the PVC itself."""
    if isinstance(doc, dict):
        if doc.get("kind") == "VolumeSnapshot" and doc.get("name") == pvc and "apiGroup" in doc:
            return {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": pvc}  # core group
        return {k: _clone_sources(v, pvc) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_clone_sources(v, pvc) for v in doc]
    return doc


def cron_workflow(
    schedule: Schedule, pipeline: Pipeline, options: TargetOptions | None = None, *, clone_pvc: str | None = None
) -> dict[str, Any]:
    """An Argo ``CronWorkflow`` (argoproj.io/v1alpha1) running ``pipeline`` on ``schedule``."""
    from jupyter_kf_converter.targets.argo import build_workflow, parameter_text

    from .volumes import k8s_name

    check(schedule, "argo")
    wf = build_workflow(pipeline, _options(options, clone_pvc))
    if clone_pvc:
        wf = _clone_sources(wf, clone_pvc)
    for p in wf["spec"].get("arguments", {}).get("parameters", []):
        if p["name"] in schedule.parameters:
            p["value"] = parameter_text(schedule.parameters[p["name"]])
    labels = {**wf["metadata"].get("labels", {}), "jupyter-kf/schedule": schedule.id}
    spec: dict[str, Any] = {
        "schedules": [cluster_cron(schedule)],
        "timezone": schedule.timezone,
        "concurrencyPolicy": "Forbid" if schedule.overlap == OverlapPolicy.skip else "Allow",
        "startingDeadlineSeconds": MISSED_GRACE_S if schedule.missed == MissedPolicy.run_once else 0,
        "suspend": schedule.paused,
        "workflowMetadata": {"labels": labels, "annotations": wf["metadata"].get("annotations", {})},
        "workflowSpec": wf["spec"],
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": k8s_name(schedule.name, schedule.id, limit=52), "labels": labels},
        "spec": spec,
    }


def recurring_run(
    schedule: Schedule, pipeline: Pipeline, options: TargetOptions | None = None, *,
    clone_pvc: str | None = None, experiment_id: str | None = None,
) -> dict[str, Any]:
    """A KFP v2beta1 ``RecurringRun`` request body running ``pipeline`` on ``schedule``."""
    from jupyter_kf_converter.targets.kfp import compile_kfp

    from .kfp_api import pipeline_spec_body

    check(schedule, "kfp")
    if clone_pvc:
        # Each run would need a volume cloned from the notebook's PVC as it starts: KFP creates such
        # a claim only from CreatePVC's data_source, which KFP reads from 2.17 on, later than the
        # KFP releases Kubeflow 1.9/1.10 ship (docs/kubernetes.md).
        raise ClusterScheduleError(
            "target",
            f"a KFP recurring run cannot give each run a copy of the notebook's volume {clone_pvc!r} on the "
            "KFP releases Kubeflow ships (2.2-2.5): deploy to Argo (--target argo), or let jupyter-kf run "
            "the schedule (the server, or `jupyter kf scheduler`), which snapshots the volume for each run",
        )
    spec = pipeline_spec_body(compile_kfp(pipeline, _options(options, None)))
    known = {p.name for p in pipeline.parameters}
    trigger: dict[str, Any]
    if schedule.cron:
        trigger = {"cron_schedule": {"cron": "0 " + schedule.cron}}  # KFP's cron has a seconds field
    else:
        trigger = {"periodic_schedule": {"interval_second": str(int(schedule.interval or 0))}}
    body: dict[str, Any] = {
        "display_name": f"{schedule.name} ({schedule.id})",
        "description": f"jupyter-kf schedule {schedule.id} of {pipeline.notebook}",
        "pipeline_spec": spec,
        "runtime_config": {"parameters": {k: v for k, v in schedule.parameters.items() if k in known}},
        "trigger": trigger,
        "max_concurrency": "1" if schedule.overlap != OverlapPolicy.allow else KFP_MAX_CONCURRENCY_ALLOW,
        "no_catchup": schedule.missed == MissedPolicy.skip,
        "mode": "DISABLE" if schedule.paused else "ENABLE",
    }
    if experiment_id:
        body["experiment_id"] = experiment_id
    return body
