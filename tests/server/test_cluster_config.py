"""c.KubernetesConfig in the server's config reaches the cluster backends (GET backends shows it)."""

from __future__ import annotations

import pytest


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_kf": True}},
        "KubernetesConfig": {
            "kfp_endpoint": "http://kfp.invalid:8888", "k8s_api": "https://k8s.invalid:6443", "argo_namespace": "wf",
        },
    }


async def test_kubernetes_config_configures_the_cluster_backends(api):
    status, body = await api("GET", "backends")
    assert status == 200, body
    by_name = {b["name"]: b for b in body["backends"]}
    assert by_name["kfp"]["available"] and by_name["kfp"]["configured"], by_name["kfp"]
    assert by_name["argo"]["available"] and by_name["argo"]["configured"], by_name["argo"]
    assert "token" not in str(body).lower()

