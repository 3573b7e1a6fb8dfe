"""The pipeline as a graph: text for terminals, DOT and SVG for humans, JSON for the UI.

All pure Python (no graphviz). Layout: a step's layer is the length of the longest dependency
chain above it; within a layer steps keep notebook order. An edge that skips layers runs through
a lane in each layer between its ends, placed after that layer's steps, so it is never drawn under
a step. Edges that point backwards in the notebook (an invalid ``prev:`` to a later step) are
drawn but do not shape the layout.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from .ir import Edge, Pipeline


def layout(p: Pipeline) -> dict[str, tuple[int, int]]:
    """step name -> (layer, order within the layer)."""
    pos = {s.name: i for i, s in enumerate(p.steps)}
    layer: dict[str, int] = {}
    for s in p.steps:
        ups = [layer[d] for d in s.depends_on if d in layer and pos.get(d, len(pos)) < pos[s.name]]
        layer[s.name] = max(ups) + 1 if ups else 0
    result: dict[str, tuple[int, int]] = {}
    counts: dict[int, int] = {}
    for s in p.steps:
        n = counts.get(layer[s.name], 0)
        result[s.name] = (layer[s.name], n)
        counts[layer[s.name]] = n + 1
    return result


def _incoming(p: Pipeline) -> dict[str, list[Edge]]:
    inc: dict[str, list[Edge]] = {s.name: [] for s in p.steps}
    for e in p.edges:
        inc.setdefault(e.target, []).append(e)
    return inc


def to_text(p: Pipeline) -> str:
    """Steps in notebook order with their dependencies (explicit/inferred) and the names carried."""
    s_steps, s_edges = "s" * (len(p.steps) != 1), "s" * (len(p.edges) != 1)
    lines = [f"pipeline {p.name}: {len(p.steps)} step{s_steps}, {len(p.edges)} edge{s_edges}"]
    if p.parameters:
        lines.append("  parameters: " + ", ".join(f"{q.name}={q.default!r}" for q in p.parameters))
    inc = _incoming(p)
    width = max((len(s.name) for s in p.steps), default=0)
    for i, s in enumerate(p.steps, 1):
        cells = [c.index + 1 for c in s.cells if c.cell_type == "code"]
        span = f"cell {cells[0]}" if len(cells) == 1 else f"cells {cells[0]}-{cells[-1]}" if cells else "no code"
        lines.append(f"{i:>3}. {s.name:<{width}}  ({span})")
        imports = {x.name for x in s.inputs if x.kind == "import"}
        for e in inc.get(s.name, []):
            names = ", ".join(f"{n} (import)" if n in imports else n for n in e.names)
            lines.append(f"       <- {e.source:<{width}}  {e.kind:<8}  {names}".rstrip())
        if s.parameters:
            lines.append(f"       parameters: {', '.join(s.parameters)}")
        if s.outputs:
            lines.append(f"       outputs: {', '.join(s.outputs)}")
        if s.metrics:
            lines.append(f"       metrics: {', '.join(s.metrics)}")
    return "\n".join(lines) + "\n"


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(p: Pipeline) -> str:
    """Graphviz DOT; inferred (data) edges are dashed as in the panel, labelled with the names carried."""
    out = [f"digraph {_dot_id(p.name)} {{", "  rankdir=TB;", '  node [shape=box, style="rounded"];']
    for s in p.steps:
        out.append(f"  {_dot_id(s.name)};")
    for e in p.edges:
        attrs = [f"label={_dot_id(', '.join(e.names))}"] if e.names else []
        if e.kind == "inferred":
            attrs.append("style=dashed")
        out.append(f"  {_dot_id(e.source)} -> {_dot_id(e.target)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


def lanes(p: Pipeline, lay: dict[str, tuple[int, int]] | None = None) -> list[list[tuple[int, int]]]:
    """Waypoints of each edge of ``p.edges``, as (layer, order) per layer it passes through.

    An edge that skips layers would be drawn straight through the steps in between, so it gets a
    lane (a virtual node, as in layered graph layouts) in every layer between its ends. Lanes come
    after the layer's steps: their ``order`` counts on from the steps' (a layer of 2 steps has lanes
    2, 3, ...). Edges that end sooner take the lanes nearer the steps, so lanes cross less. Edges
    between adjacent layers and backwards edges get no waypoints.
    """
    lay = lay if lay is not None else layout(p)
    steps_in: dict[int, int] = {}
    for layer, _order in lay.values():
        steps_in[layer] = steps_in.get(layer, 0) + 1
    long = [i for i, e in enumerate(p.edges)
            if e.source in lay and e.target in lay and lay[e.target][0] - lay[e.source][0] > 1]
    long.sort(key=lambda i: (lay[p.edges[i].target], lay[p.edges[i].source]))
    result: list[list[tuple[int, int]]] = [[] for _ in p.edges]
    used: dict[int, int] = {}
    for i in long:
        first, last = lay[p.edges[i].source][0], lay[p.edges[i].target][0]
        for layer in range(first + 1, last):
            result[i].append((layer, steps_in.get(layer, 0) + used.get(layer, 0)))
            used[layer] = used.get(layer, 0) + 1
    return result


_NODE_H, _GAP_X, _GAP_Y, _CHAR_W, _PAD, _LANE_W = 36, 40, 70, 7.5, 16, 14


def _vertical_link(x1: float, y1: float, x2: float, y2: float) -> str:
    """A cubic from (x1, y1) down to (x2, y2) leaving and arriving vertically (stays between y1 and y2)."""
    mid = (y1 + y2) / 2
    return f"C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"


def to_svg(p: Pipeline) -> str:
    """A standalone SVG drawing of the layered graph; edges that skip layers run in lanes beside the steps."""
    lay = layout(p)
    ways = lanes(p, lay)
    widths = {s.name: max(80.0, len(s.name) * _CHAR_W + 2 * _PAD) for s in p.steps}
    rows: dict[int, list[float]] = {}  # layer -> widths of its steps (in order), then of its lanes
    for name, (layer, _order) in sorted(lay.items(), key=lambda kv: kv[1]):
        rows.setdefault(layer, []).append(widths[name])
    for way in ways:
        for layer, _order in way:
            rows.setdefault(layer, []).append(_LANE_W)
    row_w = {k: sum(v) + _GAP_X * (len(v) - 1) for k, v in rows.items()}
    total_w = max(row_w.values(), default=200.0) + 2 * _GAP_X
    slots: dict[tuple[int, int], tuple[float, float]] = {}  # (layer, order) -> (x, width)
    for k, items in rows.items():
        x = (total_w - row_w[k]) / 2
        for order, w in enumerate(items):
            slots[(k, order)] = (x, w)
            x += w + _GAP_X

    def top(layer: int) -> float:
        return _GAP_Y / 2 + layer * (_NODE_H + _GAP_Y)

    boxes = {n: (slots[pos][0], top(pos[0]), widths[n]) for n, pos in lay.items()}  # name -> (x, y, w)
    total_h = (max(rows, default=0) + 1) * (_NODE_H + _GAP_Y)
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
         f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="sans-serif" font-size="12">'),
        f"<title>{escape(p.name)}</title>",
        ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
         'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>'),
    ]
    for e, way in zip(p.edges, ways):
        if e.source not in boxes or e.target not in boxes:
            continue
        sx, sy, sw = boxes[e.source]
        tx, ty, tw = boxes[e.target]
        x, y = sx + sw / 2, sy + _NODE_H
        x2, y2 = tx + tw / 2, ty
        if y2 <= y:  # a backwards edge (an invalid prev:): leave from the top, enter from below
            y, y2 = sy, ty + _NODE_H
        d = [f"M{x:.1f},{y:.1f}"]
        label_at = ((x + x2) / 2 + 4, (y + y2) / 2 + 4)
        for layer, order in way:
            lx, lw = slots[(layer, order)]
            lx += lw / 2
            d += [_vertical_link(x, y, lx, top(layer)), f"L{lx:.1f},{top(layer) + _NODE_H:.1f}"]
            x, y = lx, top(layer) + _NODE_H
        if way:
            label_at = (x + 4, y - _NODE_H / 2 + 4)
        d.append(_vertical_link(x, y, x2, y2))
        dash = ' stroke-dasharray="5,4"' if e.kind == "inferred" else ""  # as in the panel
        parts.append(f'<path class="edge {e.kind}" data-source="{escape(e.source)}" '
                     f'data-target="{escape(e.target)}" d="{" ".join(d)}" fill="none" stroke="#555"{dash} '
                     f'marker-end="url(#arrow)"/>')
        if e.names:
            label = ", ".join(e.names)
            label = label if len(label) <= 40 else label[:37] + "..."
            parts.append(f'<text x="{label_at[0]:.1f}" y="{label_at[1]:.1f}" fill="#333" font-size="10">'
                         f"{escape(label)}</text>")
    for s in p.steps:
        x, y, w = boxes[s.name]
        parts.append(f'<g class="step"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{_NODE_H}" rx="6" '
                     f'fill="#eef4fb" stroke="#3b6ea5"/><text x="{x + w / 2:.1f}" y="{y + _NODE_H / 2 + 4:.1f}" '
                     f'text-anchor="middle">{escape(s.name)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def graph_json(p: Pipeline) -> dict[str, Any]:
    """Nodes (with layer/order for drawing) and edges (kind, names) for the UI.

    Each edge also has ``waypoints``: the lanes (``{layer, order}``, see `lanes`) it runs through
    when it skips layers, ``[]`` otherwise. A lane's order counts on after the layer's steps.
    """
    lay = layout(p)
    problems: dict[str, int] = {}
    for pr in p.problems:
        if pr.step and pr.severity == "error":
            problems[pr.step] = problems.get(pr.step, 0) + 1
    nodes = []
    for s in p.steps:
        code = [c.index for c in s.cells if c.cell_type == "code"]
        layer, order = lay[s.name]
        nodes.append({
            "id": s.name,
            "label": s.name,
            "layer": layer,
            "order": order,
            "cells": [c.index for c in s.cells],
            "first_cell": code[0] if code else (s.cells[0].index if s.cells else None),
            "inputs": [i.model_dump() for i in s.inputs],
            "outputs": list(s.outputs),
            "parameters": list(s.parameters),
            "metrics": list(s.metrics),
            "errors": problems.get(s.name, 0),
        })
    edges = [
        {**e.model_dump(), "waypoints": [{"layer": layer, "order": order} for layer, order in way]}
        for e, way in zip(p.edges, lanes(p, lay))
    ]
    return {
        "name": p.name,
        "valid": p.valid,
        "layers": max((n["layer"] for n in nodes), default=-1) + 1,
        "nodes": nodes,
        "edges": edges,
    }
