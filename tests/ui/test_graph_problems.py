"""The pipeline graph (nodes, inferred and explicit edges) and the Problems list with its jump to the cell."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from .lab_browser import screenshot_path
from .lab_server import LabServer
from .notebooks import write_notebook
from .panel import (
    UI_TIMEOUT_MS,
    active_cell_index,
    graph_edges,
    graph_nodes,
    open_notebook,
    open_panel,
    select_cell,
    tid,
)

# Cell index -> is the cell inside the visible part of the notebook's scroller?
CELL_IN_VIEW = """i => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const cell = panel.querySelectorAll('.jp-Notebook .jp-Cell')[i];
  if (!cell) return false;
  const view = panel.querySelector('.jp-WindowedPanel-outer') || panel.querySelector('.jp-Notebook');
  const a = cell.getBoundingClientRect(), b = view.getBoundingClientRect();
  return a.bottom > b.top + 5 && a.top < b.bottom - 5;
}"""

# Edges that run through a node other than their own ends (hidden under it), as "src->dst through node".
EDGES_THROUGH_NODES = """() => {
  const svg = document.querySelector('[data-testid="kf-graph"]');
  const boxes = [...svg.querySelectorAll('[data-testid="kf-graph-node"]')].map(g => {
    const r = g.querySelector('rect').getBBox(), m = g.transform.baseVal.consolidate().matrix;
    return {step: g.dataset.step, x: m.e + r.x, y: m.f + r.y, w: r.width, h: r.height};
  });
  const hidden = [];
  for (const e of svg.querySelectorAll('[data-testid="kf-graph-edge"]')) {
    const len = e.getTotalLength();
    for (const b of boxes) {
      if (b.step === e.dataset.source || b.step === e.dataset.target) continue;
      for (let i = 1; i < 40; i++) {
        const p = e.getPointAtLength(len * i / 40);
        if (p.x > b.x + 2 && p.x < b.x + b.w - 2 && p.y > b.y + 2 && p.y < b.y + b.h - 2) {
          hidden.push(`${e.dataset.source}->${e.dataset.target} through ${b.step}`);
          break;
        }
      }
    }
  }
  return hidden;
}"""


def write_graph_notebook(path: Path) -> None:
    """load -> square -> total inferred from data; load -> total only by an explicit prev:."""
    write_notebook(
        path,
        [
            ("import math", ["imports"]),
            ("numbers = list(range(10))", ["step:load"]),
            ("squares = [n * n for n in numbers]", ["step:square"]),
            ("total = math.fsum(squares)", ["step:total", "prev:load"]),
            "print(total)",
        ],
    )


def test_graph_draws_steps_with_inferred_and_explicit_edges(
    page: Page, lab: LabServer, lab_root: Path
) -> None:
    write_graph_notebook(lab_root / "graph.ipynb")
    open_notebook(page, lab, "graph.ipynb")
    open_panel(page)

    graph = page.locator(tid("kf-graph"))
    expect(graph).to_be_visible()
    assert graph_nodes(page) == {"load": "", "square": "", "total": ""}
    assert graph_edges(page) == {
        ("load", "square", "inferred"),
        ("square", "total", "inferred"),
        ("load", "total", "explicit"),
    }
    # Told apart on screen: inferred edges dashed, explicit ones solid.
    dash = "e => getComputedStyle(e).strokeDasharray"
    edge = tid("kf-graph-edge")
    assert page.eval_on_selector(f'{edge}[data-kind="explicit"]', dash) in ("none", "")
    assert page.eval_on_selector(f'{edge}[data-kind="inferred"]', dash) not in ("none", "")
    expect(page.locator(tid("kf-graph-legend"))).to_contain_text("inferred")
    page.locator(tid("kf-section-graph")).screenshot(path=screenshot_path("graph.png"))

    # Clicking a node selects the step's first cell.
    select_cell(page, 0)
    page.locator(f'{tid("kf-graph-node")}[data-step="total"]').click()
    expect(page.locator(tid("kf-cell-editor"))).to_have_attribute(
        "data-cell-index", "3", timeout=UI_TIMEOUT_MS
    )
    assert active_cell_index(page) == 3


def test_graph_edges_do_not_run_under_other_nodes(page: Page, lab: LabServer, lab_root: Path) -> None:
    write_graph_notebook(lab_root / "graph-geometry.ipynb")
    open_notebook(page, lab, "graph-geometry.ipynb")
    open_panel(page)
    expect(page.locator(tid("kf-graph-edge"))).to_have_count(3)
    assert page.evaluate(EDGES_THROUGH_NODES) == []


def test_problem_click_selects_and_scrolls_to_its_cell(page: Page, lab: LabServer, lab_root: Path) -> None:
    filler = "md:## Notes\n\n" + "\n\n".join(f"Paragraph {i} of a long explanation." for i in range(60))
    write_notebook(
        lab_root / "problem.ipynb",
        [
            ("a = 1", ["step:first"]),
            ("b = a + 1", ["step:second"]),
            filler,
            ("c = b + undefined_thing", ["step:third"]),
        ],
    )
    open_notebook(page, lab, "problem.ipynb")
    open_panel(page)

    problem = page.locator(f'{tid("kf-problem")}[data-code="undefined-name"]')
    expect(problem).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(problem).to_have_attribute("data-cell", "3")
    expect(problem).to_contain_text("undefined_thing")
    expect(page.locator(tid("kf-run-button"))).to_be_disabled()

    select_cell(page, 0)
    assert not page.evaluate(CELL_IN_VIEW, 3), "the problem's cell should start out of view"
    problem.locator("button").click()
    expect(page.locator(tid("kf-cell-editor"))).to_have_attribute(
        "data-cell-index", "3", timeout=UI_TIMEOUT_MS
    )
    assert active_cell_index(page) == 3
    page.wait_for_function(CELL_IN_VIEW, arg=3, timeout=UI_TIMEOUT_MS)
    page.screenshot(path=screenshot_path("problem.png"))
