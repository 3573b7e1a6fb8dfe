"""Every path in a REST answer is relative to the server root, so JupyterLab can open it."""

from __future__ import annotations

from datetime import datetime, timezone

from jupyter_kf.models import Run, StepRun
from jupyter_kf.store import RunStore

from .conftest import TWO_STEPS


async def test_run_paths_are_relative_to_the_server_root(api, write_nb, root, wait_run):
    nb = write_nb(TWO_STEPS, name="sub/pipe.ipynb")
    status, started = await api("POST", "runs", {"notebook": nb})
    assert status == 202, started
    run_id = started["id"]
    assert started["notebook"] == "sub/pipe.ipynb"
    assert started["run_dir"] == f"sub/kf-runs/{run_id}/work"
    run = await wait_run(run_id)
    assert run["status"] == "succeeded", run
    assert run["run_dir"] == f"sub/kf-runs/{run_id}/work" and (root / run["run_dir"]).is_dir()
    for step in run["steps"]:
        assert step["notebook"] == f"sub/kf-runs/{run_id}/steps/{step['name']}.ipynb"
        assert step["log"] == f"sub/kf-runs/{run_id}/steps/{step['name']}.log"
        assert (root / step["notebook"]).is_file() and (root / step["log"]).is_file()
    # the step routes and the run agree
    status, got = await api("GET", f"runs/{run_id}/steps/add/notebook")
    assert got["path"] == run["steps"][1]["notebook"]
    status, log = await api("GET", f"runs/{run_id}/steps/add/log")
    assert log["path"] == run["steps"][1]["log"]
    for params in ({}, {"notebook": nb}):
        status, listed = await api("GET", "runs", params=params)
        (same,) = [r for r in listed["runs"] if r["id"] == run_id]
        assert same["run_dir"] == run["run_dir"] and same["steps"] == run["steps"]
    status, cancelled = await api("POST", f"runs/{run_id}/cancel")
    assert status == 200 and cancelled["run_dir"] == run["run_dir"]


async def test_a_run_started_from_a_subfolder_by_the_cli_shows_root_relative_paths(api, root):
    # `jupyter kf run pipe.ipynb` in <root>/other records the notebook relative to that folder
    (root / "other").mkdir()
    with RunStore(root / "other" / "kf-runs") as store:
        run_id = store.new_run_id()
        store.create_run(
            Run(id=run_id, pipeline="pipe", notebook="pipe.ipynb", created_at=datetime.now(timezone.utc),
                steps=[StepRun(name="a")]),
        )
        assert store.get_run(run_id).run_dir == f"{run_id}/work"  # the core: relative to the store
    status, run = await api("GET", f"runs/{run_id}")
    assert status == 200, run
    assert run["notebook"] == "other/pipe.ipynb"
    assert run["run_dir"] == f"other/kf-runs/{run_id}/work"
    assert run["steps"][0]["notebook"] == f"other/kf-runs/{run_id}/steps/a.ipynb"


async def test_snapshot_paths_are_relative_to_the_server_root(api, write_nb, root):
    nb = write_nb(TWO_STEPS, name="sub/pipe.ipynb")
    status, snap = await api("POST", "snapshots", {"notebook": nb})
    assert status == 201, snap
    assert snap["root"] == "sub" and snap["notebook"] == "sub/pipe.ipynb"
    status, listed = await api("GET", "snapshots", params={"notebook": nb})
    assert [(s["root"], s["notebook"]) for s in listed["snapshots"]] == [("sub", "sub/pipe.ipynb")]
    top = write_nb(TWO_STEPS, name="top.ipynb")
    status, snap = await api("POST", "snapshots", {"notebook": top})
    assert snap["root"] == "" and snap["notebook"] == "top.ipynb"


def test_run_view_without_a_known_store_or_with_one_shared_store(tmp_path) -> None:
    from jupyter_kf.config import Settings
    from jupyter_kf.handlers.present import run_view

    root = tmp_path / "root"
    run = Run(id="20260101-000000-abcd", pipeline="p", notebook="sub/pipe.ipynb", run_dir="20260101-000000-abcd/work",
              created_at=datetime.now(timezone.utc), steps=[StepRun(name="a", notebook="x/steps/a.ipynb")])
    gone = run_view(run, None, root, Settings())  # e.g. deleted since it was listed
    assert gone.notebook == "sub/pipe.ipynb" and gone.run_dir is None and gone.steps[0].notebook is None
    shared = Settings(store=str(tmp_path / "all-runs"))  # one absolute store outside the root
    view = run_view(run, tmp_path / "all-runs", root, shared)
    assert view.notebook == "sub/pipe.ipynb" and view.run_dir is None  # outside the root: no path
    inside = Settings(store=str(root / "all-runs"))
    view = run_view(run, root / "all-runs", root, inside)
    assert view.run_dir == "all-runs/20260101-000000-abcd/work"
    assert view.steps[0].notebook == "all-runs/x/steps/a.ipynb"
