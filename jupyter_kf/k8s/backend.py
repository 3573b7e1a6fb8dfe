"""What the KFP and Argo backends share: settings, clients, availability, run preparation."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..backends.base import Backend
from ..models import BackendInfo, Run, RunRequest
from .config import ClusterSettings

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..backends.base import OnUpdate
    from ..store import RunStore
    from ..store.liveness import WatchLock
    from .client import KubeClients
    from .driver import ClusterDriverBase
    from .prepare import ClusterPlan
    from .watch import ClusterRunHandle

_DEFAULT_SETTINGS: ClusterSettings | None = None


def set_default_settings(settings: ClusterSettings | None) -> None:
    """Settings used by backends created without explicit ones (the server extension calls this
    with ``KubernetesConfig(parent=app).settings()``)."""
    global _DEFAULT_SETTINGS
    _DEFAULT_SETTINGS = settings


def configure(parent: object | None = None) -> ClusterSettings:
    """Read ``c.KubernetesConfig`` from ``parent``'s config (e.g. the ServerApp) over the KF_*
    environment, and make it the default of every cluster backend. Returns the settings."""
    from .config import KubernetesConfig

    settings = KubernetesConfig(parent=parent).settings()
    set_default_settings(settings)
    return settings


def default_settings() -> ClusterSettings:
    return _DEFAULT_SETTINGS or ClusterSettings.from_env()


class ClusterBackend(Backend):
    """Base of the KFP and Argo backends: a subclass names its driver and its namespace setting."""

    description = ""
    requires: tuple[str, ...] = ("kubernetes",)
    driver: ClassVar[type[ClusterDriverBase]]
    #: ClusterSettings field with the namespace for this backend's runs, and the error without one.
    namespace_setting: ClassVar[str]
    no_namespace: ClassVar[str]

    def __init__(
        self,
        store: RunStore,
        settings: ClusterSettings | None = None,
        *,
        poll_interval: float | None = None,
        root: Path | None = None,
    ) -> None:
        super().__init__(store)
        self._settings = settings
        self._poll_interval = poll_interval
        self.root = root

    @property
    def poll_interval(self) -> float:
        return self._poll_interval or self.settings.poll_interval

    @property
    def settings(self) -> ClusterSettings:
        if self._settings is None:
            self._settings = default_settings()
        return self._settings

    def clients(self) -> KubeClients:
        from .client import KubeClients

        return KubeClients(self.settings)

    # -- availability -------------------------------------------------------------------------
    def missing_libraries(self) -> list[str]:
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def k8s_reason(self) -> str | None:
        """Why the Kubernetes API cannot be reached with these settings, or None."""
        s = self.settings
        if s.k8s_api or s.in_cluster:
            return None
        kubeconfig = s.kubeconfig or os.path.expanduser("~/.kube/config")
        if os.path.exists(kubeconfig.split(os.pathsep)[0]):
            return None
        return "no Kubernetes API: not in a cluster pod, KF_K8S_API not set, no kubeconfig"

    def info(self) -> BackendInfo:
        try:
            missing = self.missing_libraries()
            if missing:
                return BackendInfo(
                    name=self.name,
                    available=False,
                    configured=False,
                    description=self.description,
                    reason=f"missing Python packages: {', '.join(missing)} (pip install 'jupyter-kf[{self.name}]')",
                )
            reason = self.config_reason()
            return BackendInfo(
                name=self.name,
                available=True,
                configured=reason is None,
                description=self.description,
                reason=reason,
            )
        except Exception as exc:  # info() never raises
            return BackendInfo(
                name=self.name,
                available=False,
                configured=False,
                description=self.description,
                reason=str(exc),
            )

    def config_reason(self) -> str | None:
        return self.k8s_reason()

    def namespace(self) -> str:
        """The configured namespace for this backend's runs, else the notebook pod's own."""
        from .client import ClusterConfigError

        ns = getattr(self.settings, self.namespace_setting) or self.settings.pod_namespace()
        if not ns:
            raise ClusterConfigError(self.no_namespace)
        return ns

    # -- running and watching -----------------------------------------------------------------
    def start(
        self, pipeline: Pipeline, run: Run, request: RunRequest, on_update: OnUpdate | None = None
    ) -> ClusterRunHandle:
        from .watch import ClusterRunHandle

        driver = self.driver(self, pipeline, run, request)
        return ClusterRunHandle(self.store, run, driver, on_update, poll_interval=self.poll_interval).start()

    def attach_driver(self, run: Run, record: dict[str, Any]) -> ClusterDriverBase:
        """A driver for a run submitted earlier (by any process), from its ``cluster.json``."""
        return self.driver.attach(self, run, record)

    def reattach(
        self, run: Run, *, lock: WatchLock | None = None, on_update: OnUpdate | None = None
    ) -> ClusterRunHandle:
        """Resume watching ``run`` (submitted earlier, its watcher gone) from ``external_id`` and
        ``cluster.json``: step states, logs of finished steps, cleanup at the end. Returns the
        started handle; it holds ``lock`` (or takes the run's watch lock) while it watches.
        The caller should hold the lock: without it, this raises if another process watches."""
        import json

        from ..store.liveness import WatchLock
        from .watch import ClusterRunHandle

        run_dir = self.store.run_path(run.id)
        record = json.loads((run_dir / "cluster.json").read_text())
        lock = lock or WatchLock(run_dir)
        if not lock.acquire():
            raise RuntimeError(f"run {run.id} is already watched by another process")
        try:
            driver = self.attach_driver(run, record)
        except BaseException:
            lock.release()
            raise
        handle = ClusterRunHandle(
            self.store, run, driver, on_update, poll_interval=self.poll_interval, attached=True, lock=lock
        )
        return handle.start()

    # -- helpers for the drivers --------------------------------------------------------------
    def data_key(self, plan: ClusterPlan, folder: str, notebook: str | None = None) -> str | None:
        """What the run volume starts with, by content: the digest of the notebook's folder as the
        server sees it (the same PVC the VolumeSnapshot was taken of), so two runs on the same
        data share cache keys, as local runs do. None (the snapshot's name is used instead) when
        the folder is not visible here; no snapshot (an empty volume): None as well."""
        import logging

        if not plan.snapshot or not Path(folder).is_dir():
            return None
        try:
            snaps = self.store.snapshots
            snap = snaps.create(folder, notebook=notebook)
            exclude = [notebook] if notebook else []
            return "content:" + snaps.data_key(snap.id, exclude=exclude)
        except Exception as exc:  # the key falls back to the snapshot's name: never a false hit
            logging.getLogger(__name__).warning("run volume content not keyed (%s): %s", folder, exc)
            return None

    def record_cache_keys(
        self, pipeline: Pipeline, run: Run, plan: ClusterPlan, folder: str | None = None
    ) -> None:
        """Each step's cache key in the store: code, parameters, image and the run volume's data
        (its content digest when the folder is visible here, else the snapshot's name); the same
        data key goes into the KFP spec's cache salt."""
        from jupyter_kf_converter.targets.options import step_image

        from ..cache import cache_key, parameter_values, step_code

        if folder is not None:
            notebook = Path(run.notebook).name if run.notebook else None
            plan.options.data_key = self.data_key(plan, folder, notebook)
        snapshot = plan.options.data_key or (
            f"volumesnapshot:{plan.namespace}/{plan.snapshot_name}" if plan.snapshot_name else None
        )
        for step in pipeline.steps:
            key = cache_key(
                step=step.name,
                code=step_code(pipeline, step),
                inputs={i.producer + "/" + i.name: "upstream" for i in step.inputs},
                parameters=parameter_values(pipeline, step, run.parameters),
                snapshot=snapshot,
                environment="image:" + step_image(pipeline, step, plan.options),
                outputs=step.outputs,
            )
            self.store.update_step(run.id, step.name, cache_key=key)
