"""Pipeline IR -> an Argo Workflow manifest (plain dicts, argoproj.io/v1alpha1).

One DAG template (edges as dependencies) and one container template per step running papermill
on the step's emitted notebook, carried in the manifest as a raw input artifact (gzip + base64).
The run volume
is a volumeClaimTemplate (restored from the VolumeSnapshot when given) mounted in every step;
``volumeClaimGC: OnWorkflowCompletion`` deletes it however the workflow ends (Argo's default
keeps the claims of failed and stopped workflows), and ``ttlStrategy`` deletes the Workflow
itself, with its pods, a day after it ends. Steps run without an Istio sidecar (which would
outlive the step), and with the notebook pod's securityContext, pull secrets and scheduling.
"""

from __future__ import annotations

import json
from typing import Any

from ..ir import Pipeline, Step
from .options import (
    SECRETS_DIR,
    SECRETS_ENV,
    SHM_PATH,
    TargetOptions,
    check_pipeline,
    emitted_notebook_json,
    packed_notebook,
    parameter_types,
    snapshot_data_source,
    step_image,
    step_limits,
    step_node_selector,
    step_timeout,
    step_tolerations,
    warn_exported_read_write_once,
    warn_fallback_image,
)

API_VERSION = "argoproj.io/v1alpha1"
ENTRYPOINT = "kf-pipeline"
VOLUME = "kf-work"
NOTEBOOK_DIR = "/kf/steps"
METRICS_PATH = "/tmp/kf-metrics.json"
LABEL_PIPELINE = "jupyter-kf/pipeline"


def template_name(step: str) -> str:
    """The container template (and DAG task) name of a step; never collides with the entrypoint."""
    return f"step-{step}"


def build_workflow(pipeline: Pipeline, options: TargetOptions | None = None) -> dict[str, Any]:
    """The Workflow manifest as a dict, ready for CustomObjectsApi or ``yaml.safe_dump``."""
    options = options or TargetOptions()
    check_pipeline(pipeline)
    warn_fallback_image(pipeline, options)
    warn_exported_read_write_once(pipeline, options)
    spec: dict[str, Any] = {
        "entrypoint": ENTRYPOINT,
        "templates": [_dag(pipeline)] + [_step_template(pipeline, s, options) for s in pipeline.steps],
    }
    if pipeline.parameters:
        spec["arguments"] = {
            "parameters": [{"name": p.name, "value": parameter_text(p.default)} for p in pipeline.parameters]
        }
    if options.volume:
        spec["volumeClaimTemplates"] = [_claim_template(options)]
        spec["volumeClaimGC"] = {"strategy": "OnWorkflowCompletion"}
    for i, extra in enumerate(options.extra_volumes):
        if extra.mode == "snapshot":
            claim: dict[str, Any] = {
                "accessModes": list(extra.access_modes),
                "resources": {"requests": {"storage": extra.size}},
                "dataSource": snapshot_data_source(extra.snapshot or ""),
            }
            if extra.storage_class:
                claim["storageClassName"] = extra.storage_class
            spec.setdefault("volumeClaimTemplates", []).append({"metadata": {"name": f"kf-vol-{i}"}, "spec": claim})
            spec["volumeClaimGC"] = {"strategy": "OnWorkflowCompletion"}
        else:
            spec.setdefault("volumes", []).append(
                {"name": f"kf-vol-{i}", "persistentVolumeClaim": {"claimName": extra.claim}}
            )
    if options.workflow_ttl is not None:
        spec["ttlStrategy"] = {"secondsAfterCompletion": int(options.workflow_ttl)}
    if options.run_timeout:
        spec["activeDeadlineSeconds"] = max(1, round(options.run_timeout))
    # Kubeflow profile namespaces inject Istio sidecars; a classic sidecar keeps the pod running
    # after the step's container ends (KFP annotates its own pods the same way).
    spec["podMetadata"] = {"annotations": {"sidecar.istio.io/inject": "false"}}
    if options.service_account:
        spec["serviceAccountName"] = options.service_account
    if options.security_context:
        spec["securityContext"] = dict(options.security_context)
    if options.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": n} for n in options.image_pull_secrets]
    if options.tolerations:
        spec["tolerations"] = [dict(t) for t in options.tolerations]
    if options.node_selector:
        spec["nodeSelector"] = dict(options.node_selector)
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {
            "generateName": options.generate_name or f"{pipeline.name[:50]}-",
            "labels": {LABEL_PIPELINE: pipeline.name},
            "annotations": {"jupyter-kf/notebook": pipeline.notebook},
        },
        "spec": spec,
    }


def workflow_yaml(pipeline: Pipeline, options: TargetOptions | None = None) -> str:
    import yaml

    return yaml.safe_dump(build_workflow(pipeline, options), sort_keys=False, width=120)


