"""A cluster run outlives the process that watched it: the watcher dies (SIGKILL of the CLI that
submitted it, or a detached watcher), the run goes on in the fake cluster, and the next opener of
the run store re-attaches one watcher that finishes the record (steps, logs, cleanup)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_kf.k8s import reattach
from jupyter_kf.models import RunRequest, RunStatus, StepStatus
from jupyter_kf.service import PipelineService
from jupyter_kf.store import RunStore, runner_alive
from jupyter_kf.store.liveness import WatchLock, cluster_lease, parse_lease

from .fakeapi.simulate import tick

STEPS = ["load", "train", "report"]
CLI = "import sys; from jupyter_kf.cli import main; sys.exit(main(sys.argv[1:]))"


def wait_for(cond: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def row(store_dir: Path, run_id: str) -> dict[str, Any]:
    """The run's row as it is on disk (read without opening a RunStore, which would re-attach)."""
    db = sqlite3.connect(store_dir / "runs.sqlite")
    try:
        status, host, data = db.execute(
            "SELECT status, runner_host, data FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        steps = {n: st for n, st in db.execute("SELECT name, status FROM steps WHERE run_id = ?", (run_id,))}
    finally:
        db.close()
    return {"status": status, "host": host, "run": json.loads(data), "steps": steps}


def submitted(store_dir: Path, run_id: str) -> bool:
    """Submitted and handed to the cluster: cluster.json written, the lease recorded."""
    return (store_dir / run_id / "cluster.json").is_file() and (
        parse_lease(row(store_dir, run_id)["host"]) is not None
    )


def fake_run(cluster, backend: str, external_id: str) -> dict:
    return (
        cluster.workflows[(cluster.namespace, external_id)]
        if backend == "argo"
        else cluster.runs[external_id]
    )


def fake_step_done(cluster, step: str) -> bool:
    """Whether the step ended successfully in the fake cluster's (only) workflow or KFP run."""
    nodes = [
        n for wf in cluster.workflows.values() for n in ((wf.get("status") or {}).get("nodes") or {}).values()
    ]
    tasks = [t for r in cluster.runs.values() for t in r["run_details"]["task_details"]]
    return any(n["displayName"] == step and n["phase"] == "Succeeded" for n in nodes) or any(
        t["display_name"] == step and t["state"] == "SUCCEEDED" for t in tasks
    )


def advance_until_step_done(cluster, store_dir: Path, run_id: str, step: str) -> None:
    """Let the fake cluster work one step at a time until ``step`` is done there, then wait for
    the watcher to record it (its log copied)."""
    for _ in range(10):
        if fake_step_done(cluster, step):
            break
        tick(cluster)
    assert fake_step_done(cluster, step)
    wait_for(lambda: row(store_dir, run_id)["steps"][step] == StepStatus.succeeded.value, f"{step} recorded")
    wait_for(lambda: (store_dir / run_id / "steps" / f"{step}.log").is_file(), f"the log of {step}")


def expected_log(backend: str, step: str, log: str = "") -> str:
    """What the fake's step pod printed; for KFP it names the executor pod the log was read from."""
    if backend == "argo":
        return f"log of step {step}\n"
    from_executor = log.startswith(f"kfp log of {step} (") and "-system-container-impl-" in log
    return log if from_executor else f"kfp log of {step}\n"


def watcher(run_id: str):
    """The handle re-attached in this process (re-attaching runs in a thread; the opener waits
    for it only a bounded time)."""
    return wait_for(lambda: reattach.watchers().get(run_id), "a re-attached watcher", timeout=30)


def watcher_threads(run_id: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"kf-cluster-{run_id}" and t.is_alive()]


def submit(project: Path, backend: str) -> tuple[PipelineService, str, Path]:
    svc = PipelineService(project)
    run = svc.submit(RunRequest(notebook="proj/demo.ipynb", backend=backend))
    store_dir = svc.store_of(run.id).path
    wait_for(lambda: submitted(store_dir, run.id), "the run to be submitted")
    return svc, run.id, store_dir


@pytest.mark.parametrize("backend", ["argo", "kfp"])
def test_killed_cli_run_is_finished_by_the_next_opener(project, cluster, backend):
    """`jupyter kf run -b ...` is SIGKILLed mid-run; the cluster finishes the run while nobody
    watches; the service opened afterwards records every step, its log, and cleans up."""
    cluster.hold = True
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "run", "-b", backend, "proj/demo.ipynb", "--json"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    store_dir = project / "proj" / "kf-runs"
    try:
        run_dir = wait_for(
            lambda: next((d for d in store_dir.glob("2*") if (d / "cluster.json").is_file()), None),
            "the CLI to submit",
            timeout=120,
        )
        run_id = run_dir.name
        wait_for(lambda: submitted(store_dir, run_id), "the lease")
        advance_until_step_done(cluster, store_dir, run_id, "load")
        assert not WatchLock(run_dir).acquire()  # the CLI watches
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    record = json.loads((run_dir / "cluster.json").read_text())
    external_id = row(store_dir, run_id)["run"]["external_id"]
    if backend == "kfp":
        assert (cluster.namespace, record["pvc"]) in cluster.pvcs  # the run volume exists
    assert len(cluster.snapshots) == 1

    tick(cluster, to_end=True)  # the cluster finishes the run; nobody watches
    assert fake_run(cluster, backend, external_id) and row(store_dir, run_id)["status"] == "running"
    assert row(store_dir, run_id)["steps"]["train"] in ("pending", "running")

    if backend == "argo":  # the next opener is `jupyter kf show`, a short-lived process
        shown = subprocess.run(
            [sys.executable, "-c", CLI, "show", run_id, "--json"],
            check=False,
            cwd=project / "proj",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shown.returncode == 0, shown.stderr[-2000:]
        doc = json.loads(shown.stdout)
        assert doc["status"] == "succeeded", doc["error"]
        assert [s["status"] for s in doc["steps"]] == ["succeeded"] * 3
    svc = PipelineService(project)  # (for kfp, the next opener is the service, as in the server)
    try:
        opened = svc.get_run(run_id)  # opening the store re-attaches
        assert opened.status != RunStatus.interrupted
        final = watcher(run_id).wait(30) if backend == "kfp" else opened
        assert final.status == RunStatus.succeeded, final.error
        assert [s.status for s in final.steps] == [StepStatus.succeeded] * 3
        for step in STEPS:
            log = svc.step_log(run_id, step)
            assert log == expected_log(backend, step, log)
            assert final.step(step).finished_at is not None
        assert cluster.snapshots == {}
        if backend == "kfp":
            assert (cluster.namespace, record["pvc"]) not in cluster.pvcs
        assert not watcher_threads(run_id)
        assert WatchLock(run_dir).acquire()  # released at the end
    finally:
        svc.close()


def test_detached_run_resumes_with_one_watcher_however_many_openers(project, cluster):
    cluster.hold = True
    svc, run_id, store_dir = submit(project, "argo")
    advance_until_step_done(cluster, store_dir, run_id, "load")
    svc.handle(run_id).detach()  # the watcher stops; the workflow goes on
    probe = WatchLock(store_dir / run_id)
    assert probe.acquire(), "detach releases the watch lock"
    probe.release()
    openers = [RunStore(store_dir, register=False) for _ in range(3)]
    try:
        handle = watcher(run_id)
        assert watcher_threads(run_id) == [handle._thread]  # one watcher for three openers
        cluster.hold = False  # progress from here on, as the watcher reads it
        final = handle.wait(30)
        assert final.status == RunStatus.succeeded, final.error
        assert all(s.status == StepStatus.succeeded for s in final.steps)
        for opener in openers:
            assert opener.get_run(run_id).status == RunStatus.succeeded
        gets = [
            r
            for r in cluster.requests
            if r["method"] == "GET" and r["path"].endswith("/workflows/" + final.external_id)
        ]
        assert gets and cluster.snapshots == {}
    finally:
        for opener in openers:
            opener.close()
        svc.close()


def test_a_watched_run_is_not_watched_again_from_another_process(project, cluster):
    """A process that re-attached holds the run: an opener elsewhere neither watches it nor calls
    it interrupted; once that process is killed, the next check re-attaches here."""
    cluster.hold = True
    svc, run_id, store_dir = submit(project, "argo")
    advance_until_step_done(cluster, store_dir, run_id, "load")
    svc.handle(run_id).detach()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from jupyter_kf.store import RunStore; RunStore(sys.argv[1], register=False);"
                " print('open', flush=True); time.sleep(300)"
            ),
            str(store_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        assert not WatchLock(store_dir / run_id).acquire()  # the other process watches
        before = dict(reattach.watchers())
        here = RunStore(store_dir, register=False)
        assert here.interrupted == [] and here.get_run(run_id).status == RunStatus.running
        assert reattach.watchers().get(run_id) is before.get(run_id)  # no watcher started here
        assert not watcher_threads(run_id)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    tick(cluster, to_end=True)
    assert here.recover_interrupted() == []  # the check after the kill re-attaches here
    final = watcher(run_id).wait(30)
    assert final.status == RunStatus.succeeded, final.error
    assert [svc.step_log(run_id, s) for s in STEPS] == [expected_log("argo", s) for s in STEPS]
    here.close()
    svc.close()


@pytest.mark.parametrize("backend", ["argo", "kfp"])
def test_a_run_the_cluster_forgot_becomes_interrupted_naming_it(project, cluster, backend):
    cluster.hold = True
    svc, run_id, store_dir = submit(project, backend)
    advance_until_step_done(cluster, store_dir, run_id, "load")
    # train started with load's end
    wait_for(lambda: row(store_dir, run_id)["steps"]["train"] == "running", "train to run")
    svc.handle(run_id).detach()
    external_id = row(store_dir, run_id)["run"]["external_id"]
    if backend == "argo":  # kubectl delete workflow / the run deleted in the KFP UI
        del cluster.workflows[(cluster.namespace, external_id)]
    else:
        del cluster.runs[external_id]

    store = RunStore(store_dir, register=False)
    final = watcher(run_id).wait(30)
    assert final.status == RunStatus.interrupted
    what = f"Workflow {cluster.namespace}/{external_id}" if backend == "argo" else f"KFP run {external_id}"
    assert f"{what} no longer exists on the cluster (404" in final.error
    assert final.step("load").status == StepStatus.succeeded  # finished work is kept
    log = store.step_log_path(run_id, "load").read_text()
    assert log == expected_log(backend, "load", log)
    assert final.step("train").status == StepStatus.cancelled and what in final.step("train").error
    assert final.step("report").status == StepStatus.skipped
    assert cluster.snapshots == {}  # cleaned up all the same
    if backend == "kfp":
        assert not [k for k in cluster.pvcs if k[1] != "home-pvc"]
    store.close()
    svc.close()


def test_cancelling_an_unwatched_run_stops_it_on_the_cluster(project, cluster):
    cluster.hold = True
    svc, run_id, _ = submit(project, "argo")
    svc.handle(run_id).detach()
    cluster.hold = False
    svc2 = PipelineService(project)
    svc2.cancel(run_id)  # from another surface: the run's watcher is gone
    final = watcher(run_id).wait(30)
    assert final.status == RunStatus.cancelled
    patches = [r["body"] for r in cluster.requests if r["method"] == "PATCH"]
    assert patches == [{"spec": {"shutdown": "Stop"}}]
    svc.close()
    svc2.close()


def test_an_opener_without_cluster_access_leaves_the_run_alone(project, cluster, monkeypatch):
    cluster.hold = True
    svc, run_id, store_dir = submit(project, "kfp")
    svc.handle(run_id).detach()
    monkeypatch.setattr(reattach, "RETRY_AFTER", 0.0)
    with monkeypatch.context() as m:  # e.g. a terminal without the server's KF_* configuration
        m.delenv("KF_KFP_ENDPOINT")
        store = RunStore(store_dir, register=False)
        handle = watcher(run_id)
        handle.wait(30)
        assert handle.detached_reason and "KF_KFP_ENDPOINT" in handle.detached_reason
        assert store.get_run(run_id).status == RunStatus.running  # not interrupted
        probe = WatchLock(store_dir / run_id)
        assert probe.acquire()  # and not held
        probe.release()
    tick(cluster, to_end=True)
    assert store.recover_interrupted() == []  # with access again, it is re-attached
    again = wait_for(lambda: reattach.watchers().get(run_id) is not handle, "a second watcher")
    assert again
    final = watcher(run_id).wait(30)
    assert final.status == RunStatus.succeeded, final.error
    store.close()
    svc.close()


def test_keep_snapshot_of_the_submitter_is_honoured_by_the_reattached_watcher(project, cluster, monkeypatch):
    cluster.hold = True
    monkeypatch.setenv("KF_KEEP_SNAPSHOT", "1")
    svc, run_id, store_dir = submit(project, "argo")
    svc.handle(run_id).detach()
    monkeypatch.delenv("KF_KEEP_SNAPSHOT")  # the re-attaching process was not asked to keep it
    tick(cluster, to_end=True)
    store = RunStore(store_dir, register=False)
    assert watcher(run_id).wait(30).status == RunStatus.succeeded
    assert len(cluster.snapshots) == 1
    store.close()
    svc.close()


def test_leases_and_the_liveness_of_runs_watched_through_a_lock(tmp_path):
    run_dir = tmp_path / "kf-runs" / "20260101-000000-abcd"
    run_dir.mkdir(parents=True)
    lease = cluster_lease(run_dir)
    assert parse_lease(lease) == (os.uname().nodename, run_dir.resolve())
    assert parse_lease("myhost") is None and parse_lease(None) is None
    holder = WatchLock(run_dir)
    assert holder.acquire()
    assert runner_alive(None, None, lease)  # a watcher holds the lock
    holder.release()
    assert not runner_alive(None, None, lease)  # nobody watches, and no cluster.json to re-attach from
    holder.acquire()
    assert runner_alive(None, None, f"k8s:another-host:{run_dir}")  # the lock counts, whatever the host
    holder.release()
    assert not runner_alive(None, None, cluster_lease(tmp_path / "gone"))
    (run_dir / "cluster.json").write_text(json.dumps({"backend": "argo", "namespace": "team"}))
    assert not runner_alive(None, None, lease)  # no Workflow named: nothing to re-attach to
    assert holder.acquire()  # and the lock was left free


def test_stopping_the_server_cleanly_leaves_its_cluster_runs_running(project, cluster):
    """PipelineService.close() (server shutdown) cancels local runs, not cluster runs: they are
    re-attached when the server is back."""
    cluster.hold = True
    svc, run_id, store_dir = submit(project, "argo")
    handle = svc.handle(run_id)
    svc.close()
    assert not [r for r in cluster.requests if r["method"] == "PATCH"]  # no shutdown: Stop
    assert row(store_dir, run_id)["status"] == "running"
    handle.detach()  # what the process's exit does to the watcher thread
