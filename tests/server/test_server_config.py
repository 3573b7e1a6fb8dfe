"""KfConfig (Jupyter config) maps onto jupyter_kf.config.Settings for the runs the server starts."""

from __future__ import annotations

import pytest


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_kf": True}},
        "KfConfig": {"store": "my-runs", "poll_interval": 0.1, "cache": False},
    }


async def test_store_and_cache_settings_apply(api, pipe_nb, root, wait_run, jp_serverapp):
    settings = jp_serverapp.web_app.settings["jupyter_kf"].service.settings
    assert settings.store == "my-runs" and settings.cache is False
    status, run = await api("POST", "runs", {"notebook": pipe_nb})
    assert status == 202, run
    run = await wait_run(run["id"])
    assert run["status"] == "succeeded", run
    status, nb = await api("GET", f"runs/{run['id']}/steps/make/notebook")
    assert status == 200 and nb["path"].startswith("my-runs/")
    assert (root / nb["path"]).is_file() and not (root / "kf-runs").exists()
