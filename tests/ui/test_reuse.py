"""A run's step in the panel: "Load into kernel" puts the values it saw into the notebook's kernel;
"Run from here" reruns it and what follows, with the steps upstream taken from that run; a run:
"Compare with the previous run" shows the diff of the two."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .lab_server import LabServer
from .notebooks import write_notebook
from .panel import FINISHED, RUN_TIMEOUT_MS, UI_TIMEOUT_MS, open_notebook, open_panel, run_row, start_run, tid, wait_run_status


def step_menu(page: Page, run_id: str, step: str, item: str) -> None:
    row = run_row(page, run_id).locator(f'{tid("kf-run-step")}[data-step="{step}"]')
    entry = page.locator(".lm-Menu-item", has_text=item)
    for _ in range(50):  # enabled once the notebook's kernel is up
        row.click(button="right")
        expect(entry).to_be_visible(timeout=UI_TIMEOUT_MS)
        if "lm-mod-disabled" not in (entry.get_attribute("class") or ""):
            entry.click()
            return
        page.keyboard.press("Escape")
        page.wait_for_timeout(200)
    raise AssertionError(f"{item!r} stayed disabled on step {step} of run {run_id}")


def test_load_into_kernel_and_run_from_here(page: Page, lab: LabServer) -> None:
    (lab.root / "reuse").mkdir(exist_ok=True)
    write_notebook(
        lab.root / "reuse" / "chain.ipynb",
        [("base = 2", ["step:a"]), ("doubled = base * 2", ["step:b"]), ("total = doubled + 1", ["step:c"])],
    )
    open_notebook(page, lab, "reuse/chain.ipynb")
    open_panel(page)
    run_id = start_run(page, cache=False)
    assert wait_run_status(page, run_id, FINISHED) == "succeeded"
    expect(run_row(page, run_id).locator(tid("kf-run-detail"))).to_be_visible()

    step_menu(page, run_id, "c", "Load into kernel")
    toast = page.locator(".Toastify__toast", has_text=f"Loaded from c of {run_id}")
    expect(toast).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(toast).to_contain_text(re.compile(r"doubled\s+int"))

    with page.expect_response(
        lambda r: r.request.method == "POST" and re.search(r"jupyter-kf/api/runs(\?|$)", r.url) is not None,
        timeout=UI_TIMEOUT_MS,
    ) as answer:
        step_menu(page, run_id, "b", "Run from here")
    new = answer.value.json()
    assert answer.value.status == 202 and new["from_step"] == "b" and new["inputs_from"] == run_id, new
    assert wait_run_status(page, new["id"], FINISHED, timeout=RUN_TIMEOUT_MS) == "succeeded"
    _, run = lab.api(f"runs/{new['id']}")
    assert {s["name"]: s["status"] for s in run["steps"]} == {"a": "cached", "b": "succeeded", "c": "succeeded"}

    summary = run_row(page, new["id"]).locator(".jp-kf-run-summary")
    summary.click(button="right")
    page.locator(".lm-Menu-item", has_text="Compare with the previous run").click()
    diff = page.locator(tid("kf-run-diff"))
    expect(diff).to_contain_text(f"--- {run_id}", timeout=UI_TIMEOUT_MS)
    expect(diff).to_contain_text(f"+++ {new['id']}")
    expect(diff).to_contain_text("metrics: same")
