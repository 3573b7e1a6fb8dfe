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
    # inferred (data) edges dashed, explicit prev: edges solid: the panel's convention
    assert '"load" -> "left" [label="raw", style=dashed];' in dot
    assert '"right" -> "side";' in dot
    assert '"left" -> "join" [label="left"];' in dot


def test_svg_is_well_formed_with_a_box_per_step_and_a_path_per_edge(compile_cells):
    p = compile_cells(DIAMOND)
    root = ET.fromstring(to_svg(p))
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(root.findall(".//s:rect", ns)) == len(p.steps)
    paths = root.findall(".//s:path[@class]", ns)
    assert len(paths) == len(p.edges)
    dashed = {(e.attrib["data-source"], e.attrib["data-target"]) for e in paths if "stroke-dasharray" in e.attrib}
    assert dashed == {(e.source, e.target) for e in p.edges if e.kind == "inferred"}
    assert any(e.kind == "explicit" for e in p.edges) and dashed
    labels = {t.text for t in root.findall(".//s:text", ns)}
    assert {"load", "left", "right", "join", "side", "raw"} <= labels


def test_svg_escapes_text(compile_cells):
    # Compiled names are already Kubernetes-safe, so set markup characters on the IR directly:
    # the SVG must still parse and give back the exact text.
    p = compile_cells([("x = 1", ["step:a"]), ("y = x", ["step:b"])])
    p.name = 'a&b<c>"d'
    p.steps[0].name = p.edges[0].source = "<a>"
    p.steps[1].depends_on = ["<a>"]
    p.edges[0].names = ["x&y"]
    root = ET.fromstring(to_svg(p))
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.find("s:title", ns).text == 'a&b<c>"d'
    texts = {t.text for t in root.findall(".//s:text", ns)}
    assert {"<a>", "x&y"} <= texts
    (edge,) = root.findall(".//s:path[@class]", ns)
    assert edge.attrib["data-source"] == "<a>"


def test_graph_json_for_the_ui(compile_cells):
    p = compile_cells(DIAMOND + [("print(nope)", ["step:broken"])])
    g = graph_json(p)
    assert g["valid"] is False and g["layers"] == 3
    nodes = {n["id"]: n for n in g["nodes"]}
    assert (nodes["right"]["layer"], nodes["right"]["order"]) == (1, 1)
    assert nodes["load"]["first_cell"] == 1 and nodes["load"]["outputs"] == ["raw"]
    assert nodes["broken"]["errors"] == 1 and nodes["load"]["errors"] == 0
    edges = {(e["source"], e["target"]): e for e in g["edges"]}
    assert edges[("load", "left")] == {
        "source": "load", "target": "left", "kind": "inferred", "names": ["raw"], "waypoints": []
    }
    assert edges[("right", "side")]["kind"] == "explicit" and edges[("right", "side")]["names"] == []


# load -> square -> total from data, and load -> total only by prev: (it skips square's layer).
SKIP_LAYER = [
    ("numbers = list(range(10))", ["step:load"]),
    ("squares = [n * n for n in numbers]", ["step:square"]),
    ("total = sum(squares)", ["step:total", "prev:load"]),
]
# A wider case: two edges skip two layers each, past a layer of two steps.
SKIP_TWO = [
    ("a = 1", ["step:top"]),
    ("b = a + 1", ["step:mid-one-with-a-long-name"]),
    ("c = a + 2", ["step:mid-two"]),
    ("d = b + c", ["step:low"]),
    ("e = d + 1", ["step:bottom", "prev:top"]),
    ("f = a", ["step:last", "prev:top", "prev:bottom"]),
]


def _path_points(d: str, samples: int = 40) -> list[tuple[float, float]]:
    """Points along an SVG path made of M, C and L commands (absolute coordinates)."""
    tokens = d.replace(",", " ").replace("M", " M ").replace("C", " C ").replace("L", " L ").split()
    points: list[tuple[float, float]] = []
    cur = (0.0, 0.0)
    i = 0
    while i < len(tokens):
        cmd = tokens[i]
        i += 1
        if cmd == "M":
            cur = (float(tokens[i]), float(tokens[i + 1]))
            i += 2
            points.append(cur)
        elif cmd == "L":
            nxt = (float(tokens[i]), float(tokens[i + 1]))
            i += 2
            points += [(cur[0] + (nxt[0] - cur[0]) * t / samples, cur[1] + (nxt[1] - cur[1]) * t / samples)
                       for t in range(1, samples + 1)]
            cur = nxt
        elif cmd == "C":
            c1, c2, end = ((float(tokens[i + k]), float(tokens[i + k + 1])) for k in (0, 2, 4))
            i += 6
            for n in range(1, samples + 1):
                t = n / samples
                a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t ** 3
                points.append((a * cur[0] + b * c1[0] + c * c2[0] + e * end[0],
                               a * cur[1] + b * c1[1] + c * c2[1] + e * end[1]))
            cur = end
        else:
            raise AssertionError(f"unexpected path command {cmd!r} in {d!r}")
    return points


def _edges_through_boxes(svg: str) -> list[str]:
    """'src->dst through step' for every edge drawn across a box other than its own ends."""
    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg)
    boxes = {}
    for g in root.findall(".//s:g[@class='step']", ns):
        r = g.find("s:rect", ns)
        boxes[g.find("s:text", ns).text] = tuple(float(r.attrib[k]) for k in ("x", "y", "width", "height"))
    hidden = []
    for path in root.findall(".//s:path[@class]", ns):
        src, dst = path.attrib["data-source"], path.attrib["data-target"]
        for step, (x, y, w, h) in boxes.items():
            if step in (src, dst):
                continue
            if any(x + 2 < px < x + w - 2 and y + 2 < py < y + h - 2 for px, py in _path_points(path.attrib["d"])):
                hidden.append(f"{src}->{dst} through {step}")
    return hidden


def test_svg_routes_edges_that_skip_layers_around_the_steps_between(compile_cells):
    for cells in (SKIP_LAYER, SKIP_TWO):
        p = compile_cells(cells)
        assert p.valid, p.problems
        svg = to_svg(p)
        assert len(ET.fromstring(svg).findall(".//{http://www.w3.org/2000/svg}path[@class]")) == len(p.edges)
        assert _edges_through_boxes(svg) == []


def test_graph_json_gives_waypoints_to_edges_that_skip_layers(compile_cells):
    g = graph_json(compile_cells(SKIP_LAYER))
    nodes = {n["id"]: (n["layer"], n["order"]) for n in g["nodes"]}
    assert nodes == {"load": (0, 0), "square": (1, 0), "total": (2, 0)}  # unchanged by the lanes
    edges = {(e["source"], e["target"]): e for e in g["edges"]}
    # One lane in square's layer, after its steps (order 1 = the slot after square).
    assert edges[("load", "total")]["waypoints"] == [{"layer": 1, "order": 1}]
    assert edges[("load", "square")]["waypoints"] == [] and edges[("square", "total")]["waypoints"] == []

    g = graph_json(compile_cells(SKIP_TWO))
    edges = {(e["source"], e["target"]): e["waypoints"] for e in g["edges"]}
    # top->bottom ends first, so it takes the lanes next to the steps; top->last goes outside it.
    assert edges[("top", "bottom")] == [{"layer": 1, "order": 2}, {"layer": 2, "order": 1}]
    assert edges[("top", "last")] == [{"layer": 1, "order": 3}, {"layer": 2, "order": 2}, {"layer": 3, "order": 1}]
