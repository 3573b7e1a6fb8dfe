"""The scheduler on a controlled clock with real local runs: missed runs, overlap, restarts, bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import nbformat
import pytest
from kf_testing import build_notebook

from jupyter_kf.models import RunStatus, ScheduleFields, ScheduleRequest

from .conftest import T0

HOUR = timedelta(hours=1)


def _runs(sched, schedule_id: str):
    return [r for r in sched.pipelines.list_runs(limit=500) if r.schedule == schedule_id]


def _wait_all(sched, schedule_id: str):
    return [sched.pipelines.wait(r.id, 120) for r in _runs(sched, schedule_id)]


def _create(sched, notebook: Path, **fields):
    fields.setdefault("interval", 3600)
    return sched.schedules.create(ScheduleRequest(notebook=str(notebook), **fields))


def test_a_due_time_runs_once_and_the_run_records_its_schedule(make_scheduler, notebook, clock):
    sched = make_scheduler()
    s = _create(sched, notebook, parameters={"score": 2.0})
    assert s.next_due[:2] == [T0 + HOUR, T0 + 2 * HOUR]
    assert sched.tick() == []  # nothing due yet
    clock.set(T0 + HOUR + timedelta(seconds=5))
    fires = sched.tick()
    assert [(f.state, f.due) for _, f in fires] == [("started", T0 + HOUR)]
    assert sched.tick() == []  # the same due time never runs twice
    (run,) = _wait_all(sched, s.id)
    assert run.status == RunStatus.succeeded, run.error
    assert (run.schedule, run.scheduled_for) == (s.id, T0 + HOUR)
    assert run.metrics == {"result": 4.0}
    shown = sched.schedules.get(s.id)
    assert shown.last.run == run.id and shown.last.run_status == RunStatus.succeeded
    assert shown.next_due[0] == T0 + 2 * HOUR


def test_missed_due_times_run_once_at_start(make_scheduler, notebook, clock):
    sched = make_scheduler()
    s = _create(sched, notebook, missed="run_once")
    clock.set(T0 + 5 * HOUR + timedelta(minutes=30))  # no scheduler ran for 5 due times
    fires = sched.tick()
    assert [(f.state, f.due) for _, f in fires] == [("missed", T0 + 4 * HOUR), ("started", T0 + 5 * HOUR)]
    assert "4 due time(s) passed" in fires[0][1].error
    assert sched.tick() == []
    assert len(_wait_all(sched, s.id)) == 1


def test_missed_due_times_are_skipped_under_the_skip_policy(make_scheduler, notebook, clock):
    sched = make_scheduler()
    s = _create(sched, notebook, missed="skip")
    clock.set(T0 + 3 * HOUR + timedelta(minutes=30))
    fires = sched.tick()
    assert [f.state for _, f in fires] == ["missed", "missed"]
    assert _runs(sched, s.id) == []
    clock.set(T0 + 4 * HOUR + timedelta(seconds=30))  # the next one is on time: it runs
    assert [f.state for _, f in sched.tick()] == ["started"]
    assert len(_wait_all(sched, s.id)) == 1


@pytest.mark.parametrize("policy", ["skip", "queue", "allow"])
def test_overlap_policies(make_scheduler, notebook, clock, tmp_path, policy):
    gate = tmp_path / f"gate-{policy}"
    sched = make_scheduler()
    s = _create(sched, notebook, overlap=policy, parameters={"gate": str(gate)})
    clock.set(T0 + HOUR)
    ((_, first),) = sched.tick()
    assert first.state == "started"
    clock.set(T0 + 2 * HOUR)  # the first run still waits on its gate
    ((_, second),) = sched.tick()
    expected = {"skip": "skipped", "queue": "queued", "allow": "started"}[policy]
    assert second.state == expected
    if policy != "allow":
        assert first.run in second.error
    assert sched.tick() == []  # nothing more while the first runs
    gate.touch()
    sched.pipelines.wait(first.run, 120)
    later = sched.tick()  # a queued due time starts once the previous run has ended
    assert [(f.state, f.due) for _, f in later] == ([("started", T0 + 2 * HOUR)] if policy == "queue" else [])
    runs = _wait_all(sched, s.id)
    assert len(runs) == (1 if policy == "skip" else 2)
    assert sorted(r.scheduled_for for r in runs) == [T0 + HOUR, T0 + 2 * HOUR][: len(runs)]
    assert all(r.status == RunStatus.succeeded for r in runs)


def test_a_restarted_scheduler_neither_repeats_nor_loses_a_due_time(make_scheduler, notebook, clock):
    first = make_scheduler()
    s = _create(first, notebook)
    clock.set(T0 + HOUR)
    assert [f.state for _, f in first.tick()] == ["started"]
    _wait_all(first, s.id)
    first.pipelines.close()

    again = make_scheduler()  # a new process would see exactly this: the store
    assert again.tick() == []  # T0+1h is done
    clock.set(T0 + 2 * HOUR + timedelta(seconds=20))
    assert [(f.state, f.due) for _, f in again.tick()] == [("started", T0 + 2 * HOUR)]
    runs = _wait_all(again, s.id)
    assert sorted(r.scheduled_for for r in runs) == [T0 + HOUR, T0 + 2 * HOUR]


def test_paused_schedules_do_not_run_and_resume_from_now(make_scheduler, notebook, clock):
    sched = make_scheduler()
    s = _create(sched, notebook)
    assert sched.schedules.pause(s.id).next_due == []
    clock.set(T0 + 3 * HOUR + timedelta(seconds=1))
    assert sched.tick() == []
    resumed = sched.schedules.resume(s.id)
    assert resumed.next_due[0] == T0 + 4 * HOUR  # due times passed while paused do not run
    assert sched.tick() == []
    edited = sched.schedules.update(s.id, ScheduleFields(cron="0 18 * * *", timezone="Europe/Paris"))
    assert edited.interval is None and edited.next_due[0] == T0.replace(hour=17)  # 18:00 CET
    sched.schedules.delete(s.id)
    with pytest.raises(LookupError):
        sched.schedules.get(s.id)


def test_a_notebook_gone_or_broken_at_due_time_is_recorded_and_notified(make_scheduler, notebook, clock):
    sent = []
    from jupyter_kf.notify import Notifier, NotifySettings

    notifier = Notifier(NotifySettings())
    notifier.listeners.append(sent.append)
    sched = make_scheduler(notifier=notifier)
    s = _create(sched, notebook)
    # The notebook no longer compiles: a step uses a name nothing defines... as an error: a duplicate step.
    nbformat.write(build_notebook([("a = 1", ["step:one"]), ("b = 2", ["step:two"]), ("c = 3", ["step:one"])]),
                   notebook)
    clock.set(T0 + HOUR)
    ((_, fire),) = sched.tick()
    assert fire.state == "failed" and "problem" in fire.error and "one" in fire.error
    notebook.unlink()
    clock.set(T0 + 2 * HOUR)
    ((_, fire2),) = sched.tick()
    assert fire2.state == "failed" and "notebook not found" in fire2.error
    history = sched.schedules.get(s.id).history
    assert [h.state for h in history] == ["failed", "failed"]
    assert [n.event for n in sent] == ["schedule.failed", "schedule.failed"]
    assert sent[1].schedule == s.id and "not found" in sent[1].error
    assert _runs(sched, s.id) == []


def test_creating_a_schedule_checks_the_notebook_and_parameters(make_scheduler, notebook, nb_dir):
    sched = make_scheduler()
    with pytest.raises(FileNotFoundError):
        _create(sched, nb_dir / "nope.ipynb")
    with pytest.raises(ValueError, match="nope"):
        _create(sched, notebook, parameters={"nope": 1})
    with pytest.raises(ValueError, match="exactly one"):
        sched.schedules.create(ScheduleRequest(notebook=str(notebook)))
    assert sched.schedules.list() == []
