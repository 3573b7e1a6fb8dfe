"""Fixtures for sweep tests: real kernels, a real store in tmp_path, a registry of stores per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_kf.config import Settings
from jupyter_kf.kernels import close_fork_servers
from jupyter_kf.service import PipelineService


@pytest.fixture(scope="session", autouse=True)
def _stop_fork_servers() -> Iterator[None]:
    yield
    close_fork_servers()


@pytest.fixture
def nb_dir(tmp_path: Path) -> Path:
    d = tmp_path / "nb"
    d.mkdir()
    return d


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("JUPYTER_KF_REGISTRY", str(tmp_path / "kf-stores.json"))
    monkeypatch.delenv("JUPYTER_KF_STORE", raising=False)
    monkeypatch.delenv("JUPYTER_KF_MAX_PARALLEL", raising=False)
    return Settings.from_env()


@pytest.fixture
def service(nb_dir: Path, settings: Settings) -> Iterator[PipelineService]:
    svc = PipelineService(nb_dir, settings)
    yield svc
    svc.close()
