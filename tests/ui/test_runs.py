"""Run a pipeline locally from the panel and watch it finish; open a step's executed notebook;
cancel a long run and check that none of its kernels is left."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat
import psutil
from conftest import build_notebook
from playwright.sync_api import Page, expect

from .lab_browser import screenshot_path
from .lab_server import LabServer
from .panel import (
    FINISHED, RUN_TIMEOUT_MS, UI_TIMEOUT_MS, graph_nodes, open_notebook, open_panel, poll, run_row, start_run, tid,
    wait_run_status, widen_left_panel,
)

REPO = Path(__file__).resolve().parents[2]
WINE_STEPS = {"load", "prepare", "train-logreg", "train-forest", "train-svm", "evaluate"}


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


def test_run_wine_pipeline_and_open_a_step_notebook(page: Page, lab: LabServer, lab_root: Path) -> None:
    folder = lab_root / "wine"
    folder.mkdir()
    shutil.copy(REPO / "examples" / "wine-pipeline.ipynb", folder / "wine-pipeline.ipynb")
    page.set_viewport_size({"width": 1440, "height": 1100})
    open_notebook(page, lab, "wine/wine-pipeline.ipynb")
    open_panel(page)
    assert set(graph_nodes(page)) == WINE_STEPS

    run_id = start_run(page, cache=False)
    status = wait_run_status(page, run_id, FINISHED, timeout=RUN_TIMEOUT_MS)
    _, run = lab.api(f"runs/{run_id}")
    assert status == "succeeded", f"run {run_id} ended {status}: {run}"

    # Every step done, in the graph and in the run's detail; the server agrees.
    page.wait_for_function(
        """steps => { const ns = [...document.querySelectorAll('[data-testid="kf-graph-node"]')];
                      return ns.length === steps && ns.every(n => n.dataset.status === 'succeeded'); }""",
        arg=len(WINE_STEPS), timeout=UI_TIMEOUT_MS,
    )
    row = run_row(page, run_id)
    if row.locator(tid("kf-run-detail")).count() == 0:
        row.locator(".jp-kf-run-summary").click()
    step_rows = row.locator(tid("kf-run-step"))
    expect(step_rows).to_have_count(len(WINE_STEPS))
    shown = {s.get_attribute("data-step"): s.get_attribute("data-status") for s in step_rows.all()}
    assert shown == dict.fromkeys(WINE_STEPS, "succeeded")
    assert {s["name"]: s["status"] for s in run["steps"]} == dict.fromkeys(WINE_STEPS, "succeeded")
    expect(row.locator(tid("kf-run-metrics"))).to_contain_text("best_accuracy")
    expect(row.locator(tid("kf-run-backend"))).to_have_text("local")

    # The whole Lab with the panel: graph and the finished run (cell editor folded to make room).
    page.locator(f'{tid("kf-section-cell")} .jp-kf-section-toggle').click()
    widen_left_panel(page, 460)
    page.locator(tid("kf-section-graph")).evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=screenshot_path("lab-finished-run.png"))

    # One click opens the executed notebook of a step in a new tab, outputs included.
    row.locator(f'{tid("kf-run-step")}[data-step="evaluate"] {tid("kf-step-open-notebook")}').click()
    current_tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
    expect(current_tab.locator(".lm-TabBar-tabLabel")).to_have_text("evaluate.ipynb", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#jp-main-dock-panel .lm-TabBar-tab")).to_have_count(2)
    # JupyterLab's router puts the current document's path into the address.
    expect(page).to_have_url(re.compile(f"/lab/tree/wine/kf-runs/{run_id}/steps/evaluate.ipynb"), timeout=UI_TIMEOUT_MS)
    output = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output", has_text="best model:")
    expect(output).to_have_count(1, timeout=UI_TIMEOUT_MS)
    page.screenshot(path=screenshot_path("step-notebook.png"))


def test_cancel_a_long_run_from_the_panel(page: Page, lab: LabServer, lab_root: Path) -> None:
    folder = lab_root / "cancel"
    folder.mkdir()
    nbformat.write(build_notebook([
        ("import time", ["imports"]),
        ("x = 1", ["step:first"]),
        ("time.sleep(30)\ny = x + 1", ["step:slow"]),
        ("z = y * 2", ["step:after"]),
    ]), folder / "slow.ipynb")
    open_notebook(page, lab, "cancel/slow.ipynb")
    open_panel(page)

    run_id = start_run(page, cache=False)
    row = run_row(page, run_id)
    expect(page.locator(f'{tid("kf-graph-node")}[data-step="slow"]')).to_have_attribute(
        "data-status", "running", timeout=RUN_TIMEOUT_MS)
    # The run's folder (docs/architecture.md: <notebook folder>/kf-runs/<run>/), the cwd of its kernels.
    run_dir = (folder / "kf-runs" / run_id).resolve()
    assert run_dir.is_dir()
    kernels = poll(lambda: run_processes(lab, run_dir), bool, timeout=15, what=f"a kernel of run {run_id}")

    started = time.monotonic()
    row.locator(tid("kf-run-cancel")).click()
    expect(row).to_have_attribute("data-status", "cancelled", timeout=10_000)
    took = time.monotonic() - started
    expect(page.locator(f'{tid("kf-graph-node")}[data-step="slow"]')).to_have_attribute(
        "data-status", "cancelled", timeout=UI_TIMEOUT_MS)
    assert graph_nodes(page)["after"] not in ("succeeded", "running")
    page.locator(tid("kf-panel")).screenshot(path=screenshot_path("run-cancelled.png"))

    _, run = lab.api(f"runs/{run_id}")
    assert run["status"] == "cancelled", run
    assert {s["name"]: s["status"] for s in run["steps"]}["after"] not in ("succeeded", "running"), run["steps"]
    left = poll(lambda: run_processes(lab, run_dir), lambda procs: not procs, timeout=10,
                what=f"kernels of run {run_id} gone after cancel (there were {kernels})")
    assert left == []
    print(f"cancelled in {took:.1f} s")
