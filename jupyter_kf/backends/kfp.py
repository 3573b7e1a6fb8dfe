"""The ``kfp`` backend: Kubeflow Pipelines v2 (run created in an experiment, watched through the
v2beta1 REST API, terminated on cancel); the run volume is restored from a VolumeSnapshot."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..k8s.backend import ClusterBackend
from ..k8s.driver import ClusterDriverBase, parse_time
from ..k8s.watch import ClusterState, StepState
from ..models import Run, RunRequest, RunStatus, StepStatus

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..k8s.kfp_api import KfpApi

MIN_KFP = (2, 2, 0)  # the oldest backend whose drivers read our specs (tests/k8s/test_kfp_compat.py)
RETRIES_KFP = (2, 4, 1)  # first backend that turns retryPolicy into an Argo retryStrategy
RUN_STATE = {
    "RUNTIME_STATE_UNSPECIFIED": RunStatus.running,
    "PENDING": RunStatus.running,
    "RUNNING": RunStatus.running,
    "PAUSED": RunStatus.running,
    "CANCELING": RunStatus.running,
    "SUCCEEDED": RunStatus.succeeded,
    "SKIPPED": RunStatus.succeeded,
    "FAILED": RunStatus.failed,
    "CANCELED": RunStatus.cancelled,
}
TASK_STATE = {
    "RUNTIME_STATE_UNSPECIFIED": StepStatus.pending,
    "PENDING": StepStatus.pending,
    "RUNNING": StepStatus.running,
    "PAUSED": StepStatus.running,
    "CANCELING": StepStatus.running,
    "SUCCEEDED": StepStatus.succeeded,
    "CACHED": StepStatus.cached,
    "SKIPPED": StepStatus.skipped,
    "FAILED": StepStatus.failed,
    "CANCELED": StepStatus.cancelled,
}


class KfpDriver(ClusterDriverBase):
    record_key = "kfp_run"
    kind = "KFP run"

    def __init__(
        self, backend: KfpBackend, pipeline: Pipeline | None, run: Run, request: RunRequest | None
    ) -> None:
        from ..k8s.volumes import unique_name

        super().__init__(backend, pipeline, run, request)
        self.pvc = unique_name(run.pipeline, run.id, "work")
        self.extra_pvcs: list[str] = []  # claims restored for `volume:<claim>:snapshot`

    @classmethod
    def attach(cls, backend: KfpBackend, run: Run, record: dict[str, Any]) -> KfpDriver:
        driver = super().attach(backend, run, record)
        driver.pvc = record.get("pvc") or driver.pvc
        driver.extra_pvcs = list(record.get("extra_pvcs") or [])
        return driver

    def describe(self) -> str:
        return f"KFP run {self.external_id}"

    # Resolved in the run's thread: a configuration error fails the run with its message.
    @cached_property
    def api(self) -> KfpApi:
        return self.backend.api()

    def compiled(self) -> str:
        from jupyter_kf_converter.targets.kfp import compile_kfp

        assert self.plan is not None and self.pipeline is not None
        return compile_kfp(self.pipeline, self.plan.options)

    def submit(self) -> tuple[str, str | None]:
        from ..k8s.prepare import notebook_folder, prepare, write_record

        assert self.pipeline is not None and self.request is not None
        api, namespace = self.api, self.namespace  # configuration errors before any cluster call
        folder = notebook_folder(self.run, self.pipeline, self.request, self.backend.root)
        self.plan = prepare(
            self.clients, self.pipeline, self.run, self.request,
            namespace=namespace, folder=folder, pvc_name=self.pvc,
        )  # fmt: skip
        self.backend.record_cache_keys(self.pipeline, self.run, self.plan, folder)
        s = self.backend.settings
        self._check_server(api)
        experiment = api.ensure_experiment(s.kfp_experiment, namespace)
        self._create_volume()
        known = {p.name for p in self.pipeline.parameters}
        created = self.api.create_run(
            display_name=f"{self.pipeline.name} {self.run.id}",
            experiment_id=experiment,
            compiled_yaml=self.compiled(),
            parameters={k: v for k, v in self.run.parameters.items() if k in known},
            service_account=self.plan.options.service_account,
        )
        self.external_id = created["run_id"]
        write_record(
            self.backend.store.run_path(self.run.id),
            self.plan,
            keep_snapshot=s.keep_snapshot,
            backend="kfp",
            kfp_run=self.external_id,
            pvc=self.pvc,
            extra_pvcs=self.extra_pvcs,
        )
        return self.external_id, self.api.run_url(self.external_id)

    def _check_server(self, api: KfpApi) -> None:
        """Refuse a KFP backend older than the specs are made for; say what an older supported
        one does not do (retries need 2.4.1). A server that does not say its version is tried."""
        from ..k8s.client import ClusterError

        assert self.plan is not None and self.pipeline is not None
        version = api.server_version()
        if version is None:
            return
        if version < MIN_KFP:
            raise ClusterError(
                f"KFP {'.'.join(map(str, version))} is not supported: jupyter-kf's specs need KFP "
                "2.2.0 or later (Kubeflow 1.9+)"
            )
        retried = [s.name for s in self.pipeline.steps if s.retries]
        if retried and version < RETRIES_KFP:
            self.plan.notes.append(
                f"KFP {'.'.join(map(str, version))} does not retry failed steps (retries need KFP 2.4.1): "
                f"{', '.join(retried)} run once"
            )

    def _create_volume(self) -> None:
        """The run volume, created here rather than by KFP: every KFP release restores it from the
        snapshot this way (CreatePVC's data_source needs KFP 2.17), and a claim without a class
        gets the cluster's default one (KFP's CreatePVC would ask for a class named "standard")."""
        from ..k8s.volumes import create_pvc, k8s_name

        assert self.plan is not None
        opts = self.plan.options
        create_pvc(
            self.clients, self.pvc, self.namespace,
            size=opts.volume_size, access_modes=opts.access_modes, storage_class=opts.storage_class,
            snapshot=opts.snapshot, labels={"jupyter-kf/run": k8s_name(self.run.id)},
        )  # fmt: skip
        self.volume_created = True
        for extra in opts.extra_volumes:
            if extra.mode == "snapshot" and extra.pvc_name:
                self.extra_pvcs.append(extra.pvc_name)  # before the call: a half-made claim is deleted too
                create_pvc(
                    self.clients, extra.pvc_name, self.namespace,
                    size=extra.size, access_modes=extra.access_modes, storage_class=extra.storage_class,
                    snapshot=extra.snapshot, labels={"jupyter-kf/run": k8s_name(self.run.id)},
                )  # fmt: skip

    def poll(self) -> ClusterState:
        assert self.external_id is not None
        details = self.api.get_run(self.external_id)
        steps: dict[str, StepState] = {}
        names = self.steps
        pods = _task_pods(details)
        for task in (details.get("run_details") or {}).get("task_details") or []:
            name = task.get("display_name")
            if name not in names:
                continue
            state = StepState(
                status=TASK_STATE.get(task.get("state") or "", StepStatus.pending),
                started_at=parse_time(task.get("start_time")),
                finished_at=parse_time(task.get("end_time")),
                pod=pods.get(name),
            )
            if state.status == StepStatus.failed:
                state.error = (task.get("error") or {}).get("message") or "failed"
            steps[name] = state
        error = (details.get("error") or {}).get("message")
        return ClusterState(
            status=RUN_STATE.get(details.get("state") or "", RunStatus.running), steps=steps, error=error
        )

    def cancel(self) -> None:
        if self.external_id:
            self.api.terminate_run(self.external_id)

    def pod_log(self, pod: str) -> str:
        return executor_log(self.clients, pod, self.namespace)

    def cleanup(self) -> None:
        from ..k8s.volumes import delete_pvc

        try:
            if self.plan is not None and (self.external_id or getattr(self, "volume_created", False)):
                delete_pvc(self.clients, self.pvc, self.namespace)
            for claim in self.extra_pvcs:
                delete_pvc(self.clients, claim, self.namespace)
        finally:
            super().cleanup()



class KfpBackend(ClusterBackend):
    name = "kfp"
    description = "Kubeflow Pipelines v2 (steps in the notebook pod's image, volume from a snapshot)"
    requires = ("kubernetes", "kfp", "requests")
    driver = KfpDriver
    namespace_setting = "kfp_namespace"
    no_namespace = "no namespace for KFP runs: set KF_KFP_NAMESPACE"

    def config_reason(self) -> str | None:
        if not self.settings.kfp_endpoint:
            return "KFP endpoint not set: KF_KFP_ENDPOINT or c.KubernetesConfig.kfp_endpoint"
        return self.k8s_reason()

    def api(self) -> KfpApi:
        from ..k8s.kfp_api import KfpApi

        return KfpApi(self.settings)

    def step_log(self, run: Run, step: str) -> str:
        """The live log of a step's pod."""
        details = self.api().get_run(run.external_id or "")
        nodes = _task_pods(details).get(step)
        return executor_log(self.clients(), nodes, self.namespace()) if nodes else ""


def _task_pods(details: dict[str, Any]) -> dict[str, str]:
    """step display name -> the Argo node IDs of its pods (driver, executor), comma-separated:
    KFP reports node IDs in ``child_tasks[].pod_name``, not pod names."""
    out: dict[str, str] = {}
    for task in (details.get("run_details") or {}).get("task_details") or []:
        pods = [c.get("pod_name") for c in task.get("child_tasks") or [] if c.get("pod_name")]
        if pods and task.get("display_name"):
            out[task["display_name"]] = ",".join(pods)
    return out


def executor_log(clients, nodes: str, namespace: str) -> str:
    """The log of a KFP task's executor pod, found from its node IDs (v2 pod names, then v1)."""
    from ..k8s.client import ClusterError
    from ..k8s.workflows import kfp_executor_pods, pod_log

    candidates = kfp_executor_pods(nodes.split(","))
    for pod in candidates:
        try:
            return pod_log(clients, pod, namespace)
        except ClusterError as exc:
            if exc.status != 404:
                raise
    raise ClusterError(f"no pod of this KFP task was found (tried {', '.join(candidates)})", status=404)
