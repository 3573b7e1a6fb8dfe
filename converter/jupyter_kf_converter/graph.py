"""The pipeline as a graph: text for terminals, DOT and SVG for humans, JSON for the UI.

All pure Python (no graphviz). Layout: a step's layer is the length of the longest dependency
chain above it; within a layer steps keep notebook order. Edges that point backwards in the
notebook (an invalid ``prev:`` to a later step) are drawn but do not shape the layout.
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
    """Graphviz DOT; explicit (prev:) edges are dashed, edges are labelled with the names carried."""
    out = [f"digraph {_dot_id(p.name)} {{", "  rankdir=TB;", '  node [shape=box, style="rounded"];']
    for s in p.steps:
        out.append(f"  {_dot_id(s.name)};")
    for e in p.edges:
        attrs = [f"label={_dot_id(', '.join(e.names))}"] if e.names else []
        if e.kind == "explicit":
            attrs.append("style=dashed")
        out.append(f"  {_dot_id(e.source)} -> {_dot_id(e.target)}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


_NODE_H, _GAP_X, _GAP_Y, _CHAR_W, _PAD, _SIDE = 36, 40, 70, 7.5, 16, 80


def to_svg(p: Pipeline) -> str:
    """A standalone SVG drawing of the layered graph."""
    lay = layout(p)
    widths = {s.name: max(80.0, len(s.name) * _CHAR_W + 2 * _PAD) for s in p.steps}
    layers: dict[int, list[str]] = {}
    for name, (layer, _order) in sorted(lay.items(), key=lambda kv: kv[1]):
        layers.setdefault(layer, []).append(name)
    row_w = {k: sum(widths[n] for n in v) + _GAP_X * (len(v) - 1) for k, v in layers.items()}
    total_w = max(row_w.values(), default=200.0) + 2 * _GAP_X + _SIDE  # room to route long edges on the right
    boxes: dict[str, tuple[float, float, float]] = {}  # name -> (x, y, w)
    for k, names in layers.items():
        x = (total_w - _SIDE - row_w[k]) / 2
        y = _GAP_Y / 2 + k * (_NODE_H + _GAP_Y)
        for n in names:
            boxes[n] = (x, y, widths[n])
            x += widths[n] + _GAP_X
    total_h = (max(layers, default=0) + 1) * (_NODE_H + _GAP_Y)
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.0f}" height="{total_h:.0f}" '
         f'viewBox="0 0 {total_w:.0f} {total_h:.0f}" font-family="sans-serif" font-size="12">'),
        f"<title>{escape(p.name)}</title>",
        ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
         'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>'),
    ]
    for e in p.edges:
        if e.source not in boxes or e.target not in boxes:
            continue
        sx, sy, sw = boxes[e.source]
        tx, ty, tw = boxes[e.target]
        x1, y1 = sx + sw / 2, sy + _NODE_H
        x2, y2 = tx + tw / 2, ty
        if y2 <= y1:  # a backwards edge: leave from the top, enter from below
            y1, y2 = sy, ty + _NODE_H
        mid = (y1 + y2) / 2
        c1, c2, label_x = (x1, mid), (x2, mid), (x1 + x2) / 2 + 4
        first, last = sorted((lay[e.source][0], lay[e.target][0]))
        between = [boxes[n] for n, (layer, _) in lay.items() if first < layer < last]
        if between:  # skips layers: go around the boxes in between, on the right
            side = min(max(bx + bw for bx, _, bw in between) + 24, total_w - 8)
            c1, c2, label_x = (side, y1 + (y2 - y1) / 4), (side, y2 - (y2 - y1) / 4), side + 4
        dash = ' stroke-dasharray="5,4"' if e.kind == "explicit" else ""
        parts.append(f'<path class="edge {e.kind}" d="M{x1:.1f},{y1:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},'
                     f'{c2[1]:.1f} {x2:.1f},{y2:.1f}" fill="none" stroke="#555"{dash} marker-end="url(#arrow)"/>')
        if e.names:
            label = ", ".join(e.names)
            label = label if len(label) <= 40 else label[:37] + "..."
            parts.append(f'<text x="{label_x:.1f}" y="{mid + 4:.1f}" fill="#333" font-size="10">'
                         f"{escape(label)}</text>")
    for s in p.steps:
        x, y, w = boxes[s.name]
        parts.append(f'<g class="step"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{_NODE_H}" rx="6" '
                     f'fill="#eef4fb" stroke="#3b6ea5"/><text x="{x + w / 2:.1f}" y="{y + _NODE_H / 2 + 4:.1f}" '
                     f'text-anchor="middle">{escape(s.name)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def graph_json(p: Pipeline) -> dict[str, Any]:
    """Nodes (with layer/order for drawing) and edges (kind, names) for the UI."""
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
    return {
        "name": p.name,
        "valid": p.valid,
        "layers": max((n["layer"] for n in nodes), default=-1) + 1,
        "nodes": nodes,
        "edges": [e.model_dump() for e in p.edges],
    }
