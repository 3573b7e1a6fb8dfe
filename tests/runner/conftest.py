"""Fixtures for the local runner's integration tests: real kernels, a real store in tmp_path.

Every test gets its own notebook folder (``tmp_path/nb``, store in ``nb/kf-runs``) and its own
registry of stores, so nothing is written to the user's Jupyter data dir.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_kf.config import Settings
from jupyter_kf.kernels import close_fork_servers
from jupyter_kf.service import PipelineService

KF = str(Path(sys.executable).with_name("jupyter-kf"))


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


@pytest.fixture
def kernel_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records every step kernel started in this process (one entry per start)."""
    from jupyter_kf.kernels.manager import StepKernelManager

    started: list[int] = []
    original = StepKernelManager.start_kernel

    def counting(self, *args, **kwargs):
        started.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StepKernelManager, "start_kernel", counting)
    return started


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


def pid_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["JUPYTER_KF_REGISTRY"] = str(tmp_path / "kf-stores.json")
    env.pop("JUPYTER_KF_STORE", None)
    return env
