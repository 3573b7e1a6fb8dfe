"""The special cells and checks of a pipeline: ``pipeline-parameters``, ``pipeline-metrics``, cycles.

Pure functions: each returns what it found plus ``(code, message, line, name)`` problems for
the caller to locate (cell, step).
"""

from __future__ import annotations

import ast
import math
from typing import Any

from .ipython import parse_source

CellProblem = tuple[str, str, "int | None", "str | None"]  # (code, message, line, name)

_EXPECT = ("the pipeline-parameters cell may contain only simple assignments of literal values "
           "(name = 1, 0.5, 'text', True, None, [..], {..})")


def parameter_assignments(source: str) -> tuple[list[tuple[str, Any, int]], list[CellProblem]]:
    """``name = literal`` lines of a parameters cell -> [(name, value, line)], problems."""
    try:
        tree = parse_source(source)
    except SyntaxError as exc:
        return [], [("invalid-parameters", f"cannot parse the pipeline-parameters cell: {exc.msg}", exc.lineno, None)]
    found: list[tuple[str, Any, int]] = []
    problems: list[CellProblem] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue  # a docstring
        target = value_node = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value_node = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value_node = stmt.target, stmt.value
        if not isinstance(target, ast.Name):
            problems.append(("invalid-parameters", f"{_EXPECT}; found: {snippet(stmt)}", stmt.lineno, None))
            continue
        try:
            value = ast.literal_eval(value_node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            problems.append(("invalid-parameters",
                             f"parameter {target.id!r} must be a literal value, not {snippet(value_node)}; {_EXPECT}",
                             stmt.lineno, target.id))
            continue
        if not json_literal(value):
            message = (f"parameter {target.id!r} has a {type(value).__name__} value; parameters must be int, "
                       f"float, str, bool, None, or lists/dicts (with string keys) of those")
            problems.append(("invalid-parameters", message, stmt.lineno, target.id))
            continue
        found.append((target.id, value, stmt.lineno))
    return found, problems


def metric_names(source: str) -> tuple[list[tuple[str, int]], list[CellProblem]]:
    """Kale-style metrics cell: ``print(name)`` (several names allowed) or bare ``name`` lines."""
    try:
        tree = parse_source(source)
    except SyntaxError as exc:
        return [], [("invalid-metrics", f"cannot parse the pipeline-metrics cell: {exc.msg}", exc.lineno, None)]
    found: list[tuple[str, int]] = []
    problems: list[CellProblem] = []
    for stmt in tree.body:
        value = stmt.value if isinstance(stmt, ast.Expr) else None
        if isinstance(value, ast.Name):
            found.append((value.id, stmt.lineno))
            continue
        if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "print"
                and value.args and not value.keywords and all(isinstance(a, ast.Name) for a in value.args)):
            found += [(a.id, stmt.lineno) for a in value.args]
            continue
        message = ("the pipeline-metrics cell may contain only lines like print(accuracy) or accuracy; "
                   f"found: {snippet(stmt)}")
        problems.append(("invalid-metrics", message, stmt.lineno, None))
    return found, problems


def parameter_type(value: Any) -> str:
    """The IR type of a JSON-compatible literal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float", str: "str", list: "list", dict: "dict"}[type(value)]


def json_literal(value: Any) -> bool:
    """True for values that survive JSON/YAML unchanged (finite floats, string-keyed dicts)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, list):
        return all(json_literal(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_literal(v) for k, v in value.items())
    return False


def snippet(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node).splitlines()[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def find_cycles(edges: list[tuple[str, str]], order: dict[str, int]) -> list[list[str]]:
    """Each cycle once, as a closed path starting at its earliest step: ``[a, b, c, a]``.

    A depth-first search with an explicit stack (a chain of thousands of steps must not hit
    Python's recursion limit); it visits nodes and edges in the same order as the recursive form.
    """
    graph: dict[str, list[str]] = {}
    for source, target in edges:
        graph.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1 visiting, 2 done
    found: dict[frozenset[str], list[str]] = {}

    for start_node in sorted(order, key=order.get):
        if state.get(start_node) is not None:
            continue
        path: list[str] = [start_node]
        where: dict[str, int] = {start_node: 0}  # node -> index in path, for the nodes on it
        state[start_node] = 1
        stack = [iter(graph.get(start_node, ()))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                node = path.pop()
                del where[node]
                state[node] = 2
                stack.pop()
                continue
            if state.get(nxt) == 1:
                cyc = path[where[nxt]:]
                first = cyc.index(min(cyc, key=lambda s: order[s]))
                cyc = cyc[first:] + cyc[:first]
                found.setdefault(frozenset(cyc), [*cyc, cyc[0]])
            elif state.get(nxt) is None:
                state[nxt] = 1
                where[nxt] = len(path)
                path.append(nxt)
                stack.append(iter(graph.get(nxt, ())))
    return list(found.values())
