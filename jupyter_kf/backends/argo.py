"""The ``argo`` backend: the pipeline as an Argo Workflow custom object, watched from its nodes."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..k8s.backend import ClusterBackend
from ..k8s.watch import ClusterRunHandle, ClusterState, StepState
from ..models import Run, RunRequest, RunStatus, StepStatus

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..k8s.client import KubeClients
    from ..k8s.prepare import ClusterPlan
    from .base import OnUpdate

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


class ArgoBackend(ClusterBackend):
    name = "argo"
    description = "Argo Workflows on the Kubernetes cluster (steps in the notebook pod's image)"

    def config_reason(self) -> str | None:
        reason = self.k8s_reason()
        if reason:
            return reason
        if not (self.settings.argo_namespace or self.settings.pod_namespace()):
            return "no namespace for workflows: set KF_ARGO_NAMESPACE"
        return None

    def namespace(self) -> str:
        from ..k8s.client import ClusterConfigError

        ns = self.settings.argo_namespace or self.settings.pod_namespace()
        if not ns:
            raise ClusterConfigError("no namespace for workflows: set KF_ARGO_NAMESPACE")
        return ns

    def start(self, pipeline: Pipeline, run: Run, request: RunRequest, on_update: OnUpdate | None = None):
        driver = ArgoDriver(self, pipeline, run, request)
        return ClusterRunHandle(self.store, run, driver, on_update, poll_interval=self.poll_interval).start()

    def attach_driver(self, run: Run, record: dict[str, Any]) -> ArgoDriver:
        return ArgoDriver.attach(self, run, record)

    def step_log(self, run: Run, step: str) -> str:
        """The live log of a step's (latest) pod."""
        from ..k8s.workflows import get_workflow, pod_log, pod_name, step_pod_nodes

        clients = self.clients()
        ns = self.namespace()
        wf = get_workflow(clients, run.external_id or "", ns)
        nodes = step_pod_nodes(wf, step)
        if not nodes:
            return ""
        return pod_log(clients, pod_name(run.external_id or "", nodes[-1]), ns)


class ArgoDriver:
    def __init__(
        self, backend: ArgoBackend, pipeline: Pipeline | None, run: Run, request: RunRequest | None
    ) -> None:
        self.backend = backend
        self.pipeline = pipeline
        self.run = run
        self.request = request
        self.steps = {s.name for s in (pipeline.steps if pipeline else run.steps)}
        self.clients: KubeClients = backend.clients()
        self.plan: ClusterPlan | None = None
        self.name: str | None = None

    @classmethod
    def attach(cls, backend: ArgoBackend, run: Run, record: dict[str, Any]) -> ArgoDriver:
        """A driver for a workflow submitted earlier, from its ``cluster.json`` (nothing is submitted)."""
        from ..k8s.prepare import plan_from_record

        driver = cls(backend, None, run, None)
        driver.name = record.get("workflow") or run.external_id
        if not driver.name:
            raise ValueError(f"run {run.id}: cluster.json names no Workflow")
        driver.namespace = record["namespace"]  # where it was submitted, whatever the settings say now
        driver.plan = plan_from_record(record)
        return driver

    def describe(self) -> str:
        return f"Workflow {self.namespace}/{self.name}"

    @cached_property
    def namespace(self) -> str:
        """Resolved in the run's thread: a configuration error fails the run with its message."""
        return self.backend.namespace()

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
        self.backend.record_cache_keys(self.pipeline, self.run, self.plan)
        created = create_workflow(self.clients, self.manifest(), self.namespace)
        self.name = require_name(created)
        write_record(
            self.backend.store.run_path(self.run.id),
            self.plan,
            keep_snapshot=self.backend.settings.keep_snapshot,
            backend="argo",
            workflow=self.name,
        )
        return self.name, None

    def poll(self) -> ClusterState:
        from ..k8s.workflows import get_workflow, pod_name, step_pod_nodes

        assert self.name is not None
        wf = get_workflow(self.clients, self.name, self.namespace)
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
                started_at=_time(node.get("startedAt")),
                finished_at=_time(node.get("finishedAt")),
                attempt=max(0, len(pods) - 1),
                pod=pod_name(self.name, pods[-1]) if pods else None,
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

        if self.name:
            stop_workflow(self.clients, self.name, self.namespace)

    def pod_log(self, pod: str) -> str:
        from ..k8s.workflows import pod_log

        return pod_log(self.clients, pod, self.namespace)

    def cleanup(self) -> None:
        from ..k8s.prepare import release

        if self.plan is not None:
            release(self.clients, self.plan)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _metrics(node: dict[str, Any]) -> dict[str, Any]:
    for p in (node.get("outputs") or {}).get("parameters") or []:
        if p.get("name") == "metrics" and p.get("value"):
            try:
                value = json.loads(p["value"])
            except ValueError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}
