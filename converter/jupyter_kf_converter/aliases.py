"""Which names an expression may hand out the objects of: the basis of mutation through aliases.

``combine = [train_df, test_df]`` makes ``combine`` hold ``train_df`` and ``test_df``; ``for
dataset in combine: dataset["x"] = 1`` then changes both. ``alias_targets`` answers, for the
value of an assignment or the iterable of a ``for``, which named objects the bound name may refer
to (or contain). It is deliberately generous where it cannot tell (``a if c else b`` gives both):
a name wrongly seen as mutated only costs loading and saving it again, while a missed mutation
silently gives later steps the unchanged value.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

# Calls whose result holds (or iterates over) the very objects of their arguments.
_PASS_THROUGH = frozenset({"list", "tuple", "set", "reversed", "sorted", "enumerate", "zip", "iter"})
# Methods of a container whose result holds its objects (``d.items()``, ``d.values()``).
_VIEWS = frozenset({"items", "values"})


def alias_targets(node: ast.AST | None, aliases: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """Names whose objects ``node``'s value may be, or hold; ``aliases`` maps names already known to
    hold others (so the result is closed: ``data = combine`` holds what ``combine`` holds)."""
    if node is None:
        return frozenset()
    if isinstance(node, ast.Name):
        return frozenset({node.id}) | aliases.get(node.id, frozenset())
    if isinstance(node, ast.Starred):
        return alias_targets(node.value, aliases)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return _union(node.elts, aliases)
    if isinstance(node, ast.Dict):
        return _union(node.values, aliases)
    if isinstance(node, ast.IfExp):
        return _union([node.body, node.orelse], aliases)
    if isinstance(node, ast.BoolOp):
        return _union(node.values, aliases)
    if isinstance(node, ast.Subscript):  # combine[0], frames["train"]
        return alias_targets(node.value, aliases)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in _PASS_THROUGH:
            return _union(node.args, aliases)
        if isinstance(func, ast.Attribute) and func.attr in _VIEWS and not node.args:
            return alias_targets(func.value, aliases)
    return frozenset()


def _union(nodes: list, aliases: Mapping[str, frozenset[str]]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for n in nodes:
        out |= alias_targets(n, aliases)
    return out


def target_names(node: ast.AST) -> list[str]:
    """Plain names bound by an assignment or loop target (``a``, ``a, b``, ``(i, (k, v))``)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for elt in node.elts for n in target_names(elt)]
    if isinstance(node, ast.Starred):
        return target_names(node.value)
    return []
