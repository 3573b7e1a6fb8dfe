"""Kubernetes API clients and credentials: explicit URL + token, in-cluster service account, kubeconfig.

Tokens are read from their files at every request (projected service-account and KFP tokens
rotate) and never put into messages, specs or logs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .config import ClusterSettings

RBAC_HINT = "the notebook's service account needs the Role in deploy/rbac.yaml (see docs/kubernetes.md)"


class ClusterError(RuntimeError):
    """A cluster call failed; ``status`` is the HTTP status (None for configuration problems)."""

    def __init__(self, message: str, status: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class ClusterConfigError(ClusterError):
    """The cluster backends are not configured (no API server or credentials found)."""


def api_error(exc: Exception, doing: str) -> ClusterError:
    """A ClusterError from a kubernetes ``ApiException``, carrying the API's own Status message."""
    status = getattr(exc, "status", None)
    message = reason = None
    body = getattr(exc, "body", None)
    if body:
        try:
            data = json.loads(body)
            message, reason = data.get("message"), data.get("reason")
        except (ValueError, AttributeError):
            message = str(body)[:500]
    text = f"{doing}: {message or getattr(exc, 'reason', None) or exc}"
    if status == 403:
        text += f" ({RBAC_HINT})"
    return ClusterError(text, status=status, reason=reason)


def delete_if_present(doing: str, call: Any, *args: Any) -> bool:
    """Run a kubernetes ``delete_*`` call; False when the object was already gone (404). Other API
    errors become a ClusterError naming ``doing``; errors that are not API answers propagate."""
    try:
        call(*args)
        return True
    except Exception as exc:
        status = getattr(exc, "status", None)
        if status == 404:
            return False
        if status is None:
            raise
        raise api_error(exc, doing) from None


def read_token(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip() or None
    except OSError:
        return None


@dataclass
class KubeClients:
    """ApiClient, CoreV1Api and CustomObjectsApi for one set of settings."""

    settings: ClusterSettings

    @cached_property
    def api_client(self) -> Any:
        from kubernetes import client

        return client.ApiClient(self._configuration())

    @cached_property
    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    @cached_property
    def custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.api_client)

    def namespace(self, explicit: str | None = None) -> str:
        ns = explicit or self.settings.pod_namespace()
        if not ns:
            raise ClusterConfigError(
                "no namespace: not in a pod (no service-account namespace file) and none configured "
                "(KF_ARGO_NAMESPACE / KF_KFP_NAMESPACE)"
            )
        return ns

    def _configuration(self) -> Any:
        from kubernetes import client

        s = self.settings
        cfg = client.Configuration()
        sa_token = os.path.join(s.service_account_dir, "token")
        if s.k8s_api:
            cfg.host = s.k8s_api.rstrip("/")
            if s.k8s_token:
                cfg.api_key = {"authorization": "Bearer " + s.k8s_token.get_secret_value()}
            elif os.path.exists(sa_token):
                _token_from_file(cfg, sa_token)
            ca = s.ca_cert or _existing(os.path.join(s.service_account_dir, "ca.crt"))
        elif os.environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(sa_token):
            host, port = (
                os.environ["KUBERNETES_SERVICE_HOST"],
                os.environ.get("KUBERNETES_SERVICE_PORT", "443"),
            )
            cfg.host = f"https://{_bracket(host)}:{port}"
            _token_from_file(cfg, sa_token)
            ca = s.ca_cert or _existing(os.path.join(s.service_account_dir, "ca.crt"))
        else:
            kubeconfig = s.kubeconfig or os.path.expanduser("~/.kube/config")
            if not os.path.exists(kubeconfig.split(os.pathsep)[0]):
                raise ClusterConfigError(
                    "no Kubernetes API: not in a cluster, KF_K8S_API is not set and there is no kubeconfig"
                )
            from kubernetes import config as kconfig

            kconfig.load_kube_config(config_file=kubeconfig, context=s.context, client_configuration=cfg)
            ca = s.ca_cert
        if ca:
            cfg.ssl_ca_cert = ca
        cfg.verify_ssl = s.verify_ssl
        return cfg


def _token_from_file(cfg: Any, path: str) -> None:
    """Bearer token read from ``path`` now and again before each request (rotation)."""

    def refresh(c: Any) -> None:
        token = read_token(path)
        if token:
            c.api_key["authorization"] = "Bearer " + token

    cfg.api_key = {}
    refresh(cfg)
    cfg.refresh_api_key_hook = refresh


def _existing(path: str) -> str | None:
    return path if os.path.exists(path) else None


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
