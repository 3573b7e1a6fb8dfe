"""The panel at JupyterLab's default side bar width: the graph fits (3-wide and 8-wide fan-outs, 30
steps), form controls are JupyterLab's, links show only where there is something to open, and the
Run button says why it is disabled."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .lab_browser import screenshot_path
from .lab_server import LabServer
from .notebooks import write_notebook
from .panel import (
    FINISHED,
    UI_TIMEOUT_MS,
    open_notebook,
    open_panel,
    run_row,
    start_run,
    tid,
    wait_run_status,
)

# Every node's box and label against the panel's visible box; the label's rendered font size.
GRAPH_BOXES = """() => {
  const panel = document.querySelector('[data-testid="kf-panel"]').getBoundingClientRect();
  const wrap = document.querySelector('.jp-kf-graph-wrap');
  const svg = document.querySelector('[data-testid="kf-graph"]');
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const nodes = [...svg.querySelectorAll('[data-testid="kf-graph-node"]')].map(g => {
    const r = g.querySelector('rect').getBoundingClientRect();
    const t = g.querySelector('text').getBoundingClientRect();
    return {step: g.dataset.step, label: g.querySelector('text').textContent,
            left: r.left, right: r.right, labelLeft: t.left, labelRight: t.right};
  });
  return {panelLeft: panel.left, panelRight: panel.right, panelWidth: panel.width,
          scrolls: wrap.scrollWidth > wrap.clientWidth + 1, fontPx: 12 * scale,
          orientation: svg.dataset.orientation, nodes};
}"""


def fan_out(width: int, names: list[str] | None = None) -> list:
    names = names or [f"train-model-{i}" for i in range(width)]
    cells: list = [("data = list(range(100))", ["step:load"])]
    for i, name in enumerate(names):
        cells.append((f"score_{i} = sum(data) * {i}", [f"step:{name}"]))
    cells.append((f"best = max({', '.join(f'score_{i}' for i in range(width))})", ["step:evaluate"]))
    return cells


def chain(length: int) -> list:
    cells: list = [("v0 = 1", ["step:s00"])]
    cells += [(f"v{i} = v{i - 1} + 1", [f"step:s{i:02d}"]) for i in range(1, length)]
    return cells


GRAPHS = {
    "fan3": fan_out(3, ["train-logreg", "train-forest", "train-n-estimators"]),
    "fan8": fan_out(8),
    "chain30": chain(30),
}


@pytest.mark.parametrize("shape", sorted(GRAPHS))
def test_graph_fits_the_default_width(page: Page, lab: LabServer, lab_root: Path, shape: str) -> None:
    write_notebook(lab_root / "fit" / f"{shape}.ipynb", GRAPHS[shape])
    open_notebook(page, lab, f"fit/{shape}.ipynb")
    open_panel(page)  # JupyterLab's default side bar width: not widened
    steps = [t[0].split(":", 1)[1] for _, t in GRAPHS[shape]]
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=\"kf-graph-node\"]').length === n", arg=len(steps)
    )
    page.locator(tid("kf-section-graph")).evaluate("e => e.scrollIntoView({block: 'start'})")
    page.locator(tid("kf-panel")).screenshot(path=screenshot_path(f"panel-graph-{shape}.png"))
    found = page.evaluate(GRAPH_BOXES)
    print(shape, {k: v for k, v in found.items() if k != "nodes"})
    assert not found["scrolls"], "the graph scrolls sideways"
    assert {n["step"] for n in found["nodes"]} == set(steps)
    for node in found["nodes"]:
        # Inside the panel's visible width, with its whole name, the label inside its box.
        assert found["panelLeft"] <= node["left"] and node["right"] <= found["panelRight"], node
        assert node["label"] == node["step"], node
        assert node["left"] <= node["labelLeft"] and node["labelRight"] <= node["right"], node
    assert found["fontPx"] >= 8, f"labels drawn at {found['fontPx']:.1f} px"


def test_form_controls_links_and_run_tooltip(page: Page, lab: LabServer, lab_root: Path) -> None:
    write_notebook(
        lab_root / "controls" / "fails.ipynb",
        [
            ("n = 3\nn_estimators = 100\nlearning_rate_of_the_first_model = 0.5", ["pipeline-parameters"]),
            ("x = n", ["step:first"]),
            ("raise ValueError('bad ' + str(x))", ["step:broken"]),
            ("y = x + 1", ["step:after", "prev:broken"]),
        ],
    )
    open_notebook(page, lab, "controls/fails.ipynb")
    open_panel(page)

    # Selects are JupyterLab's HTMLSelect: its wrapper and caret, not a bare box.
    for select in ("kf-cell-kind", "kf-backend"):
        wrapper = page.locator(tid(select)).locator("xpath=..")
        expect(wrapper).to_have_class("jp-HTMLSelect jp-DefaultStyle jp-kf-select")
        expect(wrapper.locator("svg")).to_have_count(1)

    # Parameter names are shown whole, however long (a field moves below a long one).
    labels = page.locator('[data-testid="kf-parameters"] label')
    expect(labels).to_have_count(3)
    for label in labels.all():
        cut = label.evaluate("l => l.scrollWidth > l.clientWidth + 1")
        assert not cut, f"parameter label cut: {label.inner_text()}"
        box, panel = label.bounding_box(), page.locator(tid("kf-panel")).bounding_box()
        assert box and panel and box["x"] + box["width"] <= panel["x"] + panel["width"]

    # A wrong-type parameter: the inline message, and Run's tooltip says the same.
    button = page.locator(tid("kf-run-button"))
    expect(button).to_be_enabled(timeout=UI_TIMEOUT_MS)
    page.locator(tid("kf-param-n")).fill("three")
    expect(page.locator('[data-testid="kf-parameters"] [role="alert"]')).to_have_text("n: a whole number")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", "Fix the parameter first: n: a whole number")
    page.locator(tid("kf-param-n")).fill("3")
    expect(button).to_be_enabled()

    run_id = start_run(page, cache=False)
    assert wait_run_status(page, run_id, FINISHED) == "failed"
    row = run_row(page, run_id)
    step = lambda name: row.locator(f'{tid("kf-run-step")}[data-step="{name}"]')  # noqa: E731
    expect(step("after")).to_have_attribute("data-status", "skipped")
    # Links only where there is something to open: nothing for the skipped step.
    expect(step("after").locator(f'{tid("kf-step-log-button")}, {tid("kf-step-open-notebook")}')).to_have_count(0)
    for name in ("first", "broken"):
        expect(step(name).locator(tid("kf-step-log-button"))).to_have_count(1)
        expect(step(name).locator(tid("kf-step-open-notebook"))).to_have_count(1)
    # The log opens under the step clicked.
    step("broken").locator(tid("kf-step-log-button")).click()
    expect(step("broken").locator(tid("kf-step-log-text"))).to_contain_text("bad 3", timeout=UI_TIMEOUT_MS)
    expect(page.locator(tid("kf-step-log"))).to_have_count(1)

    # "Retry failed steps" is a styled button (a filled background), not plain text.
    retry = row.locator(tid("kf-run-retry"))
    expect(retry).to_have_class("jp-mod-styled jp-mod-reject")
    background = retry.evaluate("b => getComputedStyle(b).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    page.locator(tid("kf-panel")).screenshot(path=screenshot_path("panel-failed-run.png"))
