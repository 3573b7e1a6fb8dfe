"""The ``argo`` backend: the pipeline as an Argo Workflow custom object, watched from its nodes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..k8s.backend import ClusterBackend
from ..k8s.driver import ClusterDriverBase, parse_time
from ..k8s.watch import ClusterState, StepState
from ..models import Run, RunStatus, StepStatus

if TYPE_CHECKING:

    pass

NODE_STATUS = {
    "Pending": StepStatus.pending,
    "Running": StepStatus.running,
    "Succeeded": StepStatus.succeeded,
    "Failed": StepStatus.failed,
    "Error": StepStatus.failed,
    "Skipped": StepStatus.skipped,
    "Omitted": StepStatus.skipped,
}
WORKFLOW_STATUS = {
    "": RunStatus.running,
    "Pending": RunStatus.running,
    "Running": RunStatus.running,
    "Succeeded": RunStatus.succeeded,
    "Failed": RunStatus.failed,
    "Error": RunStatus.failed,
}


class ArgoDriver(ClusterDriverBase):
    record_key = "workflow"
    kind = "Workflow"

    def describe(self) -> str:
        return f"Workflow {self.namespace}/{self.external_id}"

    def manifest(self) -> dict[str, Any]:
        from jupyter_kf_converter.targets.argo import build_workflow

        from ..k8s.volumes import k8s_name

        assert self.plan is not None and self.pipeline is not None
        opts = self.plan.options
        opts.generate_name = k8s_name(self.pipeline.name, limit=40) + "-"
        wf = build_workflow(self.pipeline, opts)
        wf["metadata"]["labels"]["jupyter-kf/run"] = k8s_name(self.run.id)
        args = {p["name"]: p for p in wf["spec"].get("arguments", {}).get("parameters", [])}
        from jupyter_kf_converter.targets.argo import parameter_text

        for name, value in self.run.parameters.items():
            if name in args:
                args[name]["value"] = parameter_text(value)
        return wf

    def submit(self) -> tuple[str, str | None]:
        from ..k8s.prepare import notebook_folder, prepare, write_record
        from ..k8s.workflows import create_workflow, require_name

        assert self.pipeline is not None and self.request is not None
        folder = notebook_folder(self.run, self.pipeline, self.request, self.backend.root)
        self.plan = prepare(
            self.clients, self.pipeline, self.run, self.request, namespace=self.namespace, folder=folder
        )
        self.backend.record_cache_keys(self.pipeline, self.run, self.plan, folder)
        created = create_workflow(self.clients, self.manifest(), self.namespace)
        self.external_id = require_name(created)
        write_record(
            self.backend.store.run_path(self.run.id),
            self.plan,
            keep_snapshot=self.backend.settings.keep_snapshot,
            backend="argo",
            workflow=self.external_id,
        )
        return self.external_id, None

    def poll(self) -> ClusterState:
        from ..k8s.workflows import get_workflow, pod_name, pod_name_format, step_pod_nodes

        assert self.external_id is not None
        wf = get_workflow(self.clients, self.external_id, self.namespace)
        name_format = pod_name_format(wf)
        status = wf.get("status") or {}
        nodes = status.get("nodes") or {}
        steps: dict[str, StepState] = {}
        for node in nodes.values():
            name = node.get("displayName")
            if node.get("type") not in ("Pod", "Retry", "Skipped") or name not in self.steps:
                continue
            pods = step_pod_nodes(wf, name)
            state = StepState(
                status=NODE_STATUS.get(node.get("phase") or "Pending", StepStatus.pending),
                started_at=parse_time(node.get("startedAt")),
                finished_at=parse_time(node.get("finishedAt")),
                attempt=max(0, len(pods) - 1),
                pod=pod_name(self.external_id, pods[-1], name_format) if pods else None,
            )
            if state.status == StepStatus.failed:
                state.error = node.get("message") or "failed"
            if pods:
                state.metrics = _metrics(pods[-1])
            steps[name] = state
        phase = status.get("phase") or ""
        return ClusterState(
            status=WORKFLOW_STATUS.get(phase, RunStatus.running), steps=steps, error=status.get("message")
        )

    def cancel(self) -> None:
        from ..k8s.workflows import stop_workflow

        if self.external_id:
            stop_workflow(self.clients, self.external_id, self.namespace)


class ArgoBackend(ClusterBackend):
    name = "argo"
    description = "Argo Workflows on the Kubernetes cluster (steps in the notebook pod's image)"
    driver = ArgoDriver
    namespace_setting = "argo_namespace"
    no_namespace = "no namespace for workflows: set KF_ARGO_NAMESPACE"

    def config_reason(self) -> str | None:
        reason = self.k8s_reason()
        if reason:
            return reason
        if not (self.settings.argo_namespace or self.settings.pod_namespace()):
            return self.no_namespace
        return None

    def step_log(self, run: Run, step: str) -> str:
        """The live log of a step's (latest) pod."""
        from ..k8s.workflows import get_workflow, pod_log, pod_name, pod_name_format, step_pod_nodes

        clients = self.clients()
        ns = self.namespace()
        wf = get_workflow(clients, run.external_id or "", ns)
        nodes = step_pod_nodes(wf, step)
        if not nodes:
            return ""
        return pod_log(clients, pod_name(run.external_id or "", nodes[-1], pod_name_format(wf)), ns)


def _metrics(node: dict[str, Any]) -> dict[str, Any]:
    for p in (node.get("outputs") or {}).get("parameters") or []:
        if p.get("name") == "metrics" and p.get("value"):
            try:
                value = json.loads(p["value"])
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}
