"""What a user does in JupyterLab with the jupyter-kf panel, as small page helpers.

Selectors are the panel's test hooks (labextension/README.md). Every wait is bounded and waits for
a condition, never for a fixed time. Usable by any test holding a `LabServer` and a Playwright page
(also the Binder test, which runs the same flow against another environment).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import nbformat
from playwright.sync_api import Locator, Page, expect

from .lab_server import LabServer

T = TypeVar("T")
RUN_TIMEOUT_MS = 60_000  # a whole local run of a small pipeline, on 2 busy cores
UI_TIMEOUT_MS = 20_000  # one compile / one UI reaction under load
FINISHED = ("succeeded", "failed", "cancelled")


def tid(name: str) -> str:
    return f'[data-testid="{name}"]'


def open_notebook(page: Page, lab: LabServer, notebook: str) -> None:
    """Load JupyterLab (fresh workspace) with `notebook` open and its cells rendered."""
    page.goto(lab.lab_url(notebook))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)


def open_panel(page: Page) -> Locator:
    """Show the jupyter-kf side panel and wait for its first compile of the current notebook."""
    page.click('li[data-id="jupyter-kf-panel"]')
    panel = page.locator(tid("kf-panel"))
    expect(panel).to_be_visible(timeout=UI_TIMEOUT_MS)
    wait_compiled(page)
    return panel


def wait_compiled(page: Page, timeout: int = UI_TIMEOUT_MS) -> None:
    expect(page.locator(tid("kf-compile-state"))).to_have_text(re.compile("up to date"), timeout=timeout)


def cells(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell")


def select_cell(page: Page, index: int) -> None:
    """Click a cell's input prompt (command mode) and wait until the cell editor shows it."""
    cells(page).nth(index).locator(".jp-InputPrompt").click()
    expect(page.locator(tid("kf-cell-editor"))).to_have_attribute(
        "data-cell-index", str(index), timeout=UI_TIMEOUT_MS
    )


def active_cell_index(page: Page) -> int:
    """Index of the notebook's active cell, read from the DOM (-1 when none)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')]
                 .findIndex(c => c.classList.contains('jp-mod-active'))"""
    )


def cell_tags(page: Page) -> list[str]:
    """The tags the cell editor shows for the active cell."""
    return page.locator(f"{tid('kf-cell-tags')} code").all_inner_texts()


def expect_tag(page: Page, tag: str) -> None:
    expect(
        page.locator(f"{tid('kf-cell-tags')} code", has_text=re.compile(f"^{re.escape(tag)}$"))
    ).to_have_count(1, timeout=UI_TIMEOUT_MS)


def tag_step(page: Page, index: int, name: str, prev: tuple[str, ...] = ()) -> None:
    """Make cell `index` a step called `name` through the cell editor, ticking `prev` steps."""
    select_cell(page, index)
    page.select_option(tid("kf-cell-kind"), "step")
    field = page.locator(tid("kf-step-name"))
    field.fill(name)
    field.press("Enter")
    expect_tag(page, f"step:{name}")
    for upstream in prev:
        page.locator(tid(f"kf-prev-{upstream}")).check()
        expect_tag(page, f"prev:{upstream}")


def save_notebook(page: Page) -> None:
    """Ctrl+S with the notebook focused (command mode)."""
    page.locator(".jp-NotebookPanel:visible .jp-Notebook").focus()
    page.keyboard.press("Control+s")


def graph_nodes(page: Page) -> dict[str, str]:
    """step -> status ('' before any run) of every node drawn."""
    return page.eval_on_selector_all(
        tid("kf-graph-node"), "ns => Object.fromEntries(ns.map(n => [n.dataset.step, n.dataset.status]))"
    )


def graph_edges(page: Page) -> set[tuple[str, str, str]]:
    """(source, target, kind) of every edge drawn."""
    return {
        tuple(e)
        for e in page.eval_on_selector_all(
            tid("kf-graph-edge"), "es => es.map(e => [e.dataset.source, e.dataset.target, e.dataset.kind])"
        )
    }


def start_run(page: Page, cache: bool | None = None) -> str:
    """Press Run in the panel; the new run's id, from the POST answer (the list holds older runs too)."""
    if cache is not None:
        page.locator(tid("kf-run-cache")).set_checked(cache)
    with page.expect_response(
        lambda r: r.request.method == "POST" and re.search(r"jupyter-kf/api/runs(\?|$)", r.url) is not None,
        timeout=UI_TIMEOUT_MS,
    ) as answer:
        page.click(tid("kf-run-button"))
    resp = answer.value
    assert resp.status in (200, 201, 202), f"POST runs answered {resp.status}: {resp.text()}"
    return resp.json()["id"]


def run_row(page: Page, run_id: str) -> Locator:
    return page.locator(f'{tid("kf-run")}[data-run-id="{run_id}"]')


def wait_run_status(page: Page, run_id: str, statuses: tuple[str, ...], timeout: int = RUN_TIMEOUT_MS) -> str:
    """Wait until the run's row shows one of `statuses`; return it."""
    row = run_row(page, run_id)
    pattern = re.compile("^(" + "|".join(map(re.escape, statuses)) + ")$")
    expect(row).to_have_attribute("data-status", pattern, timeout=timeout)
    return row.get_attribute("data-status") or ""


def poll(
    fetch: Callable[[], T], ok: Callable[[T], bool], timeout: float, what: str, interval: float = 0.2
) -> T:
    """Call `fetch` until `ok(value)`, for at most `timeout` s; fail with the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ok(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s; last value: {value!r}")
        time.sleep(interval)


def tags_on_disk(path: Path) -> list[list[str]]:
    """The tags of every cell of the notebook file, as saved."""
    nb = nbformat.read(path, as_version=4)
    return [list(c.metadata.get("tags", [])) for c in nb.cells]


def widen_left_panel(page: Page, width: int) -> None:
    """Drag the handle between the left side bar's panel and the main area to make it `width` px."""
    panel = page.locator("#jp-left-stack").bounding_box()
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    assert panel and box, "left panel or split handle not found"
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(panel["x"] + width, y, steps=5)
    page.mouse.up()
