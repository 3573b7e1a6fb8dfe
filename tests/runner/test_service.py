"""PipelineService: the calls every surface makes, besides running (covered elsewhere)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jupyter_kf.backends import UnknownBackend
from jupyter_kf.models import RunRequest, RunStatus
from jupyter_kf.store import UnknownRun, UnknownStep

from .conftest import wait_for


def test_history_logs_notebooks_snapshots_and_backends(service, make_notebook, nb_dir):
    make_notebook([("x = 1\nprint('hello from a')", ["step:a"])], "one.ipynb", nb_dir)
    make_notebook([("y = 2", ["step:b"])], "two.ipynb", nb_dir)
    first = service.run(RunRequest(notebook="one.ipynb"))
    second = service.run(RunRequest(notebook="two.ipynb"))

    assert [r.id for r in service.list_runs()] == [second.id, first.id]
    assert [r.id for r in service.list_runs("one.ipynb")] == [first.id]
    assert service.get_run(first.id).notebook == "one.ipynb"
    assert "hello from a" in service.step_log(first.id, "a")
    assert service.step_notebook(first.id, "a").is_file()
    with pytest.raises(UnknownStep, match="steps: a"):
        service.step_log(first.id, "nope")
    with pytest.raises(UnknownRun):
        service.get_run("20000101-000000-0000")

    snap = service.create_snapshot("one.ipynb")
    assert snap.files >= 2 and snap.id in {s.id for s in service.list_snapshots("one.ipynb")}
    assert first.snapshot in {s.id for s in service.list_snapshots("one.ipynb")}

    infos = {b.name: b for b in service.backends()}
    assert infos["local"].available and infos["local"].configured
    assert {"kfp", "argo"} <= set(infos)
    with pytest.raises(UnknownBackend):
        service.submit(RunRequest(notebook="one.ipynb", backend="nope"))


def test_submit_does_not_block_an_event_loop_and_reports_every_change(service, make_notebook, nb_dir):
    make_notebook(
        [("import time", ["imports"]), ("time.sleep(1)\na = 1", ["step:a"]), ("b = a + 1", ["step:b"])],
        "slowish.ipynb",
        nb_dir,
    )
    updates: list[tuple[str, tuple[str, ...]]] = []
    threads: set[str] = set()

    def on_update(run):
        threads.add(threading.current_thread().name)
        updates.append((run.status.value, tuple(s.status.value for s in run.steps)))

    async def main():
        run = service.submit(RunRequest(notebook="slowish.ipynb"), on_update)
        assert run.status == RunStatus.queued  # returned at once
        ticks = 0
        while not service.get_run(run.id).status.finished:
            await asyncio.sleep(0.05)  # the loop keeps running while the pipeline does
            ticks += 1
        return run.id, ticks

    run_id, ticks = asyncio.run(main())
    assert ticks > 10
    assert service.get_run(run_id).status == RunStatus.succeeded
    assert threading.main_thread().name not in threads
    assert updates[0][0] == "running" and updates[-1] == ("succeeded", ("succeeded", "succeeded"))
    assert ("running", ("running", "pending")) in updates and ("running", ("succeeded", "running")) in updates


def test_cancel_through_the_service(service, make_notebook, nb_dir):
    cells = [("import time\ntime.sleep(60)\na = 1", ["step:a"]), ("b = a", ["step:b"])]
    make_notebook(cells, "c.ipynb", nb_dir)
    run = service.submit(RunRequest(notebook="c.ipynb"))
    wait_for(lambda: service.get_run(run.id).steps[0].status.value == "running")
    service.cancel(run.id)
    final = service.wait(run.id, timeout=30)
    assert final.status == RunStatus.cancelled
    assert [s.status.value for s in final.steps] == ["cancelled", "skipped"]
