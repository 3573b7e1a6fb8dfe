"""`jupyter kf run` as a real process: output in a pipe, exit codes, Ctrl-C, SIGKILL, cancel."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from jupyter_kf.models import RunRequest, RunStatus, StepStatus
from jupyter_kf.store import RunStore

from .conftest import KF, cli_env, pid_alive, wait_for

SLOW = [
    ("import time", ["imports"]),
    ("a = 1\nprint('a finished')", ["step:a"]),
    ("time.sleep(60)\nb = a", ["step:b"]),
    ("time.sleep(60)\nc = a", ["step:c"]),
]


def descendants(pid: int) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def test_run_in_a_pipe_prints_events_summary_and_exit_codes(make_notebook, nb_dir, tmp_path):
    make_notebook(
        [("x = 2", ["step:a"]), ("y = x + 1", ["step:b"]), ("y", ["pipeline-metrics"])], "ok.ipynb", nb_dir
    )
    env = cli_env(tmp_path)
    done = subprocess.run(
        [KF, "run", "ok.ipynb", "--max-parallel", "2"],
        cwd=nb_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert any(line.split()[1:3] == ["a", "running"] for line in lines if len(line.split()) > 2)
    assert any("b" in line and "done" in line for line in lines)
    assert "succeeded" in done.stderr and "y=3" in done.stderr
    run_id = next(line.split()[1] for line in lines if line.startswith("run "))
    assert f"kf-runs/{run_id}/steps" in done.stderr  # where the executed notebooks are

    as_json = subprocess.run(
        [KF, "run", "ok.ipynb", "--json"], cwd=nb_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert as_json.returncode == 0
    record = json.loads(as_json.stdout)
    assert record["status"] == "succeeded" and {s["status"] for s in record["steps"]} == {"cached"}

    bad = subprocess.run(
        [KF, "run", "ok.ipynb", "-p", "nope=1"],
        cwd=nb_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "nope" in bad.stderr and "nothing ran" in bad.stderr

    make_notebook([("a = 1", ["step:a"]), ("b = missing_name", ["step:b"])], "broken.ipynb", nb_dir)
    broken = subprocess.run(
        [KF, "run", "broken.ipynb"], cwd=nb_dir, env=env, capture_output=True, text=True, timeout=60
    )
    assert broken.returncode == 1 and "missing_name" in broken.stderr and "cell 2" in broken.stderr

    make_notebook([("a = 1", ["step:a"]), ("raise KeyError('k')", ["step:b"])], "fails.ipynb", nb_dir)
    fails = subprocess.run(
        [KF, "run", "fails.ipynb"], cwd=nb_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert fails.returncode == 1 and "KeyError" in fails.stderr and "--retry" in fails.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_cancels_and_leaves_no_process(make_notebook, nb_dir, tmp_path, sig):
    make_notebook(SLOW, "slow.ipynb", nb_dir)
    proc = subprocess.Popen(
        [KF, "run", "slow.ipynb"],
        cwd=nb_dir,
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        store = RunStore(nb_dir / "kf-runs", register=False)
        wait_for(
            lambda: any(
                r.step("b").status == StepStatus.running and r.step("c").status == StepStatus.running
                for r in store.list_runs()
            )
        )
        kids = descendants(proc.pid)
        assert len(kids) >= 3  # the fork server and the two running step kernels
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "cancelled" in err
    # It says which steps were cancelled, not what the killed kernels' clients logged.
    assert "  cancelled: b, c " in err or "  cancelled: c, b " in err, err
    assert "Kernel died" not in err and "Error occurred while starting" not in err, err
    wait_for(lambda: not any(pid_alive(p) for p in kids), timeout=10)
    run = store.list_runs()[0]
    assert run.status == RunStatus.cancelled
    assert run.step("a").status == StepStatus.succeeded
    assert {run.step("b").status, run.step("c").status} == {StepStatus.cancelled}


def test_sigkill_of_the_runner_then_a_clean_next_start(make_notebook, nb_dir, tmp_path, service):
    make_notebook(SLOW, "slow.ipynb", nb_dir)
    proc = subprocess.Popen(
        [KF, "run", "slow.ipynb"],
        cwd=nb_dir,
        env=cli_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        probe = RunStore(nb_dir / "kf-runs", register=False)
        wait_for(lambda: any(r.step("b").status == StepStatus.running for r in probe.list_runs()))
        kids = descendants(proc.pid)
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not any(pid_alive(p) for p in kids), timeout=10)  # kernels die with the runner

    store = RunStore(nb_dir / "kf-runs", register=False)  # a "next start" of anything using the store
    killed = store.list_runs()[0]
    assert killed.id in store.interrupted
    assert killed.status == RunStatus.interrupted and "interrupted" in killed.error
    assert killed.step("a").status == StepStatus.succeeded
    assert killed.step("b").status == StepStatus.cancelled

    # The next run reuses the interrupted run's finished step. Make the slow steps quick first.
    path = Path(nb_dir / "slow.ipynb")
    path.write_text(path.read_text().replace("time.sleep(60)", "time.sleep(0)"))
    run = service.run(RunRequest(notebook="slow.ipynb"))
    assert run.status == RunStatus.succeeded, run.error
    assert run.step("a").status == StepStatus.cached and run.step("a").cached_from == killed.id


def test_cancel_from_another_process(make_notebook, nb_dir, tmp_path):
    make_notebook(SLOW, "slow.ipynb", nb_dir)
    env = cli_env(tmp_path)
    proc = subprocess.Popen(
        [KF, "run", "slow.ipynb"],
        cwd=nb_dir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        store = RunStore(nb_dir / "kf-runs", register=False)
        wait_for(lambda: any(r.step("b").status == StepStatus.running for r in store.list_runs()))
        run_id = store.list_runs()[0].id
        cancel = subprocess.run(
            [KF, "cancel", run_id], cwd=nb_dir, env=env, capture_output=True, text=True, timeout=60
        )
        assert cancel.returncode == 0, cancel.stderr
        assert f"run {run_id} cancelled" in cancel.stdout
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1  # the runner itself was not interrupted; its run was cancelled
    assert store.get_run(run_id).status == RunStatus.cancelled
