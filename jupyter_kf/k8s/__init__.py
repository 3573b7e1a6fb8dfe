"""Kubernetes helpers for the cluster backends: settings and credentials, the notebook's own pod,
VolumeSnapshots and PVCs, Argo Workflow objects and the KFP REST API.

Importing this package is cheap: ``kubernetes``/``kfp``/``requests`` load only when a call needs them.
The server extension applies ``c.KubernetesConfig`` (``jupyter_kf.k8s.config.KubernetesConfig``, a
traitlets Configurable) with ``jupyter_kf.k8s.backend.configure(serverapp)``.
"""

from .config import ClusterSettings

__all__ = ["ClusterSettings"]
