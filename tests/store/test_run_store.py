"""Run store: records, state changes, cache lookups, metrics, registry, cancel requests."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from jupyter_kf_converter.ir import Cell, Pipeline, Step
from jupyter_kf_converter.runtime import StepValues

from jupyter_kf.models import Run, RunStatus, StepStatus
from jupyter_kf.store import RunStore, UnknownRun, UnknownStep, locate, runner_alive


def make_pipeline(*names: str) -> Pipeline:
    return Pipeline(name="demo", notebook="demo.ipynb",
                    steps=[Step(name=n, cells=[Cell(index=i, source=f"{n} = {i}")]) for i, n in enumerate(names)])


def new_run(store: RunStore, *steps: str, notebook: str = "demo.ipynb", **fields) -> Run:
    run = Run(id=store.new_run_id(), pipeline="demo", notebook=notebook, created_at=datetime.now(timezone.utc),
              **fields)
    return store.create_run(run, make_pipeline(*(steps or ("a", "b"))))


@pytest.fixture
def store(project: Path) -> RunStore:
    s = RunStore.for_folder(project)
    yield s
    s.close()


def test_layout_and_records(store: RunStore, project: Path) -> None:
    run = new_run(store, "load", "train")
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", run.id)
    assert store.path == project / "kf-runs"
    folder = store.run_path(run.id)
    assert Pipeline.from_json((folder / "pipeline.json").read_text()).step("train")
    env = json.loads((folder / "env.json").read_text())
    assert env["kernel"] == "python3" and env["python"] and "pydantic" in env["packages"]
    got = store.get_run(run.id)
    assert got == run and [s.name for s in got.steps] == ["load", "train"]
    assert got.run_dir == f"{run.id}/work"
    assert store.resolve(got.step("train").notebook) == store.step_notebook_path(run.id, "train")
    assert store.step_log_path(run.id, "load") == folder / "steps" / "load.log"
    assert store.values_dir(run.id, "load") == folder / "work" / "kf-values" / "load"


def test_run_ids_are_unique_and_sortable(store: RunStore) -> None:
    ids = [store.new_run_id() for _ in range(300)]
    assert len(set(ids)) == 300 and sorted(ids)[0][:15] <= sorted(ids)[-1][:15]
    assert all((store.path / i).is_dir() for i in ids)


def test_status_changes_stamp_times_and_durations(store: RunStore) -> None:
    run = new_run(store)
    assert store.update_run(run.id, status=RunStatus.running).started_at is not None
    s = store.update_step(run.id, "a", status="running", cache_key="k-a", attempt=1)
    assert s.started_at and s.finished_at is None and s.cache_key == "k-a"
    s = store.update_step(run.id, "a", status=StepStatus.succeeded)
    assert s.finished_at >= s.started_at and s.duration is not None and s.duration >= 0
    store.update_step(run.id, "b", status="failed", error="ZeroDivisionError: division by zero", failed_cell=7)
    done = store.update_run(run.id, status="failed", error="step b failed")
    assert done.finished_at and done.duration is not None
    assert [(x.name, x.status.value) for x in done.steps] == [("a", "succeeded"), ("b", "failed")]
    assert done.step("b").failed_cell == 7


def test_bad_updates_are_refused_and_change_nothing(store: RunStore) -> None:
    run = new_run(store)
    with pytest.raises(TypeError, match="unknown StepRun field"):
        store.update_step(run.id, "a", colour="red")
    with pytest.raises(ValueError):
        store.update_step(run.id, "a", status="exploded")
    with pytest.raises(UnknownStep, match="no step 'zz'.*steps: a, b"):
        store.update_step(run.id, "zz", status="running")
    with pytest.raises(UnknownRun):
        store.update_run("20000101-000000-0000", status="running")
    assert store.get_run(run.id) == run


def test_find_cached_returns_newest_reusable_result(store: RunStore) -> None:
    assert store.find_cached("k") is None
    first = new_run(store)
    store.update_step(first.id, "a", status="running", cache_key="k")
    assert store.find_cached("k") is None  # not finished
    store.step_notebook_path(first.id, "a").write_text("{}")
    store.update_step(first.id, "a", status="succeeded")
    hit = store.find_cached("k")
    assert hit and hit.run_id == first.id and hit.notebook == store.step_notebook_path(first.id, "a")
    assert hit.values_dir == store.values_dir(first.id, "a")
    # a later run reuses it: a cache hit there points back to the run that executed the step
    second = new_run(store)
    store.update_step(second.id, "a", status="cached", cache_key="k", cached_from=first.id)
    assert store.find_cached("k").run_id == first.id
    assert store.find_cached("k", exclude_run=first.id).run_id == first.id  # via second's record
    # failed steps are never reused; a hit whose notebook was deleted is skipped
    third = new_run(store)
    store.update_step(third.id, "a", status="failed", cache_key="k")
    store.step_notebook_path(first.id, "a").unlink()
    assert store.find_cached("k") is None


def test_metrics_are_recorded_per_step_and_per_run(store: RunStore) -> None:
    run = new_run(store, "train", "evaluate")
    values = StepValues(store.values_dir(run.id), "evaluate")
    values.save_metrics({"accuracy": 0.93, "loss": 0.2})
    store.update_step(run.id, "train", status="succeeded", metrics={"epochs": 3})
    s = store.update_step(run.id, "evaluate", status="succeeded")
    assert s.metrics == {"accuracy": 0.93, "loss": 0.2}
    got = store.list_runs()[0]
    assert got.id == run.id and got.metrics == {"epochs": 3, "accuracy": 0.93, "loss": 0.2}


def test_list_runs_newest_first_filtered_and_limited(store: RunStore) -> None:
    a = new_run(store, notebook="one.ipynb")
    b = new_run(store, notebook="sub/two.ipynb")
    c = new_run(store, notebook="one.ipynb")
    assert [r.id for r in store.list_runs()] == [c.id, b.id, a.id]
    assert [r.id for r in store.list_runs("one.ipynb")] == [c.id, a.id]
    assert [r.id for r in store.list_runs("two.ipynb")] == [b.id]
    assert [r.id for r in store.list_runs(limit=1)] == [c.id]
    assert all(len(r.steps) == 2 for r in store.list_runs())


def test_registry_lets_any_surface_find_a_run(tmp_path: Path, store: RunStore) -> None:
    new_run(store)  # a store is registered once it is written to
    other = RunStore.for_folder(tmp_path / "other-project")
    run = new_run(other)
    reg = json.loads(Path(os.environ["JUPYTER_KF_REGISTRY"]).read_text())
    assert set(reg["stores"]) == {str(store.path), str(other.path)}
    found = locate(run.id)
    assert found.path == other.path and found.get_run(run.id).id == run.id
    with pytest.raises(UnknownRun, match="no run '20000101-000000-0000'"):
        locate("20000101-000000-0000")


def test_cancel_request_reaches_the_runner_and_orphans_are_cancelled(store: RunStore) -> None:
    live = new_run(store)
    store.update_run(live.id, status="running")
    assert not store.cancel_requested(live.id)
    assert store.request_cancel(live.id).status == RunStatus.running  # our process is its runner
    assert store.cancel_requested(live.id)


def test_runner_liveness_checks_pid_and_start_time() -> None:
    import socket

    from jupyter_kf.store import process_start_time

    me = os.getpid()
    assert runner_alive(me, process_start_time(me), socket.gethostname())
    assert not runner_alive(me, "12345-not-my-start", socket.gethostname())  # pid reused
    assert runner_alive(me, "whatever", "another-host")  # cannot check another machine
    assert not runner_alive(None, None, None)
