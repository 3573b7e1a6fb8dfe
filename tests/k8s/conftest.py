"""Fixtures for the Kubernetes tests: a fake API server, a service-account folder, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_kf.k8s.config import ClusterSettings

from .fakeapi import FakeApiServer, FakeCluster

POD = "nb-0"


@pytest.fixture
def cluster() -> FakeCluster:
    c = FakeCluster()
    c.add_notebook_pod(
        POD,
        env=[
            {"name": "LANG", "value": "C.UTF-8"},
            {"name": "JUPYTERHUB_API_TOKEN", "value": "hub-secret-value"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
            {"name": "MY_PASSWORD", "value": "plain-secret-value"},
            {"name": "DATA_ROOT", "value": "/home/jovyan/data"},
        ],
    )
    return c


@pytest.fixture
def api(cluster: FakeCluster):
    with FakeApiServer(cluster) as server:
        yield server


@pytest.fixture
def sa_dir(tmp_path: Path, cluster: FakeCluster) -> Path:
    """A service-account folder as Kubernetes mounts it (token, namespace)."""
    d = tmp_path / "serviceaccount"
    d.mkdir()
    (d / "token").write_text(cluster.token)
    (d / "namespace").write_text(cluster.namespace)
    return d


@pytest.fixture
def settings(api: FakeApiServer, sa_dir: Path) -> ClusterSettings:
    return ClusterSettings(
        k8s_api=api.url,
        kfp_endpoint=api.url,
        service_account_dir=str(sa_dir),
        kfp_token_path=str(sa_dir / "no-kfp-token"),
        pod_name=POD,
        snapshot_timeout=3,
    )
