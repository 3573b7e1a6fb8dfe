"""The example notebooks open as saved: not marked modified once JupyterLab and the kernel fill in
what they fill in (kernelspec, language_info). Only `language_info.version` follows the Python that
runs the kernel: the copy gets this one's, as a notebook saved with it would have."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest
from kf_testing import committed_file
from playwright.sync_api import Page, expect

from .lab_browser import REPO
from .lab_server import LabServer
from .panel import open_notebook

EXAMPLES = sorted(p.name for p in (REPO / "examples").glob("*.ipynb"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_example_opens_unmodified(page: Page, lab: LabServer, lab_root: Path, name: str) -> None:
    (lab_root / "examples").mkdir(exist_ok=True)
    nb = json.loads(committed_file(f"examples/{name}"))
    assert set(nb["metadata"]["language_info"]) >= {"codemirror_mode", "mimetype", "pygments_lexer", "version"}
    nb["metadata"]["language_info"]["version"] = platform.python_version()
    (lab_root / "examples" / name).write_text(json.dumps(nb, indent=1))  # a copy: never the user's tree
    open_notebook(page, lab, f"examples/{name}")
    # The kernel has started and answered kernel_info (language_info comes from it).
    expect(page.locator(".jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle", timeout=60_000
    )
    page.wait_for_timeout(500)  # let a metadata change reach the tab's dirty mark
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), tab.get_attribute("class")
