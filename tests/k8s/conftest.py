"""Fixtures for the Kubernetes tests: a fake API server, a service-account folder, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_kf.k8s.config import ClusterSettings

from .fakeapi import FakeApiServer, FakeCluster
from .pipelines import DEMO_CELLS

POD = "nb-0"


@pytest.fixture
def store(tmp_path: Path):
    from jupyter_kf.store import RunStore

    s = RunStore(tmp_path / "kf-runs", register=False)
    yield s
    s.close()


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


@pytest.fixture
def project(tmp_path: Path, cluster, api, sa_dir, monkeypatch) -> Path:
    """A notebook folder that the fake notebook pod mounts from its PVC, and env pointing at the fake."""
    import nbformat
    from kf_testing import build_notebook

    root = tmp_path / "home"
    (root / "proj").mkdir(parents=True)
    nbformat.write(build_notebook(DEMO_CELLS), root / "proj" / "demo.ipynb")
    cluster.add_notebook_pod("nb-1", mount_path=str(root))
    env = {
        "KF_K8S_API": api.url,
        "KF_KFP_ENDPOINT": api.url,
        "KF_SERVICE_ACCOUNT_DIR": str(sa_dir),
        "KF_KFP_TOKEN_PATH": str(sa_dir / "none"),
        "KF_POLL_INTERVAL": "0.05",
        "HOSTNAME": "nb-1",
        "JUPYTER_KF_REGISTRY": str(tmp_path / "kf-stores.json"),
        # the demo's GPU step is for the cluster; checked as a local run (schedules), it may use the CPU
        "JUPYTER_KF_GPU_FALLBACK": "cpu",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    # Cluster settings come from this env, not from a server extension an earlier test started.
    monkeypatch.setattr("jupyter_kf.k8s.backend._DEFAULT_SETTINGS", None)
    return root
