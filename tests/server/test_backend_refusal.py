"""A cluster backend that is not configured here is refused over REST before anything runs: 422
naming the backend, no run record, no snapshot (the same check as the CLI's exit 2)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("backend", ["kfp", "argo"])
async def test_an_unconfigured_backend_is_422_and_nothing_runs(api, pipe_nb, root, monkeypatch, backend):
    for name in ("KF_K8S_API", "KUBECONFIG", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(root.parent))  # no ~/.kube/config
    status, body = await api("POST", "runs", {"notebook": pipe_nb, "backend": backend})
    assert status == 422, body
    assert body["field"] == "backend" and f"backend {backend!r} cannot run here" in body["message"], body
    assert "nothing ran" in body["message"]
    assert not (root / "kf-runs").exists()
    status, listed = await api("GET", "runs")
    assert status == 200 and listed["runs"] == []
