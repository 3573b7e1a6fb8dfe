"""Whole user flows in the panel, shared by the browser tests and by tests that repeat them against
another environment (a server from `lab_servers.get(python)`, e.g. the Binder venv)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from kf_testing import committed_file
from playwright.sync_api import Page, expect

from .lab_browser import REPO, screenshot_path
from .lab_server import LabServer
from .panel import (
    FINISHED,
    RUN_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    graph_nodes,
    open_notebook,
    open_panel,
    run_row,
    start_run,
    tid,
    wait_run_status,
)

WINE_EXAMPLE = REPO / "examples" / "wine-pipeline.ipynb"
WINE_STEPS = {"load", "prepare", "train-logreg", "train-forest", "train-svm", "evaluate"}


def copy_wine_example(lab: LabServer, folder: str = "wine") -> str:
    """Copy examples/wine-pipeline.ipynb (as committed) into `folder` of the server's root; its path there."""
    (lab.root / folder).mkdir(parents=True, exist_ok=True)
    (lab.root / folder / WINE_EXAMPLE.name).write_bytes(committed_file(f"examples/{WINE_EXAMPLE.name}"))
    return f"{folder}/{WINE_EXAMPLE.name}"


def run_to_success(
    page: Page,
    lab: LabServer,
    notebook: str,
    steps: set[str],
    metric: str | None = None,
    screenshot: str | None = None,
) -> str:
    """Open `notebook`, press Run in the panel (no cache) and watch every step succeed: in the
    graph, in the run's detail and over REST. Returns the run id."""
    open_notebook(page, lab, notebook)
    open_panel(page)
    assert set(graph_nodes(page)) == steps

    run_id = start_run(page, cache=False)
    status = wait_run_status(page, run_id, FINISHED, timeout=RUN_TIMEOUT_MS)
    _, run = lab.api(f"runs/{run_id}")
    assert status == "succeeded", f"run {run_id} ended {status}: {run}"
    assert {s["name"]: s["status"] for s in run["steps"]} == dict.fromkeys(steps, "succeeded")

    page.wait_for_function(
        """n => { const ns = [...document.querySelectorAll('[data-testid="kf-graph-node"]')];
                  return ns.length === n && ns.every(x => x.dataset.status === 'succeeded'); }""",
        arg=len(steps),
        timeout=UI_TIMEOUT_MS,
    )
    row = run_row(page, run_id)
    expect(row.locator(tid("kf-run-detail"))).to_be_visible()  # a run started from the panel is selected
    step_rows = row.locator(tid("kf-run-step"))
    expect(step_rows).to_have_count(len(steps))
    shown = {s.get_attribute("data-step"): s.get_attribute("data-status") for s in step_rows.all()}
    assert shown == dict.fromkeys(steps, "succeeded")
    expect(row.locator(tid("kf-run-backend"))).to_have_text("local")
    if metric:
        expect(row.locator(tid("kf-run-metrics"))).to_contain_text(metric)

    if screenshot:
        # The whole Lab with the panel at JupyterLab's default width, showing the graph and the
        # finished run (cell editor folded): the README's picture (docs/images/panel.png).
        page.locator(f"{tid('kf-section-cell')} .jp-kf-section-toggle").click()
        page.locator(tid("kf-section-graph")).evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=screenshot_path(screenshot))
    return run_id


def open_step_notebook(
    page: Page, notebook: str, run_id: str, step: str, output_text: str, screenshot: str | None = None
) -> None:
    """One click in the run's detail opens the step's executed notebook in a new tab, with its
    outputs (`output_text` in one of them). The store is `kf-runs/` beside `notebook`."""
    tabs = page.locator("#jp-main-dock-panel .lm-TabBar-tab")
    before = tabs.count()
    run_row(page, run_id).locator(
        f'{tid("kf-run-step")}[data-step="{step}"] {tid("kf-step-open-notebook")}'
    ).click()
    current = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    expect(current).to_have_text(f"{step}.ipynb", timeout=UI_TIMEOUT_MS)
    expect(tabs).to_have_count(before + 1)
    # JupyterLab's router puts the current document's path into the address.
    path = PurePosixPath(notebook).parent / "kf-runs" / run_id / "steps" / f"{step}.ipynb"
    expect(page).to_have_url(re.compile(f"/lab/tree/{re.escape(str(path))}"), timeout=UI_TIMEOUT_MS)
    output = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output", has_text=output_text)
    expect(output).to_have_count(1, timeout=UI_TIMEOUT_MS)
    # The panel follows the new tab and knows it is a step's record, not a pipeline to compile or run.
    record = page.locator(tid("kf-step-notebook"))
    expect(record).to_have_attribute("data-step", step, timeout=UI_TIMEOUT_MS)
    expect(record).to_have_attribute("data-run", run_id)
    expect(page.locator(tid("kf-run-button"))).to_have_count(0)
    if screenshot:
        page.screenshot(path=screenshot_path(screenshot))
