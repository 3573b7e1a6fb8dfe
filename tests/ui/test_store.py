"""The panel's Store section: the store's size, and pruning old runs after a dry run."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from .lab_server import LabServer
from .notebooks import write_notebook
from .panel import UI_TIMEOUT_MS, open_notebook, open_panel, tid


def test_store_size_and_prune_from_the_panel(page: Page, lab: LabServer, lab_root: Path) -> None:
    folder = lab_root / "store"
    folder.mkdir()
    write_notebook(folder / "tiny.ipynb", [("x = 1", ["step:one"]), ("y = x + 1", ["step:two"])])
    (folder / "data.bin").write_bytes(b"d" * 300_000)
    ids = []
    for _ in range(7):  # the panel keeps the newest 5: two to prune
        status, run = lab.api("runs", {"notebook": "store/tiny.ipynb", "cache": False})
        assert status in (200, 201, 202), run
        ids.append(run["id"])
        deadline = time.monotonic() + 120
        while lab.api(f"runs/{run['id']}")[1]["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    open_notebook(page, lab, "store/tiny.ipynb")
    open_panel(page)
    section = page.locator(tid("kf-section-store"))
    section.locator(".jp-kf-section-toggle").click()
    size = page.locator(tid("kf-store-size"))
    expect(size).to_have_text(re.compile(r"7 run\(s\)"), timeout=UI_TIMEOUT_MS)
    page.locator(tid("kf-store-prune")).click()
    expect(page.locator(tid("kf-store-plan"))).to_contain_text("prune 2 run(s)", timeout=UI_TIMEOUT_MS)
    assert lab.api(f"runs/{ids[0]}")[0] == 200  # the dry run removed nothing
    page.locator(tid("kf-store-prune-confirm")).click()
    expect(page.locator(tid("kf-store-message"))).to_contain_text("removed 2 run(s)", timeout=UI_TIMEOUT_MS)
    expect(size).to_have_text(re.compile(r"5 run\(s\)"), timeout=UI_TIMEOUT_MS)
    assert lab.api(f"runs/{ids[0]}")[0] == 404 and lab.api(f"runs/{ids[-1]}")[0] == 200
