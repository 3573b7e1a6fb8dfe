"""A new user's first pipeline, with no page reload: a notebook created from the launcher while the
panel is open, three cells tagged with the panel only, the graph compiled as they change, the
notebook renamed, a run
followed live to its end, and an executed step notebook opened as a record (no kernel starts)."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from .lab_browser import screenshot_path
from .lab_server import LabServer
from .panel import (
    RUN_TIMEOUT_MS,
    UI_TIMEOUT_MS,
    cells,
    graph_nodes,
    run_row,
    start_run,
    tag_step,
    tid,
)

SOURCES = ["numbers = list(range(10))", "squares = [n * n for n in numbers]", "total = sum(squares)\nprint(total)"]


def type_cells(page: Page, sources: list[str]) -> None:
    """Type `sources` into the new notebook's cells, adding a cell below for each after the first."""
    for i, source in enumerate(sources):
        if i:
            page.keyboard.press("Escape")
            page.keyboard.press("b")  # insert a cell below (command mode), then edit it
            expect(cells(page)).to_have_count(i + 1)
            page.keyboard.press("Enter")
        else:
            cells(page).nth(0).locator(".cm-content").click()
        page.keyboard.insert_text(source)
        expect(cells(page).nth(i).locator(".cm-content")).to_contain_text(source.splitlines()[0])
    page.keyboard.press("Escape")


def expect_nodes(page: Page, names: set[str]) -> None:
    page.wait_for_function(
        """names => { const ns = [...document.querySelectorAll('[data-testid="kf-graph-node"]')];
                      return ns.length === names.length && ns.every(n => names.includes(n.dataset.step)); }""",
        arg=sorted(names),
        timeout=UI_TIMEOUT_MS,
    )


def test_new_notebook_tagged_run_and_opened_without_reload(page: Page, lab: LabServer) -> None:
    page.goto(lab.home_url())
    page.click('li[data-id="jupyter-kf-panel"]')
    expect(page.locator(tid("kf-no-notebook"))).to_be_visible(timeout=60_000)
    page.evaluate("window.__kfNoReload = true")  # gone if the page reloads

    # File > New > Notebook, the launcher's way: the panel is open before the notebook exists.
    page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    expect(cells(page)).to_have_count(1, timeout=60_000)
    path = page.locator(tid("kf-panel")).locator(".jp-kf-notebook-path")
    expect(path).to_have_text(re.compile(r"^Untitled\d*\.ipynb$"), timeout=UI_TIMEOUT_MS)
    type_cells(page, SOURCES)

    # Tagged in the panel only; compiled as it changes (no Compile button pressed).
    tag_step(page, 0, "load")
    tag_step(page, 1, "square")
    tag_step(page, 2, "total")
    expect(page.locator(tid("kf-compile-state"))).to_have_text(re.compile("up to date"), timeout=UI_TIMEOUT_MS)
    expect_nodes(page, {"load", "square", "total"})
    # A renamed step is renamed in the graph, again without a Compile.
    tag_step(page, 1, "squared")
    expect_nodes(page, {"load", "squared", "total"})

    # Renamed (File > Rename Notebook…): the panel follows the new name, the pipeline's too.
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^File$")).click()
    page.locator(".lm-Menu-itemLabel", has_text="Rename Notebook…").click()
    field = page.locator(".jp-Dialog input")
    field.fill("first-pipeline.ipynb")
    field.press("Enter")
    notebook = "first-pipeline.ipynb"
    expect(path).to_have_text(notebook, timeout=UI_TIMEOUT_MS)
    expect(page.locator(tid("kf-pipeline-name"))).to_have_text("first-pipeline")
    # ... recompiled under it (the compiled pipeline's name is the graph's).
    expect(page.locator(tid("kf-graph"))).to_have_attribute(
        "aria-label", "Pipeline graph of first-pipeline", timeout=UI_TIMEOUT_MS
    )
    expect(page.locator(tid("kf-compile-state"))).to_have_text(re.compile("up to date"), timeout=UI_TIMEOUT_MS)
    expect_nodes(page, {"load", "squared", "total"})
    expect(page.locator(tid("kf-run-button"))).to_be_enabled(timeout=UI_TIMEOUT_MS)

    run_id = start_run(page, cache=False)
    row = run_row(page, run_id)
    expect(row).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(
        """() => { const ns = [...document.querySelectorAll('[data-testid="kf-graph-node"]')];
                   return ns.length === 3 && ns.every(n => n.dataset.status === 'succeeded'); }""",
        timeout=UI_TIMEOUT_MS,
    )
    expect(page.locator(".jp-Notification-Toast, .Toastify__toast", has_text=run_id)).to_have_count(
        1, timeout=UI_TIMEOUT_MS
    )
    # "Run … started" no longer holds once the run ended.
    expect(page.locator(tid("kf-message"))).to_have_count(0)
    _, run = lab.api(f"runs/{run_id}")
    assert run["notebook"] == notebook and run["status"] == "succeeded", run
    page.locator(tid("kf-panel")).screenshot(path=screenshot_path("new-notebook-run.png"))

    # The executed notebook of a step opens as a record: no kernel starts for it.
    kernels_before = {s["kernel"]["id"] for s in lab.sessions()}
    row.locator(f'{tid("kf-run-step")}[data-step="total"] {tid("kf-step-open-notebook")}').click()
    current = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    expect(current).to_have_text("total.ipynb", timeout=UI_TIMEOUT_MS)
    output = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output", has_text="285")
    expect(output).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(page.locator(tid("kf-step-notebook"))).to_have_attribute("data-step", "total")
    # Lab asks for a notebook's kernel as it opens it: none may come for the record, over a while.
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        sessions = lab.sessions()
        assert not [s for s in sessions if s["path"].endswith("steps/total.ipynb")], sessions
        assert {s["kernel"]["id"] for s in sessions} == kernels_before, sessions
        time.sleep(0.3)
    expect(page.locator(".jp-NotebookPanel:visible .jp-KernelName")).to_have_text("No Kernel")

    assert page.evaluate("window.__kfNoReload === true"), "the page was reloaded"
