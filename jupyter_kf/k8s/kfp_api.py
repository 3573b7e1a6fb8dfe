"""A small client for the Kubeflow Pipelines v2beta1 REST API (runs, experiments, terminate).

Plain HTTP (``requests``) rather than ``kfp.Client``: we need a handful of calls, full control of
the bearer token (read fresh from its file per request, never logged), and clear errors.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from .client import ClusterConfigError, ClusterError, read_token
from .config import ClusterSettings

API = "/apis/v2beta1"
FINAL_STATES = {"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"}


def pipeline_spec_body(compiled_yaml: str) -> dict[str, Any]:
    """The run's ``pipeline_spec`` field from kfp's compiled YAML (pipeline + platform docs),
    shaped as ``kfp.Client`` sends it."""
    import yaml

    docs = [d for d in yaml.safe_load_all(compiled_yaml) if d]
    if not docs:
        raise ValueError("empty compiled pipeline")
    platform: dict[str, Any] = {}
    for doc in docs[1:]:
        platform.update(doc)
    if not platform:
        return docs[0]
    return {"pipeline_spec": docs[0], "platform_spec": platform}


# (method, first path segment, has an id) -> the KFP permission (verb, resource) the call needs;
# multi-user KFP checks it with a SubjectAccessReview in API group pipelines.kubeflow.org.
_PERMISSIONS = {
    ("GET", "experiments", False): ("list", "experiments"),
    ("POST", "experiments", False): ("create", "experiments"),
    ("POST", "runs", False): ("create", "runs"),
    ("GET", "runs", True): ("get", "runs"),
    ("POST", "runs", True): ("terminate", "runs"),
    ("POST", "recurringruns", False): ("create", "recurringruns"),
    ("DELETE", "recurringruns", True): ("delete", "recurringruns"),
}
KFP_GROUP = "pipelines.kubeflow.org"


def required_permission(method: str, path: str) -> tuple[str, str] | None:
    """The (verb, resource) in pipelines.kubeflow.org a KFP API call needs; None if unknown."""
    parts = path.strip("/").split("/")
    return _PERMISSIONS.get((method, parts[0].split(":")[0], len(parts) > 1))


def _auth_hint(status: int, method: str, path: str, source: str, kwargs: dict[str, Any]) -> str:
    """What to do about a 401/403, first in the message (the server's own words follow)."""
    if status == 401:
        return (
            f" (KFP did not accept {source}; multi-user Kubeflow takes only the projected token with "
            f"audience {KFP_GROUP}, mounted and named in KF_PIPELINES_SA_TOKEN_PATH when the notebook is "
            "created with \"Allow access to Kubeflow Pipelines\"; see docs/kubernetes.md)"
        )
    if status != 403:
        return ""
    needed = required_permission(method, path)
    body = kwargs.get("json") if isinstance(kwargs.get("json"), dict) else {}
    namespace = (kwargs.get("params") or {}).get("namespace") or body.get("namespace") or "the profile's namespace"
    what = f"'{needed[0]}' on '{needed[1]}'" if needed else "this call"
    return (
        f" (the service account needs {what} (API group {KFP_GROUP}) in {namespace}: a Kubeflow "
        "notebook's default-editor has it; bind another account to the ClusterRole "
        "kubeflow-pipelines-edit, or apply the jupyter-kf-pipelines Role of deploy/rbac.yaml)"
    )


@dataclass
class KfpApi:
    settings: ClusterSettings
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.settings.kfp_endpoint:
            raise ClusterConfigError(
                "KFP is not configured: set KF_KFP_ENDPOINT or KubernetesConfig.kfp_endpoint"
            )
        self.base = self.settings.kfp_endpoint.rstrip("/")

    # -- auth -----------------------------------------------------------------------------
    def _token(self) -> str | None:
        return self._token_and_source()[0]

    def _token_and_source(self) -> tuple[str | None, str]:
        """The bearer token and where it came from (for error messages; never the value)."""
        s = self.settings
        if s.kfp_token:
            return s.kfp_token.get_secret_value(), "KF_KFP_TOKEN"
        token = read_token(s.kfp_token_path)
        if token:
            return token, f"the projected token {s.kfp_token_path}"
        sa = os.path.join(s.service_account_dir, "token")
        token = read_token(sa)
        if token:
            return token, f"the plain service-account token {sa} (no projected KFP token at {s.kfp_token_path})"
        return None, f"no token (none at {s.kfp_token_path} or {sa})"

    def _request(self, method: str, path: str, doing: str, **kwargs: Any) -> Any:
        import requests

        headers = {"Accept": "application/json"}
        token, source = self._token_and_source()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        verify: Any = self.settings.ca_cert or self.settings.verify_ssl
        try:
            resp = requests.request(
                method, self.base + API + path, headers=headers, timeout=self.timeout, verify=verify, **kwargs
            )
        except requests.RequestException as exc:
            raise ClusterError(f"{doing}: cannot reach KFP at {self.base} ({type(exc).__name__})") from None
        if resp.status_code >= 400:
            try:
                body = resp.json()
                message = body.get("message") or body.get("error") or resp.text
            except ValueError:
                message = resp.text[:500]
            hint = _auth_hint(resp.status_code, method, path, source, kwargs)
            raise ClusterError(
                f"{doing}: KFP answered {resp.status_code}{hint}: {message}", status=resp.status_code
            )
        return resp.json() if resp.content else {}

    # -- experiments ----------------------------------------------------------------------
    def ensure_experiment(self, name: str, namespace: str | None = None) -> str:
        """The id of experiment ``name`` (created when missing)."""
        flt = json.dumps(
            {"predicates": [{"key": "display_name", "operation": "EQUALS", "string_value": name}]}
        )
        params: dict[str, Any] = {"filter": flt, "page_size": 1}
        if namespace:
            params["namespace"] = namespace
        found = self._request("GET", "/experiments", f"finding KFP experiment {name!r}", params=params)
        for exp in found.get("experiments") or []:
            if exp.get("display_name") == name:
                return exp["experiment_id"]
        body: dict[str, Any] = {"display_name": name, "description": "Runs submitted by jupyter-kf"}
        if namespace:
            body["namespace"] = namespace
        created = self._request("POST", "/experiments", f"creating KFP experiment {name!r}", json=body)
        return created["experiment_id"]

    # -- runs -----------------------------------------------------------------------------
    def create_run(
        self,
        *,
        display_name: str,
        experiment_id: str,
        compiled_yaml: str,
        parameters: dict[str, Any] | None = None,
        service_account: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "display_name": display_name,
            "experiment_id": experiment_id,
            "pipeline_spec": pipeline_spec_body(compiled_yaml),
            "runtime_config": {"parameters": dict(parameters or {})},
        }
        if service_account:
            body["service_account"] = service_account
        return self._request("POST", "/runs", f"creating KFP run {display_name!r}", json=body)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._request("GET", f"/runs/{run_id}", f"reading KFP run {run_id}")

    def terminate_run(self, run_id: str) -> None:
        self._request("POST", f"/runs/{run_id}:terminate", f"terminating KFP run {run_id}")

    # -- recurring runs (jupyter_kf.k8s.cron) -----------------------------------------------
    def create_recurring_run(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", "/recurringruns", f"creating KFP recurring run {body.get('display_name')!r}",
                             json=body)

    def delete_recurring_run(self, recurring_run_id: str) -> None:
        self._request("DELETE", f"/recurringruns/{recurring_run_id}", f"deleting KFP recurring run {recurring_run_id}")

    def healthz(self) -> dict[str, Any]:
        return self._request("GET", "/healthz", "checking KFP")

    def server_version(self) -> tuple[int, ...] | None:
        """The KFP server's release from ``healthz`` (``tag_name``), or None when it will not say."""
        import re

        try:
            tag = str(self.healthz().get("tag_name") or "")
        except ClusterError:
            return None
        match = re.match(r"^v?(\d+)\.(\d+)\.(\d+)", tag)
        return tuple(int(x) for x in match.groups()) if match else None

    def run_url(self, run_id: str) -> str:
        """The run in KFP's UI (``KF_KFP_UI``; in Kubeflow, ``<dashboard>/_/pipeline``)."""
        ui = (self.settings.kfp_ui or self.base).rstrip("/")
        return f"{ui}/#/runs/details/{run_id}"
