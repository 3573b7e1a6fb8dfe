"""Start a sweep in the panel: the form prefilled from the parameters cell, the live comparison
table (sortable, the best trial highlighted) and the plots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .lab_server import LabServer
from .notebooks import write_notebook
from .panel import RUN_TIMEOUT_MS, UI_TIMEOUT_MS, open_notebook, open_panel, tid

CELLS = [
    ("n = 1\nmodel = 'a'", ["pipeline-parameters"]),
    ("base = 10", ["step:load"]),
    ("score = base + n * (2 if model == 'b' else 1)", ["step:train"]),
    ("score", ["pipeline-metrics"]),
]


@pytest.mark.console_errors(r"status of 422 .*jupyter-kf/api/sweeps")  # the refused bad request, on purpose
def test_sweep_form_live_table_and_plot(page: Page, lab: LabServer, lab_root: Path) -> None:
    write_notebook(lab_root / "sw" / "toy.ipynb", CELLS)
    open_notebook(page, lab, "sw/toy.ipynb")
    open_panel(page)
    page.click(f'{tid("kf-section-sweeps")} .jp-kf-section-toggle')
    form = page.locator(tid("kf-sweep-form"))
    expect(form).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(form).to_contain_text("n (int, now 1)", timeout=UI_TIMEOUT_MS)  # prefilled from the cell
    expect(form.locator(tid("kf-sweep-objective"))).to_have_value("score")

    # A range for a string parameter is refused by the server, shown in the form.
    form.locator(tid("kf-sweep-spec-model")).fill("1:3")
    form.locator(tid("kf-sweep-start")).click()
    expect(page.locator(tid("kf-sweep-error"))).to_contain_text("a range needs an int or float", timeout=UI_TIMEOUT_MS)

    form.locator(tid("kf-sweep-spec-model")).fill("a,b")
    form.locator(tid("kf-sweep-spec-n")).fill("1:3")
    form.locator(tid("kf-sweep-algorithm")).select_option("grid")
    form.locator(tid("kf-sweep-parallel")).fill("2")
    form.locator(tid("kf-sweep-start")).click()
    progress = page.locator(tid("kf-sweep-progress"))
    expect(progress).to_contain_text(re.compile(r"[0-6]/6 trials done"), timeout=UI_TIMEOUT_MS)
    expect(progress).to_contain_text("6/6 trials done; best score: 16", timeout=RUN_TIMEOUT_MS)
    table = page.locator(tid("kf-sweep-table"))
    expect(table.locator("tbody tr")).to_have_count(6)
    best = table.locator("tr.jp-kf-best")
    expect(best).to_have_count(1)
    expect(best).to_contain_text("16")
    # Sorting by the objective (best first for a max objective) puts the best trial on top.
    page.click(tid("kf-sweep-sort-objective"))
    expect(table.locator("tbody tr").first).to_have_class(re.compile("jp-kf-best"))
    expect(page.locator(f'{tid("kf-sweep-plot-trials")} circle')).to_have_count(6)
    expect(page.locator(f'{tid("kf-sweep-plot-param-chart")} circle')).to_have_count(6)
