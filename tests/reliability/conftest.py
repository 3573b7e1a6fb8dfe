"""Fixtures for the fault suite: a real Jupyter server (pytest-jupyter) with jupyter_kf, and the
local runner's service on a notebook folder of the test's own (its own registry of stores).

Every test here is bounded in time (a few seconds each on 2 cores): failing steps fail fast, and
measured resources are compared with a baseline taken in the same test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytest-jupyter has no entry point; its fixtures (and its async-test hooks) come in by import.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from server.conftest import TWO_STEPS, Api, finished  # noqa: F401

from jupyter_kf.config import Settings
from jupyter_kf.kernels import close_fork_servers
from jupyter_kf.service import PipelineService


@pytest.fixture(scope="session", autouse=True)
def _stop_fork_servers() -> Iterator[None]:
    yield
    close_fork_servers()


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_kf": True}},
        "KfConfig": {"poll_interval": 0.1},
    }


@pytest.fixture
def api(jp_fetch) -> Api:
    return Api(jp_fetch)


@pytest.fixture
def root(jp_root_dir) -> Path:
    return Path(jp_root_dir)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("JUPYTER_KF_REGISTRY", str(tmp_path / "kf-stores.json"))
    for name in ("JUPYTER_KF_STORE", "JUPYTER_KF_MAX_PARALLEL"):
        monkeypatch.delenv(name, raising=False)
    return Settings.from_env()


@pytest.fixture
def nb_dir(tmp_path: Path) -> Path:
    d = tmp_path / "nb"
    d.mkdir()
    return d


@pytest.fixture
def service(nb_dir: Path, settings: Settings) -> Iterator[PipelineService]:
    svc = PipelineService(nb_dir, settings)
    yield svc
    svc.close()


def tree(folder: Path, skip: Path | None = None) -> set[str]:
    """Every path under ``folder`` (relative), except those under ``skip``."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        if skip is not None and Path(dirpath).resolve().is_relative_to(skip.resolve()):
            dirnames[:] = []
            continue
        for n in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, n), folder))
    return out
