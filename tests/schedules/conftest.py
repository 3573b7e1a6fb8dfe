"""Fixtures for schedules and notifications: a controllable clock, real stores and real local runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from kf_testing import build_notebook

from jupyter_kf.config import Settings
from jupyter_kf.kernels import close_fork_servers
from jupyter_kf.schedules import Scheduler, ScheduleService
from jupyter_kf.service import PipelineService

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)  # a Monday, noon UTC

# One step that records a metric; `gate` (a file path) makes it wait until that file exists.
GATED = [
    ("import os, time, json", ["imports"]),
    ("gate = ''\nscore = 0.5", ["pipeline-parameters"]),
    ("assert score >= 0, 'score must be >= 0'\nwhile gate and not os.path.exists(gate):\n    time.sleep(0.05)\nresult = score * 2", ["step:train"]),
    ("print(result)", ["pipeline-metrics"]),
]


class Clock:
    """A clock tests move by hand (every scheduler decision reads it)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


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
    for var in ("WEBHOOK", "SMTP_HOST", "MAIL_TO"):
        monkeypatch.delenv(f"JUPYTER_KF_NOTIFY_{var}", raising=False)
    return Settings.from_env()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def notebook(nb_dir: Path) -> Path:
    path = nb_dir / "train.ipynb"
    nbformat.write(build_notebook(GATED), path)
    return path


@pytest.fixture
def make_scheduler(nb_dir: Path, settings: Settings, clock: Clock) -> Iterator[Callable[..., Scheduler]]:
    """A fresh service + scheduler on the same folder (call it again to 'restart' the scheduler)."""
    made: list[PipelineService] = []

    def _make(**kw) -> Scheduler:
        svc = PipelineService(nb_dir, settings)
        made.append(svc)
        return Scheduler(ScheduleService(svc, clock=clock), **kw)

    yield _make
    for svc in made:
        svc.close()
