"""Cluster settings: environment variables and Jupyter config (``KubernetesConfig``).

The environment gives the defaults; Jupyter config (``c.KubernetesConfig.kfp_endpoint = ...``)
overrides them. No field holds a token's value read from disk: tokens are read from their files
at each request (projected tokens rotate), and a token given directly is kept out of every repr.

==========================  =================================================================
``KF_KFP_ENDPOINT``         KFP API server, e.g. ``http://ml-pipeline.kubeflow:8888``.
``KF_KFP_UI``               KFP UI for run links, e.g. ``https://kubeflow.example/_/pipeline``
                            (default: the endpoint, which serves no UI in Kubeflow).
``KF_KFP_NAMESPACE``        Namespace (Kubeflow profile) of KFP runs (default: the pod's).
``KF_KFP_EXPERIMENT``       Experiment that runs are created in (default ``jupyter-kf``).
``KF_KFP_TOKEN``            Bearer token for KFP (default: the projected token file, then the
                            service-account token).
``KF_KFP_TOKEN_PATH``       Projected token file (default: ``KF_PIPELINES_SA_TOKEN_PATH``, which
                            Kubeflow sets, else ``/var/run/secrets/kubeflow/pipelines/token``).
``KF_KFP_BACKEND_VERSION``  Oldest KFP release the specs must run on (default ``2.2.0``;
                            ``2.3.0`` or later allows ``shm:`` tags).
``KF_ARGO_NAMESPACE``       Namespace of Argo Workflows (default: the pod's namespace).
``KF_K8S_API``              Kubernetes API server URL (default: in-cluster, then kubeconfig).
``KF_K8S_TOKEN``            Bearer token for the Kubernetes API (default: service account).
``KF_K8S_CA_CERT``          CA bundle for the API server (``KF_K8S_VERIFY_SSL=0`` to skip).
``KUBECONFIG`` / ``KF_K8S_CONTEXT``  kubeconfig file and context, outside a cluster.
``KF_STEP_IMAGE``           Step image (default: the notebook pod's own image, by digest).
``KF_INHERIT_POD``          ``0``: do not copy the pod's image/env/service account (default 1).
``KF_SNAPSHOT_CLASS``       VolumeSnapshotClass (default: the cluster's default class).
``KF_STORAGE_CLASS``        StorageClass of run volumes (default: the notebook PVC's).
``KF_VOLUME_SIZE``          Size of a run volume with no snapshot (default ``10Gi``).
``KF_SNAPSHOT_TIMEOUT``     Seconds to wait for a snapshot to be ready (default 300).
``KF_KEEP_SNAPSHOT``        ``1``: keep the VolumeSnapshot after the run (default 0).
``KF_SNAPSHOT``             ``0``: no volume snapshot; run volumes start empty (default 1).
``KF_POLL_INTERVAL``        Seconds between reads of a watched run's state (default 2).
``KF_RUN_TIMEOUT``          Seconds a whole Argo run may take (default: no limit).
``KF_WORKFLOW_TTL``         Seconds Argo keeps a finished Workflow and its pods (default 86400).
==========================  =================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
KFP_TOKEN_PATH = "/var/run/secrets/kubeflow/pipelines/token"

ENV = {
    "kfp_endpoint": "KF_KFP_ENDPOINT",
    "kfp_namespace": "KF_KFP_NAMESPACE",
    "kfp_ui": "KF_KFP_UI",
    "kfp_experiment": "KF_KFP_EXPERIMENT",
    "kfp_token": "KF_KFP_TOKEN",
    "kfp_token_path": "KF_KFP_TOKEN_PATH",
    "kfp_backend": "KF_KFP_BACKEND_VERSION",
    "argo_namespace": "KF_ARGO_NAMESPACE",
    "k8s_api": "KF_K8S_API",
    "k8s_token": "KF_K8S_TOKEN",
    "ca_cert": "KF_K8S_CA_CERT",
    "verify_ssl": "KF_K8S_VERIFY_SSL",
    "kubeconfig": "KUBECONFIG",
    "context": "KF_K8S_CONTEXT",
    "step_image": "KF_STEP_IMAGE",
    "inherit_pod": "KF_INHERIT_POD",
    "snapshot_class": "KF_SNAPSHOT_CLASS",
    "storage_class": "KF_STORAGE_CLASS",
    "volume_size": "KF_VOLUME_SIZE",
    "snapshot_timeout": "KF_SNAPSHOT_TIMEOUT",
    "keep_snapshot": "KF_KEEP_SNAPSHOT",
    "snapshot": "KF_SNAPSHOT",
    "poll_interval": "KF_POLL_INTERVAL",
    "run_timeout": "KF_RUN_TIMEOUT",
    "workflow_ttl": "KF_WORKFLOW_TTL",
    "service_account_dir": "KF_SERVICE_ACCOUNT_DIR",
    "pod_name": "HOSTNAME",
}


class ClusterSettings(BaseModel):
    """Where the cluster backends submit, how they authenticate, and how volumes are handled."""

    model_config = ConfigDict(extra="forbid")

    kfp_endpoint: str | None = None
    kfp_namespace: str | None = None
    kfp_ui: str | None = None
    kfp_experiment: str = "jupyter-kf"
    kfp_token: SecretStr | None = None
    kfp_token_path: str = KFP_TOKEN_PATH
    kfp_backend: str = "2.2.0"
    argo_namespace: str | None = None
    k8s_api: str | None = None
    k8s_token: SecretStr | None = None
    ca_cert: str | None = None
    verify_ssl: bool = True
    kubeconfig: str | None = None
    context: str | None = None
    step_image: str | None = None
    inherit_pod: bool = True
    snapshot_class: str | None = None
    storage_class: str | None = None
    volume_size: str = "10Gi"
    snapshot_timeout: float = Field(default=300.0, gt=0)
    keep_snapshot: bool = False
    snapshot: bool = True
    poll_interval: float = Field(default=2.0, gt=0)
    run_timeout: float | None = Field(default=None, gt=0)
    workflow_ttl: int = Field(default=86400, ge=0)
    service_account_dir: str = SA_DIR
    pod_name: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ClusterSettings:
        """Settings from the environment, then ``overrides`` (None values ignored).

        Raises ``ValueError`` naming the variable when a value is invalid.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field, var in ENV.items():
            raw = env.get(var)
            if raw is not None and raw.strip():
                values[field] = raw.strip()
        if "kfp_token_path" not in values and (env.get("KF_PIPELINES_SA_TOKEN_PATH") or "").strip():
            # what Kubeflow's PodDefault access-ml-pipeline sets (and kfp.Client reads)
            values["kfp_token_path"] = env["KF_PIPELINES_SA_TOKEN_PATH"].strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except Exception as exc:
            from pydantic import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            where = ", ".join(f"{ENV.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"invalid cluster setting ({where})") from None

    @property
    def in_cluster(self) -> bool:
        return os.path.exists(os.path.join(self.service_account_dir, "token"))

    def pod_namespace(self) -> str | None:
        """The notebook pod's namespace, from the service-account namespace file."""
        try:
            with open(os.path.join(self.service_account_dir, "namespace")) as f:
                return f.read().strip() or None
        except OSError:
            return None


def _configurable():
    """``KubernetesConfig``: the traitlets face of ClusterSettings (built lazily: traitlets is
    always present with Jupyter, but this module must import cheaply)."""
    from traitlets import Bool, Float, Unicode
    from traitlets.config import Configurable

    class KubernetesConfig(Configurable):
        """jupyter-kf cluster backends (KFP, Argo). Unset traits fall back to the KF_* variables."""

        kfp_endpoint = Unicode(None, allow_none=True, help="KFP API server URL.").tag(config=True)
        kfp_namespace = Unicode(None, allow_none=True, help="KFP namespace (profile).").tag(config=True)
        kfp_ui = Unicode(None, allow_none=True, help="KFP UI base URL for run links.").tag(config=True)
        kfp_experiment = Unicode(None, allow_none=True, help="KFP experiment for runs.").tag(config=True)
        kfp_token_path = Unicode(None, allow_none=True, help="Projected KFP token file.").tag(config=True)
        kfp_backend = Unicode(None, allow_none=True, help="Oldest KFP release the specs must run on.").tag(
            config=True
        )
        argo_namespace = Unicode(None, allow_none=True, help="Argo Workflows namespace.").tag(config=True)
        k8s_api = Unicode(None, allow_none=True, help="Kubernetes API server URL.").tag(config=True)
        ca_cert = Unicode(None, allow_none=True, help="CA bundle for the API server.").tag(config=True)
        verify_ssl = Bool(None, allow_none=True, help="Verify the API server's certificate.").tag(config=True)
        kubeconfig = Unicode(None, allow_none=True, help="kubeconfig file (outside a cluster).").tag(
            config=True
        )
        context = Unicode(None, allow_none=True, help="kubeconfig context.").tag(config=True)
        step_image = Unicode(None, allow_none=True, help="Image of every step (default: the pod's).").tag(
            config=True
        )
        inherit_pod = Bool(None, allow_none=True, help="Copy the pod's image, env, service account.").tag(
            config=True
        )
        snapshot_class = Unicode(None, allow_none=True, help="VolumeSnapshotClass.").tag(config=True)
        storage_class = Unicode(None, allow_none=True, help="StorageClass of run volumes.").tag(config=True)
        volume_size = Unicode(None, allow_none=True, help="Size of an empty run volume.").tag(config=True)
        snapshot_timeout = Float(None, allow_none=True, help="Seconds to wait for a snapshot.").tag(
            config=True
        )
        keep_snapshot = Bool(None, allow_none=True, help="Keep the VolumeSnapshot after the run.").tag(
            config=True
        )
        snapshot = Bool(None, allow_none=True, help="Snapshot the notebook's volume for each run.").tag(
            config=True
        )
        poll_interval = Float(None, allow_none=True, help="Seconds between reads of a run's state.").tag(
            config=True
        )

        def settings(self, environ: Mapping[str, str] | None = None) -> ClusterSettings:
            """Environment defaults overridden by whatever this config sets."""
            overrides = {name: getattr(self, name) for name in self.trait_names(config=True)}
            return ClusterSettings.from_env(environ, **overrides)

    return KubernetesConfig


def __getattr__(name: str):
    if name == "KubernetesConfig":
        cls = _configurable()
        globals()["KubernetesConfig"] = cls
        return cls
    raise AttributeError(name)
