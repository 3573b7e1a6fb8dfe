"""`jupyter kf runs|show|logs|snapshot` as subprocesses, against a store built with the real API."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from jupyter_kf_converter.runtime import StepValues
from storetest_util import write

from jupyter_kf.models import Run, StepRun
from jupyter_kf.store import RunStore

KF = [sys.executable, "-c", "import sys; from jupyter_kf.cli import main; sys.exit(main())"]


def kf(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*KF, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def runs(project: Path) -> dict[str, str]:
    """Two finished runs: 'ok' (metrics, one cached step) and 'bad' (a failed and a skipped step)."""
    store = RunStore.for_folder(project)
    ids = {}
    for label in ("ok", "bad"):
        run = Run(id=store.new_run_id(), pipeline="demo", notebook="pipeline.ipynb",
                  created_at=datetime.now(timezone.utc),
                  steps=[StepRun(name="load"), StepRun(name="train")])
        store.create_run(run)
        store.update_run(run.id, status="running")
        ids[label] = run.id
    ok, bad = ids["ok"], ids["bad"]
    for run_id in (ok, bad):
        store.update_step(run_id, "load", status="running", cache_key="k-load")
        store.step_notebook_path(run_id, "load").write_text("{}")
        store.step_log_path(run_id, "load").write_text(f"loading in {run_id}\n")
        store.update_step(run_id, "load", status="succeeded")
    StepValues(store.values_dir(ok), "train").save_metrics({"accuracy": 0.875, "rmse": 1.25})
    store.update_step(ok, "train", status="cached", cached_from=bad, cache_key="k-train")
    store.update_run(ok, status="succeeded")
    store.update_step(bad, "train", status="running")
    store.step_log_path(bad, "train").write_text("Traceback...\nZeroDivisionError: division by zero\n")
    store.update_step(bad, "train", status="failed", error="ZeroDivisionError: division by zero", failed_cell=4)
    store.update_run(bad, status="failed", error="step train failed")
    store.close()
    return ids


def test_runs_table_and_json(project: Path, runs: dict[str, str]) -> None:
    r = kf("runs", cwd=project)
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert header.split()[:6] == ["RUN", "NOTEBOOK", "STATUS", "STARTED", "DURATION", "STEPS"]
    assert "accuracy" in header and "rmse" in header
    assert rows[0].startswith(runs["bad"]) and "failed" in rows[0] and "1/2" in rows[0]
    assert rows[1].startswith(runs["ok"]) and "succeeded" in rows[1] and "2/2" in rows[1] and "0.875" in rows[1]
    data = json.loads(kf("runs", "--json", "--limit", "1", cwd=project).stdout)
    assert [d["id"] for d in data] == [runs["bad"]] and data[0]["duration"] >= 0
    nb = kf("runs", "--notebook", "project/pipeline.ipynb", "--json", cwd=project.parent)
    assert {d["id"] for d in json.loads(nb.stdout)} == set(runs.values())
    assert kf("runs", "--all", "--json", cwd=project.parent).returncode == 0


def test_runs_errors(project: Path, tmp_path: Path) -> None:
    r = kf("runs", "--notebook", "missing.ipynb", cwd=project)
    assert r.returncode == 1 and "no notebook missing.ipynb" in r.stderr
    assert kf("runs", "--limit", "-1", cwd=project).returncode == 2
    assert kf("runs", "--limit", "x", cwd=project).returncode == 2
    empty = kf("runs", cwd=tmp_path)
    assert empty.returncode == 0 and "no runs in" in empty.stderr


def test_show(project: Path, runs: dict[str, str], tmp_path: Path) -> None:
    r = kf("show", runs["bad"], cwd=project)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "step train failed" in out and "ZeroDivisionError: division by zero (cell 5)" in out  # failed_cell 4, counted from 1
    assert f"kf-runs/{runs['bad']}/steps/load.ipynb" in out
    ok = kf("show", runs["ok"], cwd=tmp_path)  # found through the registry from elsewhere
    assert ok.returncode == 0 and f"cached from {runs['bad']}" in ok.stdout and "accuracy=0.875" in ok.stdout
    data = json.loads(kf("show", runs["ok"], "--json", cwd=project).stdout)
    assert data["status"] == "succeeded" and data["steps"][1]["cached_from"] == runs["bad"]
    assert data["folder"] == str(project / "kf-runs" / runs["ok"])
    missing = kf("show", "20000101-000000-0000", cwd=project)
    assert missing.returncode == 1 and "no run '20000101-000000-0000'" in missing.stderr
    assert kf("show", cwd=project).returncode == 2


def test_logs(project: Path, runs: dict[str, str]) -> None:
    one = kf("logs", runs["bad"], "train", cwd=project)
    assert one.returncode == 0 and one.stdout == "Traceback...\nZeroDivisionError: division by zero\n"
    every = kf("logs", runs["bad"], cwd=project)
    assert every.returncode == 0
    assert every.stdout.index("==> load (succeeded) <==") < every.stdout.index("==> train (failed) <==")
    assert f"loading in {runs['bad']}" in every.stdout
    unknown = kf("logs", runs["bad"], "nope", cwd=project)
    assert unknown.returncode == 1 and "has no step 'nope'" in unknown.stderr and "load, train" in unknown.stderr
    nolog = kf("logs", runs["ok"], "train", cwd=project)
    assert nolog.returncode == 1 and "no log for step 'train'" in nolog.stderr


def test_snapshot_commands(project: Path, tmp_path: Path) -> None:
    created = kf("snapshot", "create", "pipeline.ipynb", "--json", cwd=project)
    assert created.returncode == 0, created.stderr
    first = json.loads(created.stdout)
    assert first["files"] == 4 and first["notebook"] == "pipeline.ipynb"
    write(project / "data" / "labels.txt", "changed\n")
    r = kf("snapshot", "create", cwd=project)
    assert r.returncode == 0 and "new)" in r.stdout
    second = r.stdout.split("id ")[1].strip()
    listed = kf("snapshot", "list", cwd=project)
    assert listed.stdout.splitlines()[0].split()[:2] == ["SNAPSHOT", "CREATED"]
    assert second[:12] in listed.stdout and first["id"][:12] in listed.stdout
    diff = kf("snapshot", "diff", first["id"][:8], second[:8], cwd=project)
    assert diff.returncode == 0 and diff.stdout == "M data/labels.txt\n"
    shown = kf("snapshot", "show", second[:10], cwd=project)
    assert "data/train.csv" in shown.stdout and "model.bin" in shown.stdout
    target = tmp_path / "restored"
    assert kf("snapshot", "restore", first["id"], str(target), cwd=project).returncode == 0
    assert (target / "data" / "labels.txt").read_text() == "a\nb\n"
    again = kf("snapshot", "restore", first["id"], str(target), cwd=project)
    assert again.returncode == 1 and "not empty" in again.stderr and "--force" in again.stderr
    assert kf("snapshot", "restore", first["id"], str(target), "--force", cwd=project).returncode == 0
    gc = kf("snapshot", "gc", "--keep", "1", "--json", cwd=project)
    report = json.loads(gc.stdout)
    assert report["snapshots_removed"] == [first["id"]] and report["bytes_freed"] == len("a\nb\n")


def test_snapshot_errors(project: Path) -> None:
    unknown = kf("snapshot", "show", "deadbeef", cwd=project)
    assert unknown.returncode == 1 and "no snapshot 'deadbeef'" in unknown.stderr
    assert kf("snapshot", cwd=project).returncode == 2
    assert kf("snapshot", "explode", cwd=project).returncode == 2
    missing = kf("snapshot", "create", "nowhere", cwd=project)
    assert missing.returncode == 1 and "no such folder or notebook: nowhere" in missing.stderr
    assert kf("snapshot", "gc", "--keep", "-3", cwd=project).returncode == 2


def test_a_running_run_shows_time_so_far_and_a_closed_pipe_is_quiet(project: Path) -> None:
    store = RunStore.for_folder(project)
    run = Run(id=store.new_run_id(), pipeline="demo", notebook="pipeline.ipynb",
              created_at=datetime.now(timezone.utc), steps=[StepRun(name="slow")])
    store.create_run(run)
    store.update_run(run.id, status="running")
    store.update_step(run.id, "slow", status="running")
    store.step_log_path(run.id, "slow").write_text("".join(f"line {i}\n" for i in range(200_000)))
    store.close()
    shown = kf("show", run.id, cwd=project)
    row = next(line for line in shown.stdout.splitlines() if line.startswith("slow"))
    assert "running" in row and row.split()[3].endswith("s")  # elapsed, not "-"
    listed = kf("runs", cwd=project).stdout.splitlines()[1]
    assert "running" in listed and " - " not in listed
    piped = subprocess.run(f"{' '.join(repr(a) for a in KF)} logs {run.id} | head -1", shell=True, cwd=project,
                           capture_output=True, text=True, timeout=120)
    assert piped.stdout == "==> slow (running) <==\n" and "BrokenPipe" not in piped.stderr
