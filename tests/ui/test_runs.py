"""Run a pipeline locally from the panel and watch it finish; open a step's executed notebook;
cancel a long run and check that none of its kernels is left."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
from playwright.sync_api import Page, expect

from .flows import WINE_STEPS, copy_wine_example, open_step_notebook, run_to_success
from .lab_browser import screenshot_path
from .lab_server import LabServer
from .notebooks import write_notebook
from .panel import (
    RUN_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    graph_nodes,
    open_notebook,
    open_panel,
    poll,
    run_row,
    start_run,
    tid,
)


def run_processes(lab: LabServer, run_dir: Path) -> list[str]:
    """Live processes under the server whose working folder is inside the run's folder."""
    found = []
    for proc in lab.descendants():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            cwd = Path(proc.cwd())
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if cwd == run_dir or run_dir in cwd.parents:
            found.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]} (cwd {cwd})")
    return found


def test_run_wine_pipeline_and_open_a_step_notebook(page: Page, lab: LabServer) -> None:
    notebook = copy_wine_example(lab, "wine")
    page.set_viewport_size({"width": 1440, "height": 1100})
    run_id = run_to_success(
        page, lab, notebook, WINE_STEPS, metric="best_accuracy", screenshot="lab-finished-run.png"
    )
    open_step_notebook(page, notebook, run_id, "evaluate", "best model:", screenshot="step-notebook.png")


def test_cancel_a_long_run_from_the_panel(page: Page, lab: LabServer, lab_root: Path) -> None:
    folder = lab_root / "cancel"
    folder.mkdir()
    write_notebook(
        folder / "slow.ipynb",
        [
            ("import time", ["imports"]),
            ("x = 1", ["step:first"]),
            ("time.sleep(30)\ny = x + 1", ["step:slow"]),
            ("z = y * 2", ["step:after"]),
        ],
    )
    open_notebook(page, lab, "cancel/slow.ipynb")
    open_panel(page)

    run_id = start_run(page, cache=False)
    row = run_row(page, run_id)
    expect(page.locator(f'{tid("kf-graph-node")}[data-step="slow"]')).to_have_attribute(
        "data-status", "running", timeout=RUN_TIMEOUT_MS
    )
    # The run's folder (docs/architecture.md: <notebook folder>/kf-runs/<run>/), the cwd of its kernels.
    run_dir = (folder / "kf-runs" / run_id).resolve()
    assert run_dir.is_dir()
    kernels = poll(lambda: run_processes(lab, run_dir), bool, timeout=15, what=f"a kernel of run {run_id}")

    started = time.monotonic()
    row.locator(tid("kf-run-cancel")).click()
    expect(row).to_have_attribute("data-status", "cancelled", timeout=10_000)
    took = time.monotonic() - started
    expect(page.locator(f'{tid("kf-graph-node")}[data-step="slow"]')).to_have_attribute(
        "data-status", "cancelled", timeout=UI_TIMEOUT_MS
    )
    assert graph_nodes(page)["after"] not in ("succeeded", "running")
    expect(page.locator(tid("kf-message"))).to_have_count(0)  # "Run … started" went with the run
    page.locator(tid("kf-panel")).screenshot(path=screenshot_path("run-cancelled.png"))

    _, run = lab.api(f"runs/{run_id}")
    assert run["status"] == "cancelled", run
    step_status = {s["name"]: s["status"] for s in run["steps"]}
    assert step_status["slow"] == "cancelled" and step_status["after"] not in ("succeeded", "running"), (
        step_status
    )
    left = poll(
        lambda: run_processes(lab, run_dir),
        lambda procs: not procs,
        timeout=10,
        what=f"kernels of run {run_id} gone after cancel (there were {kernels})",
    )
    assert left == []
    print(f"cancelled in {took:.1f} s")
