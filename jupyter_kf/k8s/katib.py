"""A sweep as a Katib ``Experiment`` (kubeflow.org/v1beta1) whose trials run the Argo Workflow.

The trial template is the pipeline's compiled Argo Workflow (``targets.argo.build_workflow``)
with its parameter arguments replaced by ``${trialParameters.<name>}``. The objective is read by
Katib's StdOut metrics collector from the pod of the step that produces the objective metric
(labelled ``katib.kubeflow.org/model-training: "true"``): that step's last log line is
``jupyter-kf-metrics: {"<name>": <value>, ...}`` (``targets.steprun``), which the collector's
``metricsFormat`` regex reads. Trials succeed or fail with the Workflow's phase.

What Katib cannot express is refused before anything is submitted (:class:`KatibUnsupported`):
a time budget, and a sweep without a trial budget. Log-scale ranges map to Katib's
``distribution: logUniform`` (Katib >= 0.16).
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from jupyter_kf_converter.targets.argo import parameter_text, template_name

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..models import SweepParameter, SweepRequest

API_VERSION = "kubeflow.org/v1beta1"
TRAINING_LABEL = "katib.kubeflow.org/model-training"
# Katib's metricsFormat: two groups, the metric's name and its value; here in the JSON line
# `jupyter-kf-metrics: {"accuracy": 0.97, ...}` that the step prints last.
METRICS_FORMAT = r'"([\w|-]+)"\s*:\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[Ee][+-]?\d+)?)'
ALGORITHMS = {"grid": "grid", "random": "random", "tpe": "tpe"}


class KatibUnsupported(ValueError):
    """The sweep asks for something a Katib Experiment cannot express; nothing was submitted."""


def experiment(
    pipeline: Pipeline,
    request: SweepRequest,
    workflow: dict[str, Any],
    *,
    name: str,
    namespace: str | None = None,
) -> dict[str, Any]:
    """The Experiment manifest for ``request`` (a space already checked by ``sweeps.space.check``)."""
    if request.max_time is not None:
        raise KatibUnsupported("Katib has no time budget: give a number of trials (--trials) instead of --max-time")
    if not request.trials:
        raise KatibUnsupported("a Katib Experiment needs a trial budget: give --trials N")
    metric_step = next((m.step for m in pipeline.metrics if m.name == request.objective), None)
    if metric_step is None:
        raise KatibUnsupported(f"objective {request.objective!r} is not a metric of {pipeline.name!r}")
    params = [_parameter(pipeline, sp) for sp in request.space]
    spec: dict[str, Any] = {
        "algorithm": {"algorithmName": ALGORITHMS[request.algorithm]},
        "objective": {
            "type": "maximize" if request.direction == "max" else "minimize",
            "objectiveMetricName": request.objective,
        },
        "maxTrialCount": request.trials,
        "parallelTrialCount": request.parallel or 1,
        "maxFailedTrialCount": request.trials,  # a failed trial never stops a sweep here either
        "parameters": params,
        "metricsCollectorSpec": {
            "collector": {"kind": "StdOut"},
            "source": {"filter": {"metricsFormat": [METRICS_FORMAT]}},
        },
        "trialTemplate": {
            "primaryContainerName": "main",  # Argo's container of a step's pod
            "primaryPodLabels": {TRAINING_LABEL: "true"},
            "successCondition": 'status.[@this].#(phase=="Succeeded")#',
            "failureCondition": 'status.[@this].#(phase=="Failed")#',
            "trialParameters": [
                {"name": sp.name, "reference": sp.name, "description": f"pipeline parameter {sp.name}"}
                for sp in request.space
            ],
            "trialSpec": _trial_workflow(pipeline, request, workflow, metric_step),
        },
    }
    metadata: dict[str, Any] = {"name": name, "labels": {"jupyter-kf/pipeline": pipeline.name}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": "Experiment", "metadata": metadata, "spec": spec}


def _parameter(pipeline: Pipeline, sp: SweepParameter) -> dict[str, Any]:
    kind = pipeline.parameter(sp.name).type
    if sp.choices is not None:
        numeric = kind in ("int", "float")
        return {
            "name": sp.name,
            "parameterType": "discrete" if numeric else "categorical",
            "feasibleSpace": {"list": [parameter_text(c) for c in sp.choices]},
        }
    as_text = (lambda v: str(int(v))) if kind == "int" else (lambda v: repr(float(v)))
    space: dict[str, Any] = {"min": as_text(sp.low), "max": as_text(sp.high)}
    if sp.step:
        space["step"] = as_text(sp.step)
    if sp.log:
        space["distribution"] = "logUniform"
    return {"name": sp.name, "parameterType": "int" if kind == "int" else "double", "feasibleSpace": space}


def _trial_workflow(pipeline: Pipeline, request: SweepRequest, workflow: dict[str, Any], metric_step: str) -> dict:
    wf = copy.deepcopy(workflow)
    swept = {sp.name for sp in request.space}
    fixed = {k: parameter_text(v) for k, v in request.parameters.items()}
    for arg in wf.get("spec", {}).get("arguments", {}).get("parameters", []):
        if arg["name"] in swept:
            arg["value"] = "${trialParameters.%s}" % arg["name"]
        elif arg["name"] in fixed:
            arg["value"] = fixed[arg["name"]]
    wanted = template_name(metric_step)
    for t in wf["spec"]["templates"]:
        if t.get("name") == wanted:
            t.setdefault("metadata", {}).setdefault("labels", {})[TRAINING_LABEL] = "true"
    # Katib names each trial's Workflow itself.
    wf["metadata"].pop("generateName", None)
    return wf


def check_name(name: str) -> str:
    """Experiment names are DNS-1123 labels (Katib derives trial and pod names from them)."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", name):
        raise KatibUnsupported(f"experiment name {name!r}: use lower-case letters, digits and '-' (at most 40)")
    return name
