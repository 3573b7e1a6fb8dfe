"""Graph renderings: text, DOT, SVG and the UI's JSON."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from core_helpers import compile_cells_fixture  # noqa: F401 (fixture)
from jupyter_kf_converter.graph import graph_json, layout, to_dot, to_svg, to_text

DIAMOND = [
    ("import os", ["imports"]),
    ("raw = [1, 2, 3]", ["step:load"]),
    ("left = [r * 2 for r in raw]", ["step:left"]),
    ("right = sum(raw)\nsep = os.sep", ["step:right", "prev:load"]),
    ("done = (left, right)", ["step:join", "prev:left"]),
    ("open('flag', 'w').close()", ["step:side", "prev:right"]),
]


def test_layout_layers_and_order(compile_cells):
    p = compile_cells(DIAMOND)
    assert p.valid, p.problems
    assert layout(p) == {"load": (0, 0), "left": (1, 0), "right": (1, 1), "join": (2, 0), "side": (2, 1)}


def test_text_graph_shows_dependencies_kinds_and_names(compile_cells):
    text = to_text(compile_cells(DIAMOND))
    lines = text.splitlines()
    assert lines[0] == "pipeline pipeline: 5 steps, 5 edges"
    join = lines.index(next(line for line in lines if ". join" in line))
    below = lines[join + 1: join + 3]
    assert any("<- left" in line and "explicit" in line and "left" in line.split("explicit")[1] for line in below)
    assert any("<- right" in line and "inferred" in line and "right" in line.split("inferred")[1] for line in below)
    side = next(line for line in lines if "<- right" in line and "explicit" in line)
    assert side.rstrip().endswith("explicit")  # a prev: edge without data


def test_dot(compile_cells):
    dot = to_dot(compile_cells(DIAMOND))
    assert dot.startswith('digraph "pipeline" {')
    assert '"load" -> "left" [label="raw"];' in dot
    assert '"right" -> "side" [style=dashed];' in dot
    assert '"left" -> "join" [label="left", style=dashed];' in dot


def test_svg_is_well_formed_with_a_box_per_step_and_a_path_per_edge(compile_cells):
    p = compile_cells(DIAMOND)
    root = ET.fromstring(to_svg(p))
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(root.findall(".//s:rect", ns)) == len(p.steps)
    paths = root.findall(".//s:path[@class]", ns)
    assert len(paths) == len(p.edges)
    assert sum("stroke-dasharray" in e.attrib for e in paths) == 3
    labels = {t.text for t in root.findall(".//s:text", ns)}
    assert {"load", "left", "right", "join", "side", "raw"} <= labels


def test_svg_escapes_text(compile_cells):
    p = compile_cells([("x = 1", ["step:a"])], name="a&b<c>.ipynb")
    ET.fromstring(to_svg(p))  # parses


def test_graph_json_for_the_ui(compile_cells):
    p = compile_cells(DIAMOND + [("print(nope)", ["step:broken"])])
    g = graph_json(p)
    assert g["valid"] is False and g["layers"] == 3
    nodes = {n["id"]: n for n in g["nodes"]}
    assert (nodes["right"]["layer"], nodes["right"]["order"]) == (1, 1)
    assert nodes["load"]["first_cell"] == 1 and nodes["load"]["outputs"] == ["raw"]
    assert nodes["broken"]["errors"] == 1 and nodes["load"]["errors"] == 0
    edges = {(e["source"], e["target"]): e for e in g["edges"]}
    assert edges[("load", "left")] == {"source": "load", "target": "left", "kind": "inferred", "names": ["raw"]}
    assert edges[("right", "side")]["kind"] == "explicit" and edges[("right", "side")]["names"] == []
