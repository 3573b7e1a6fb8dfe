"""Several scheduler processes on one store, and a scheduler that died holding a claim."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from jupyter_kf.models import RunStatus, ScheduleFields, ScheduleRequest

from .conftest import T0

PROC = str(Path(__file__).with_name("scheduler_proc.py"))
MINUTE = timedelta(minutes=1)


def _spawn(folder: Path, mode: str, *times) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, PROC, str(folder), mode, *(t.isoformat() for t in times)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def test_two_scheduler_processes_make_one_run_per_due_time(make_scheduler, notebook, nb_dir):
    sched = make_scheduler()
    s = sched.schedules.create(ScheduleRequest(notebook=str(notebook), interval=60, overlap="allow"))
    times = [T0 + k * MINUTE + timedelta(seconds=1) for k in range(1, 5)]
    procs = [_spawn(nb_dir, "tick", *times) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    started = [r for o in outs for r in o["runs"]]
    runs = [r for r in sched.pipelines.list_runs(limit=100) if r.schedule == s.id]
    assert sorted(r.id for r in runs) == sorted(started)  # every run made was recorded by its maker
    assert sorted(r.scheduled_for for r in runs) == [T0 + k * MINUTE for k in range(1, 5)]  # one each
    assert all(r.status == RunStatus.succeeded for r in runs)
    history = sched.schedules.get(s.id).history
    assert sorted((h.due, h.state) for h in history) == [(T0 + k * MINUTE, "started") for k in range(1, 5)]


def test_a_claim_left_by_a_dead_scheduler_is_taken_over_once(make_scheduler, notebook, nb_dir, clock):
    sched = make_scheduler()
    s = sched.schedules.create(ScheduleRequest(notebook=str(notebook), interval=3600))
    due = T0 + timedelta(hours=1)
    p = _spawn(nb_dir, "claim", due)  # claims the due time, dies before starting its run
    assert p.wait(60) == 0, p.stderr.read()
    assert [h.state for h in sched.schedules.get(s.id).history] == ["claimed"]
    clock.set(due + timedelta(seconds=30))
    fires = sched.tick()
    assert [(f.state, f.due) for _, f in fires] == [("started", due)]  # not lost
    assert sched.tick() == []  # and not repeated
    runs = [r for r in sched.pipelines.list_runs(limit=100) if r.schedule == s.id]
    assert len(runs) == 1


def test_a_claim_whose_run_was_made_before_the_owner_died_is_linked_not_rerun(make_scheduler, notebook, nb_dir, clock):
    from jupyter_kf.models import RunRequest

    sched = make_scheduler()
    s = sched.schedules.create(ScheduleRequest(notebook=str(notebook), interval=3600))
    due = T0 + timedelta(hours=1)
    assert _spawn(nb_dir, "claim", due).wait(60) == 0
    # What the dead owner did just before dying: it had started the run for that due time.
    made = sched.pipelines.submit(RunRequest(notebook=str(notebook)), schedule=s.id, scheduled_for=due)
    clock.set(due + timedelta(seconds=30))
    assert [(f.state, f.run) for _, f in sched.tick()] == [("started", made.id)]
    sched.pipelines.wait(made.id, 120)
    assert [r.id for r in sched.pipelines.list_runs(limit=100) if r.schedule == s.id] == [made.id]


def test_a_scheduler_killed_mid_run_is_not_repeated_after_restart(make_scheduler, notebook, nb_dir, clock, tmp_path):
    import signal
    import time

    sched = make_scheduler()
    gate = tmp_path / "never"  # the run waits on a file nobody writes: it is mid-run when killed
    s = sched.schedules.create(ScheduleRequest(notebook=str(notebook), interval=3600, parameters={"gate": str(gate)}))
    due = T0 + timedelta(hours=1)
    p = _spawn(nb_dir, "tick", due + timedelta(seconds=5))
    deadline = time.monotonic() + 120
    while not [r for r in sched.pipelines.list_runs(limit=10) if r.schedule == s.id and r.status == RunStatus.running]:
        assert time.monotonic() < deadline and p.poll() is None, p.stderr.read() if p.poll() is not None else "slow"
        time.sleep(0.1)
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    gate.touch()  # should a step kernel have outlived its runner, it ends now

    restarted = make_scheduler()  # the restarted server: same store, same moment
    clock.set(due + timedelta(seconds=30))
    assert restarted.tick() == []  # the due time was handled: its run is not started again
    (killed,) = [r for r in restarted.pipelines.list_runs(limit=10) if r.schedule == s.id]
    assert restarted.pipelines.get_run(killed.id).status == RunStatus.interrupted  # recorded, not lost
    restarted.schedules.update(s.id, ScheduleFields(parameters={"gate": ""}))  # let the next one finish
    clock.set(due + timedelta(hours=1, seconds=5))
    fires = restarted.tick()
    assert [(f.state, f.due) for _, f in fires] == [("started", due + timedelta(hours=1))]
    assert restarted.pipelines.wait(fires[0][1].run, 120).status == RunStatus.succeeded
