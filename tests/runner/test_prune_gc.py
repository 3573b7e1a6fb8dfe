"""Pruning runs and collecting snapshots/objects never removes what a run or snapshot still needs:
running runs, each notebook's latest successful run, the runs kept runs reuse from the cache,
and the snapshots and objects of every remaining run, also while a run is going."""

from __future__ import annotations

import hashlib
import json
import os

import nbformat
from .conftest import wait_for

from jupyter_kf.cli.gc import main as gc_main
from jupyter_kf.cli.runs import main as runs_main
from jupyter_kf.housekeeping import collect, plan_prune, prune
from jupyter_kf.models import RunRequest, RunStatus

CHAIN = [
    ("base = 2", ["step:a"]),
    ("doubled = base * 2", ["step:b"]),
    ("total = doubled + 1", ["step:d"]),
    ("total", ["pipeline-metrics"]),
]


def edit(path, index: int, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[index].source = source
    nbformat.write(nb, path)


def objects_intact(store) -> None:
    for digest, p in store.snapshots.objects.all():
        assert hashlib.sha256(p.read_bytes()).hexdigest() == digest


def test_prune_and_gc_keep_what_kept_runs_need(service, make_notebook, nb_dir, capsys):
    path = make_notebook(CHAIN, "chain.ipynb", nb_dir)
    (nb_dir / "data.bin").write_bytes(os.urandom(200_000))
    r1 = service.run(RunRequest(notebook="chain.ipynb"))
    edit(path, 2, "total = doubled + 2")
    r2 = service.run(RunRequest(notebook="chain.ipynb"))  # a, b reused from r1
    assert [s.cached_from for s in r2.steps] == [r1.id, r1.id, None]
    edit(path, 2, "total = doubled / 0")
    r3 = service.run(RunRequest(notebook="chain.ipynb"))
    assert r3.status == RunStatus.failed
    edit(path, 2, "total = doubled + 3")
    r4 = service.run(RunRequest(notebook="chain.ipynb"))  # a, b reused from r1 again
    assert [s.cached_from for s in r4.steps] == [r1.id, r1.id, None]
    store = service.store_of(r1.id)
    assert len({r1.snapshot, r2.snapshot, r3.snapshot, r4.snapshot}) == 4  # the notebook changed each time

    # --dry-run says what would go and how much, and removes nothing
    assert runs_main(["prune", "--keep", "0", "--dry-run", "--store", str(store.path)]) == 0
    out = capsys.readouterr()
    assert r3.id in out.out and r2.id in out.out and "would remove 2 run(s)" in out.err
    assert f"kept {r4.id}: the latest successful run" in out.err
    assert f"kept {r1.id}: run {r4.id} reuses its step 'a'" in out.err
    assert all(store.run_path(r.id).is_dir() for r in (r1, r2, r3, r4))

    plan = plan_prune(store, keep=0)
    assert {r.id for r in plan.remove} == {r2.id, r3.id} and set(plan.kept) == {r1.id, r4.id}
    assert plan.bytes > 0
    removed, freed = prune(store, plan)
    assert sorted(removed) == sorted([r2.id, r3.id]) and freed == plan.bytes
    assert not store.run_path(r3.id).exists() and store.run_path(r1.id).is_dir()
    report = collect(store, keep_snapshots=0, grace=0)
    assert sorted(report.snapshots_removed) == sorted([r2.snapshot, r3.snapshot])
    snaps = {s.id for s in store.snapshots.list()}
    assert snaps == {r1.snapshot, r4.snapshot}
    trees = store.path / ".snapshots" / "trees"  # the overlay's lower layers, where runs used one
    assert not (trees / r2.snapshot).exists() and not (trees / r3.snapshot).exists()
    objects_intact(store)
    for r in (r1, r4):
        store.snapshots.materialize(r.snapshot, nb_dir.parent / f"check-{r.id}")  # every object is there

    # The kept runs still serve the cache: an unchanged run reuses every step.
    r5 = service.run(RunRequest(notebook="chain.ipynb"))
    assert {s.status.value for s in r5.steps} == {"cached"} and r5.metrics == {"total": 7}

    assert gc_main(["--store", str(store.path), "--dry-run", "--keep", "0"]) == 0
    assert "would remove 0 snapshot(s), 0 object(s)" in capsys.readouterr().err


SLOW = [
    ("import time\nwith open('data.bin', 'rb') as f:\n    n = len(f.read())\ntime.sleep(4)", ["step:slow"]),
    ("n", ["pipeline-metrics"]),
]


def test_prune_and_gc_while_a_run_is_going(service, make_notebook, nb_dir):
    make_notebook(SLOW, "slow.ipynb", nb_dir)
    (nb_dir / "data.bin").write_bytes(os.urandom(50_000))
    old = service.run(RunRequest(notebook="slow.ipynb", parameters={}))
    assert old.status == RunStatus.succeeded
    (nb_dir / "data.bin").write_bytes(os.urandom(60_000))
    going = service.submit(RunRequest(notebook="slow.ipynb"))
    store = service.store_of(going.id)
    wait_for(lambda: store.get_run(going.id).status == RunStatus.running and store.get_run(going.id).snapshot)
    # Everything prunable, the latest successful runs included: the running run stays.
    plan = plan_prune(store, keep=0, keep_latest_success=False)
    assert [r.id for r in plan.remove] == [old.id] and going.id in plan.kept
    prune(store, plan)
    report = collect(store, keep_snapshots=0, grace=0)
    running = store.get_run(going.id)
    assert running.snapshot not in report.snapshots_removed
    assert report.snapshots_removed == [old.snapshot]
    objects_intact(store)
    done = service.wait(going.id, timeout=120)  # the run's thread, its tidying included, has ended
    assert done.status == RunStatus.succeeded, done.error
    assert done.metrics == {"n": 60_000}
    record = json.loads((store.run_path(going.id) / "materialized.json").read_text())
    assert record["files"] == 2


def test_retention_policy_prunes_after_each_run(settings, service, make_notebook, nb_dir):
    settings.retain_runs = 1  # JUPYTER_KF_RETAIN_RUNS=1: the newest run of each notebook
    make_notebook(CHAIN, "chain.ipynb", nb_dir)
    runs = [service.run(RunRequest(notebook="chain.ipynb", cache=False)) for _ in range(3)]
    assert all(r.status == RunStatus.succeeded for r in runs)
    store = service.store_of(runs[-1].id)
    assert [r.id for r in store.list_runs(limit=None)] == [runs[-1].id]
    assert not store.run_path(runs[0].id).exists()
    trees = store.path / ".snapshots" / "trees"
    assert not trees.exists() or {t.name for t in trees.iterdir()} <= {runs[-1].snapshot}
