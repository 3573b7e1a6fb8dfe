"""Python scoping for the name analysis: free names of expressions, functions, classes, comprehensions.

Pure functions over ``ast`` nodes. ``free_names(nodes, local)`` returns the names read under
``nodes`` that are not in ``local``, descending into nested scopes the way Python resolves them
(a class body's names are not visible in its methods; comprehension targets stay inside).
"""

from __future__ import annotations

import ast

COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def target_names(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def assigned_in(body: list[ast.stmt]) -> tuple[set[str], set[str]]:
    """Names bound in a scope's body (not inside nested scopes), and names declared global/nonlocal."""
    bound: set[str] = set()
    declared: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (*FUNCS, ast.ClassDef)):
            bound.add(node.name)
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, *COMPS)):
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.name != "*":
                    bound.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return bound - declared, declared


def params_of(args: ast.arguments) -> set[str]:
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    if args.vararg:
        names.add(args.vararg.arg)
    if args.kwarg:
        names.add(args.kwarg.arg)
    return names


def signature_parts(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[ast.AST]:
    """What a def/lambda evaluates in the enclosing scope: decorators, defaults, annotations."""
    a = node.args
    parts: list[ast.AST] = [*a.defaults, *(d for d in a.kw_defaults if d is not None)]
    if not isinstance(node, ast.Lambda):
        parts += node.decorator_list
        parts += [x.annotation for x in (*a.posonlyargs, *a.args, *a.kwonlyargs) if x.annotation]
        parts += [x.annotation for x in (a.vararg, a.kwarg) if x is not None and x.annotation]
        if node.returns:
            parts.append(node.returns)
    return parts


def function_free(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> tuple[list[tuple[str, int]], set[str]]:
    """Free names read in a def/lambda body (call time), and names it assigns under ``global``."""
    if isinstance(node, ast.Lambda):
        return free_names([node.body], params_of(node.args)), set()
    bound, declared = assigned_in(node.body)
    global_stores = {n for n in declared if _stores_name(node.body, n)}
    return free_names(node.body, bound | params_of(node.args)), global_stores


def _stores_name(body: list[ast.stmt], name: str) -> bool:
    for stmt in body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
                return True
    return False


def free_names(nodes: list[ast.AST], local: set[str]) -> list[tuple[str, int]]:
    """Loads of names not in ``local`` under ``nodes``, descending into nested scopes correctly."""
    out: list[tuple[str, int]] = []
    stack: list[ast.AST] = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in local:
                out.append((node.id, node.lineno))
        elif isinstance(node, (*FUNCS, ast.Lambda)):
            out += free_names(signature_parts(node), local)
            inner, _ = function_free(node)
            out += [(n, ln) for n, ln in inner if n not in local]
        elif isinstance(node, ast.ClassDef):
            out += free_names([*node.bases, *node.keywords, *node.decorator_list], local)
            class_bound, _ = assigned_in(node.body)
            for stmt in node.body:
                if isinstance(stmt, FUNCS):  # methods do not see class-level names
                    out += free_names([stmt], local)
                else:
                    out += free_names([stmt], local | class_bound)
        elif isinstance(node, COMPS):
            out += _comprehension_free(node, local)
        else:
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id not in local:
                out.append((node.target.id, node.lineno))  # `x += 1` reads x
            stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return out


def _comprehension_free(node: ast.AST, local: set[str]) -> list[tuple[str, int]]:
    gens = node.generators  # type: ignore[attr-defined]
    out = free_names([gens[0].iter], local)  # evaluated in the enclosing scope
    inner = set(local)
    for i, gen in enumerate(gens):
        if i:
            out += free_names([gen.iter], inner)
        inner |= set(target_names(gen.target))
        out += free_names(list(gen.ifs), inner)
    elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]  # type: ignore[attr-defined]
    out += free_names(elts, inner)
    return out


def walrus_targets(node: ast.AST) -> list[str]:
    """Walrus targets bind in the enclosing scope, even from inside a comprehension."""
    names = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.NamedExpr):
            names.append(n.target.id)
        if isinstance(n, (*FUNCS, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(n))
    return names


def base_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


#: Methods that change their object in place (lists, dicts, sets, arrays, estimators being fitted).
MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "sort", "reverse", "update",
    "setdefault", "add", "discard", "difference_update", "intersection_update",
    "symmetric_difference_update", "fill", "resize", "fit", "partial_fit", "fit_transform", "compile",
    "load_state_dict", "set_params",
})


def mutating_calls(node: ast.AST) -> list[tuple[str, int]]:
    """``obj.append(..)``, ``model.fit(..)``, ``df.drop(.., inplace=True)``: (base name, line) of objects
    changed in place by calls evaluated now (not inside lambdas, comprehensions or definitions)."""
    out: list[tuple[str, int]] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (*FUNCS, ast.Lambda, ast.ClassDef, *COMPS)):
            continue
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and (
            n.func.attr in MUTATING_METHODS
            or any(k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True
                   for k in n.keywords)
        ):
            base = base_name(n.func.value)
            if base is not None:
                out.append((base, n.lineno))
        stack.extend(ast.iter_child_nodes(n))
    return out
