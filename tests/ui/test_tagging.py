"""Tag cells as steps through the panel's cell editor; the tags land in the saved notebook."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from .lab_browser import screenshot_path
from .lab_server import LabServer
from .notebooks import write_notebook
from .panel import (
    UI_TIMEOUT_MS,
    cells,
    graph_edges,
    graph_nodes,
    open_notebook,
    open_panel,
    poll,
    save_notebook,
    tag_step,
    tags_on_disk,
    tid,
    wait_compiled,
)


def test_tag_three_cells_as_steps_and_save(page: Page, lab: LabServer, lab_root: Path) -> None:
    path = lab_root / "tagging.ipynb"
    write_notebook(
        path,
        [
            "import math",
            "numbers = list(range(10))",
            "squares = [n * n for n in numbers]",
            "total = math.fsum(squares)\nprint(total)",
        ],
    )
    assert tags_on_disk(path) == [[], [], [], []]

    open_notebook(page, lab, path.name)
    open_panel(page)
    tag_step(page, 1, "load")
    tag_step(page, 2, "square")
    tag_step(page, 3, "total", prev=("load",))

    # The cells show their step, the editor the active cell's tags.
    expect(cells(page).nth(3)).to_have_attribute("data-kf-step", "total")
    expect(cells(page).nth(1)).to_have_attribute("data-kf-step", "load")
    expect(page.locator(f"{tid('kf-step-item')}")).to_have_count(3, timeout=UI_TIMEOUT_MS)
    wait_compiled(page)
    page.locator(tid("kf-section-cell")).screenshot(path=screenshot_path("cell-editor.png"))
    page.screenshot(path=screenshot_path("lab-cell-editor.png"))

    save_notebook(page)
    tags = poll(
        lambda: tags_on_disk(path),
        lambda t: t[1:] != [[], [], []] and "prev:load" in t[3],
        timeout=15,
        what="tags saved to tagging.ipynb",
    )
    assert tags[0] == []
    assert tags[1] == ["step:load"]
    assert tags[2] == ["step:square"]
    assert sorted(tags[3]) == ["prev:load", "step:total"]

    # The graph follows: three nodes, data edges inferred, the prev: ticked in the UI explicit.
    assert set(graph_nodes(page)) == {"load", "square", "total"}
    edges = graph_edges(page)
    assert ("load", "square", "inferred") in edges
    assert ("square", "total", "inferred") in edges
    assert ("load", "total", "explicit") in edges
