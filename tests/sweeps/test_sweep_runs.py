"""Sweeps with real kernels: shared steps once, concurrent trials, failing trials, cancel."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from jupyter_kf.models import RunStatus, StepStatus, SweepParameter, SweepRequest
from jupyter_kf.sweeps import parse_spec


def toy(tmp_path: Path, *, load_sleep: float = 1.0, train_extra: str = "") -> list:
    """load -> prepare -> train(c, model) -> evaluate; load and prepare append to a counter file
    outside every run's folder, so each execution is counted whatever the store records."""
    counter = tmp_path / "executions.txt"
    return [
        ("import time, os", ["imports"]),
        ("c = 1.0\nmodel = 'a'", ["pipeline-parameters"]),
        (
            f"open({str(counter)!r}, 'a').write('load\\n')\ntime.sleep({load_sleep})\ndata = list(range(10))",
            ["step:load"],
        ),
        (f"open({str(counter)!r}, 'a').write('prepare\\n')\nxs = [x * 2 for x in data]", ["step:prepare"]),
        (f"{train_extra}\nweight = c * (2 if model == 'b' else 1)", ["step:train"]),
        ("score = -abs(weight - 3.0) + len(xs)", ["step:evaluate"]),
        ("score", ["pipeline-metrics"]),
    ]


def trial_runs(service, sweep):
    store = service.store_for(sweep.notebook)
    return [r for r in store.list_runs(limit=None) if r.sweep == sweep.id]


def test_shared_steps_run_once_across_concurrent_trials(service, make_notebook, nb_dir, tmp_path):
    make_notebook(toy(tmp_path), "toy.ipynb", nb_dir)
    sweep = service.sweeps.run(
        SweepRequest(
            notebook="toy.ipynb",
            space=[parse_spec("c=0.5:4"), parse_spec("model=a,b")],
            objective="score",
            algorithm="random",
            trials=6,
            parallel=3,  # three trials start together and all need load (1 s) at once
            seed=3,
        )
    )
    assert sweep.status == RunStatus.succeeded, sweep.error
    assert len(sweep.trials) == 6 and all(t.status == "succeeded" for t in sweep.trials)
    runs = trial_runs(service, sweep)
    assert len(runs) == 6 and all(r.status == RunStatus.succeeded for r in runs)
    counts = Counter((s.name, s.status) for r in runs for s in r.steps)
    # Counted from the store: the steps no swept parameter reaches executed in one trial only.
    assert counts[("load", StepStatus.succeeded)] == 1
    assert counts[("prepare", StepStatus.succeeded)] == 1
    assert counts[("load", StepStatus.cached)] == 5
    assert counts[("train", StepStatus.succeeded)] == 6
    # ... and by the steps themselves: never computed twice, also while trials were in flight.
    assert (tmp_path / "executions.txt").read_text().splitlines() == ["load", "prepare"]
    # The objective and the best trial come from the runs' metrics.
    for t in sweep.trials:
        run = next(r for r in runs if r.id == t.run)
        assert t.value == run.metrics["score"] and run.parameters["c"] == t.parameters["c"]
    best = max(sweep.trials, key=lambda t: t.value)
    assert sweep.best == best.number and sweep.best_value == best.value
    assert service.sweeps.get(sweep.id).best == best.number  # the record on disk says the same


def test_a_failing_trial_is_counted_and_the_sweep_goes_on(service, make_notebook, nb_dir, tmp_path):
    make_notebook(
        toy(tmp_path, load_sleep=0, train_extra="if model == 'b':\n    raise ValueError('model b is broken')"),
        "toy.ipynb",
        nb_dir,
    )
    sweep = service.sweeps.run(
        SweepRequest(
            notebook="toy.ipynb",
            space=[parse_spec("model=a,b"), parse_spec("c=1:3:1")],
            objective="score",
            algorithm="grid",
            parallel=2,
        )
    )
    assert sweep.budget == 6  # the grid's size
    assert sweep.status == RunStatus.succeeded
    by_model = Counter((t.parameters["model"], t.status) for t in sweep.trials)
    assert by_model == {("a", "succeeded"): 3, ("b", "failed"): 3}
    failed = [t for t in sweep.trials if t.status == "failed"]
    assert all("model b is broken" in (t.error or "") for t in failed)
    assert sweep.trials[sweep.best].parameters == {"model": "a", "c": 3}


def test_cancel_stops_every_trial_and_leaves_no_kernel(service, make_notebook, nb_dir, tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    make_notebook(
        toy(tmp_path, load_sleep=0, train_extra=f"open({str(pids)!r} + f'/{{os.getpid()}}', 'w').close()\ntime.sleep(60)"),
        "toy.ipynb",
        nb_dir,
    )
    sweep = service.sweeps.submit(
        SweepRequest(notebook="toy.ipynb", space=[parse_spec("c=0.5:4")], objective="score", trials=10, parallel=2)
    )
    deadline = time.monotonic() + 90
    while len(list(pids.iterdir())) < 2:  # two trials are in their (long) train step
        assert time.monotonic() < deadline, "trials did not start"
        time.sleep(0.2)
    service.sweeps.cancel(sweep.id)
    done = service.sweeps.wait(sweep.id, 60)
    assert done.status == RunStatus.cancelled
    assert len(done.trials) == 2 and {t.status for t in done.trials} == {"cancelled"}
    assert all(r.status == RunStatus.cancelled for r in trial_runs(service, done))
    kernels = [int(p.name) for p in pids.iterdir()]
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in kernels):
        assert time.monotonic() < deadline, f"kernels still alive: {kernels}"
        time.sleep(0.1)
