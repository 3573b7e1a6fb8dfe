"""A schedule whose backend is a cluster: each due time submits one cluster run, snapshotting the
notebook's volume when the run starts (not when the schedule was made)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from jupyter_kf.models import RunStatus, ScheduleRequest
from jupyter_kf.schedules import Scheduler, ScheduleService
from jupyter_kf.service import PipelineService

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc)


def _posts(cluster, suffix: str) -> list[dict]:
    return [r["body"] for r in cluster.requests if r["method"] == "POST" and r["path"].endswith(suffix)]


@pytest.fixture(autouse=True)
def _settings_from_env(monkeypatch):
    # A Jupyter server loaded earlier in the session may have set cluster defaults of its own.
    from jupyter_kf.k8s import backend

    monkeypatch.setattr(backend, "_DEFAULT_SETTINGS", None)


@pytest.mark.parametrize(("backend", "created"), [("argo", "/workflows"), ("kfp", "/runs")])
def test_each_due_time_makes_one_cluster_run(project, cluster, backend, created):
    now = [T0]
    svc = PipelineService(project)
    try:
        schedules = ScheduleService(svc, clock=lambda: now[0])
        s = schedules.create(ScheduleRequest(notebook="proj/demo.ipynb", backend=backend, interval=3600,
                                             parameters={"n": 3}))
        assert _posts(cluster, "/volumesnapshots") == []  # nothing is taken when scheduling
        scheduler = Scheduler(schedules)
        now[0] = T0 + timedelta(hours=1, seconds=1)
        ((_, fire),) = scheduler.tick()
        assert scheduler.tick() == []
        run = svc.wait(fire.run, 120)
        assert run.status == RunStatus.succeeded, run.error
        assert (run.backend, run.schedule, run.scheduled_for) == (backend, s.id, T0 + timedelta(hours=1))
        assert len(_posts(cluster, "/volumesnapshots")) == 1 and len(_posts(cluster, created)) == 1
    finally:
        svc.close()
