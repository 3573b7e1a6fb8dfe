"""jupyter_server's authorizer decides on the `jupyter_kf` resource, like for its own APIs."""

from __future__ import annotations

import pytest
from jupyter_server.auth.authorizer import Authorizer


class ReadOnlyKf(Authorizer):
    """Allows everything except writes on the jupyter_kf resource."""

    def is_authorized(self, handler, user, action, resource):
        return not (resource == "jupyter_kf" and action == "write")


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_kf": True}, "authorizer_class": ReadOnlyKf},
    }


async def test_the_authorizer_is_asked_about_jupyter_kf(api, pipe_nb):
    status, _ = await api("GET", "backends")
    assert status == 200  # read: allowed
    status, _ = await api("POST", "compile", {"notebook": pipe_nb})
    assert status == 200  # compiling reads the notebook; it changes nothing
    for path, body in (("runs", {"notebook": pipe_nb}), ("snapshots", {"notebook": pipe_nb}),
                       ("runs/20260101-000000-abcd/cancel", {})):
        status, answer = await api("POST", path, body)
        assert status == 403, (path, answer)
        assert "jupyter_kf" in answer["message"]
