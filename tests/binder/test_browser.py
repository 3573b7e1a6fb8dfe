"""A Binder user's first minute, in Chromium: JupyterLab (from the Binder environment) opens on the
demo notebook, and running it from the panel ends with every step succeeded."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from ui.flows import WINE_STEPS, run_to_success
from ui.lab_server import LabServer
from ui.panel import UI_TIMEOUT_MS

from .conftest import DEMO


def test_binder_opens_the_demo_and_runs_it_from_the_panel(page: Page, binder_lab: LabServer) -> None:
    # A Binder launch lands on the server's base URL: the demo config's default_url takes it from
    # there to the demo notebook, open in JupyterLab.
    page.goto(f"{binder_lab.url}/?token={binder_lab.token}")
    expect(page).to_have_url(re.compile(f"/lab/tree/{re.escape(DEMO)}"), timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=60_000)
    current = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    expect(current).to_have_text("wine-pipeline.ipynb", timeout=UI_TIMEOUT_MS)

    run_to_success(page, binder_lab, DEMO, WINE_STEPS, metric="best_accuracy")
