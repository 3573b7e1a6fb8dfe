"""The store across processes: a reader while a writer writes, and a runner killed with SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from jupyter_kf.models import RunStatus, StepStatus
from jupyter_kf.store import RunStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

PRELUDE = """
import os, sys, time
from datetime import datetime, timezone
from jupyter_kf.models import Run, StepRun
from jupyter_kf.store import RunStore
store = RunStore(sys.argv[1])
def new_run(steps):
    run = Run(id=store.new_run_id(), pipeline="p", notebook="p.ipynb", created_at=datetime.now(timezone.utc),
              steps=[StepRun(name=s) for s in steps])
    return store.create_run(run)
"""


def spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", PRELUDE + textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    start = time.monotonic()
    line = proc.stdout.readline()
    if not line:
        raise AssertionError(f"child ended early: {proc.stderr.read()}")
    assert time.monotonic() - start < timeout
    return line.strip()


def test_reader_sees_consistent_states_while_a_writer_writes(tmp_path: Path) -> None:
    path = tmp_path / "kf-runs"
    RunStore(path).close()
    writer = spawn("""
        steps = [f"s{i}" for i in range(60)]
        run = new_run(steps)
        store.update_run(run.id, status="running")
        print(run.id, flush=True)
        while not os.path.exists(sys.argv[2]):  # the reader is ready
            time.sleep(0.01)
        for i, s in enumerate(steps):
            store.update_step(run.id, s, status="running")
            store.update_step(run.id, s, status="succeeded", metrics={f"m{i}": i})
            time.sleep(0.002)
            if i == 29:  # halfway: go on only once the reader has seen a partial state (no race)
                deadline = time.monotonic() + 60
                while not os.path.exists(sys.argv[3]) and time.monotonic() < deadline:
                    time.sleep(0.01)
        store.update_run(run.id, status="succeeded")
    """, str(path), str(tmp_path / "go"), str(tmp_path / "seen-partial"))
    run_id = wait_line(writer)
    partial_reads = 0
    with RunStore(path) as reader:
        (tmp_path / "go").touch()
        while True:
            run = reader.get_run(run_id)
            done = {s.name for s in run.steps if s.status == StepStatus.succeeded}
            if 0 < len(done) < 60:
                partial_reads += 1
                (tmp_path / "seen-partial").touch()
            # the step's status and the run's metrics change in one transaction: never half of it
            assert set(run.metrics) == {f"m{n[1:]}" for n in done}
            assert sum(s.status == StepStatus.running for s in run.steps) <= 1
            if run.status.finished:
                break
            assert writer.poll() is None or writer.returncode == 0, writer.stderr.read()
    assert writer.wait(60) == 0, writer.stderr.read()
    assert run.status == RunStatus.succeeded and len(run.metrics) == 60
    assert partial_reads > 0  # the reader really read while the writer was writing


RUNNER = """
    store.snapshots  # a runner imports everything a real one would
    run = new_run(["a", "b", "c"])
    store.update_run(run.id, status="running")
    store.update_step(run.id, "a", status="running", cache_key="key-a")
    store.step_notebook_path(run.id, "a").write_text("{}")
    store.update_step(run.id, "a", status="succeeded")
    store.update_step(run.id, "b", status="running", cache_key="key-b")
    print(run.id, flush=True)
    if len(sys.argv) > 2:  # then hammer the database until killed
        i = 0
        while True:
            i += 1
            store.update_step(run.id, "b", attempt=i % 50)
    time.sleep(600)
"""


@pytest.mark.parametrize("mid_write", [False, True], ids=["idle", "mid-write"])
def test_sigkilled_runner_is_reported_interrupted_with_finished_steps_reusable(
    tmp_path: Path, mid_write: bool
) -> None:
    path = tmp_path / "kf-runs"
    runner = spawn(RUNNER, str(path), *(["hammer"] if mid_write else []))
    try:
        run_id = wait_line(runner)
        with RunStore(path) as live_view:  # the runner is alive: nothing is touched
            assert live_view.interrupted == []
            assert live_view.get_run(run_id).status == RunStatus.running
        if mid_write:
            time.sleep(0.3)
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(30)
    with RunStore(path) as store:
        with store._read() as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.interrupted == [run_id]
        run = store.get_run(run_id)
        assert run.status == RunStatus.interrupted and f"pid {runner.pid}" in run.error
        assert run.finished_at is not None
        assert [(s.name, s.status) for s in run.steps] == [
            ("a", StepStatus.succeeded), ("b", StepStatus.cancelled), ("c", StepStatus.skipped)]
        hit = store.find_cached("key-a")
        assert hit is not None and hit.run_id == run_id
        assert store.find_cached("key-b") is None
    with RunStore(path) as again:  # reported once
        assert again.interrupted == []


def test_a_long_lived_store_notices_a_runner_killed_after_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_kf.store as store_module

    path = tmp_path / "kf-runs"
    runner = spawn(RUNNER, str(path))
    with RunStore(path) as server_view:  # e.g. the Jupyter server's store, open for hours
        try:
            run_id = wait_line(runner)
            assert server_view.get_run(run_id).status == RunStatus.running
        finally:
            runner.send_signal(signal.SIGKILL)
            runner.wait(30)
        monkeypatch.setattr(store_module, "RECOVERY_INTERVAL", 0.0)
        assert server_view.get_run(run_id).status == RunStatus.interrupted
        assert server_view.list_runs()[0].status == RunStatus.interrupted