def parameter_text(value: Any) -> str:
    """A parameter value as Argo's string form (JSON for lists/dicts, lower-case booleans)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return json.dumps(value)


def _dag(pipeline: Pipeline) -> dict[str, Any]:
    tasks = []
    for step in pipeline.steps:
        task: dict[str, Any] = {"name": step.name, "template": template_name(step.name)}
        if step.depends_on:
            task["dependencies"] = list(step.depends_on)
        if step.parameters:
            task["arguments"] = {
                "parameters": [
                    {"name": p, "value": f"{{{{workflow.parameters.{p}}}}}"} for p in step.parameters
                ]
            }
        tasks.append(task)
    return {"name": ENTRYPOINT, "dag": {"tasks": tasks}}


def _step_template(pipeline: Pipeline, step: Step, options: TargetOptions) -> dict[str, Any]:
    notebook_path = f"{NOTEBOOK_DIR}/{step.name}.ipynb.gz.b64"
    args = [
        "--step", step.name,
        "--notebook", notebook_path,
        "--workdir", options.workdir,
        "--kernel", pipeline.kernel.name,
        "--types", json.dumps(parameter_types(pipeline, step), sort_keys=True),
        "--metrics-out", METRICS_PATH,
    ]  # fmt: skip
    for name in step.parameters:
        args += ["--param", f"{name}={{{{inputs.parameters.{name}}}}}"]
    container: dict[str, Any] = {
        "image": step_image(pipeline, step, options),
        "command": ["python", "-m", "jupyter_kf_converter.targets.steprun"],
        "args": args,
        "workingDir": options.workdir,
    }
    if options.image_pull_policy:
        container["imagePullPolicy"] = options.image_pull_policy
    env = [{"name": k, "value": v} for k, v in options.env.items()]
    volumes, mounts = _step_volumes(step)
    for ref in step.secrets:  # names only: the cluster puts the values in
        env += [
            {"name": var, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": key}}}
            for key, var in ref.env.items()
        ]
    if any(not ref.env for ref in step.secrets):
        env.append({"name": SECRETS_ENV, "value": SECRETS_DIR})
    if env:
        container["env"] = env
    limits = step_limits(step)
    if limits:
        container["resources"] = {"limits": limits}
    if options.volume:
        mount = {"name": VOLUME, "mountPath": options.volume_mount}
        if options.sub_path:
            mount["subPath"] = options.sub_path
        mounts.insert(0, mount)
    for i, extra in enumerate(options.extra_volumes):
        mounts.append({"name": f"kf-vol-{i}", "mountPath": extra.mount_path})
        if extra.sub_path:
            mounts[-1]["subPath"] = extra.sub_path
    if mounts:
        container["volumeMounts"] = mounts
    inputs: dict[str, Any] = {
        "artifacts": [
            {
                "name": "notebook",
                "path": notebook_path,
                # gzip + base64: small enough for ARGO_TEMPLATE, and no "{{" for Argo's templating
                "raw": {"data": packed_notebook(step.name, emitted_notebook_json(pipeline, step))},
            }
        ]
    }
    if step.parameters:
        inputs["parameters"] = [{"name": p} for p in step.parameters]
    template: dict[str, Any] = {
        "name": template_name(step.name),
        "metadata": {"labels": {LABEL_PIPELINE: pipeline.name, "jupyter-kf/step": step.name}},
        "inputs": inputs,
        "outputs": {
            "parameters": [{"name": "metrics", "valueFrom": {"path": METRICS_PATH, "default": "{}"}}]
        },
        "container": container,
    }
    if volumes:
        template["volumes"] = volumes
    tolerations = step_tolerations(step, options)
    if tolerations != options.tolerations:  # the workflow's own apply to every other step
        template["tolerations"] = tolerations
    node_selector = step_node_selector(step, options)
    if node_selector != options.node_selector:
        template["nodeSelector"] = node_selector
    if step.retries:
        template["retryStrategy"] = {"limit": step.retries, "retryPolicy": "OnFailure"}
    timeout = step_timeout(step, options)
    if timeout:
        template["activeDeadlineSeconds"] = timeout
    return template


def _step_volumes(step: Step) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The step's own volumes and mounts: Secrets as files, an in-memory /dev/shm."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for i, ref in enumerate(r for r in step.secrets if not r.env):
        volumes.append({"name": f"kf-secret-{i}", "secret": {"secretName": ref.name}})
        mounts.append({"name": f"kf-secret-{i}", "mountPath": f"{SECRETS_DIR}/{ref.name}", "readOnly": True})
    if step.placement.shm:
        volumes.append({"name": "kf-shm", "emptyDir": {"medium": "Memory", "sizeLimit": step.placement.shm}})
        mounts.append({"name": "kf-shm", "mountPath": SHM_PATH})
    return volumes, mounts


def _claim_template(options: TargetOptions) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "accessModes": list(options.access_modes),
        "resources": {"requests": {"storage": options.volume_size}},
    }
    if options.storage_class:
        claim["storageClassName"] = options.storage_class
    if options.snapshot:
        claim["dataSource"] = snapshot_data_source(options.snapshot)
    return {"metadata": {"name": VOLUME}, "spec": claim}
