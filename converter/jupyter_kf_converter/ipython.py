"""IPython syntax for the analysis: parsing cells with magics, and reading magic/shell calls.

``parse_source`` tries ``ast.parse`` first. On ``SyntaxError`` it rewrites the common one-line
forms the way IPython does (``%%cell`` magics, ``%magic`` and ``!shell`` lines, ``x = !cmd``,
``x = %magic``) and parses again; only if that fails too does it import IPython's
``TransformerManager`` (~0.06 s of CPU, once per process). tests/converter/test_ipython_syntax.py
checks that both give the same tree.
"""

from __future__ import annotations

import ast
import re

from .scopes import free_names

PY_BODY_MAGICS = frozenset({"time", "timeit", "prun", "capture"})
SCRIPT_MAGICS = frozenset({"bash", "sh", "script", "python", "python2", "python3", "perl", "ruby", "pypy"})
TIMEIT_OPTS = re.compile(r"^\s*(-[a-zA-Z]+(\s+[-\w.]+)?\s+)+")
_EXPAND_DOLLAR = re.compile(r"(?<!\$)\$([A-Za-z_]\w*)")
_EXPAND_BRACE = re.compile(r"\{([^{}]+)\}")

_transformer = None


def transform_ipython(source: str) -> str:
    """IPython's own transformation of %magics, !shell and %%cell magics into Python."""
    global _transformer
    if _transformer is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _transformer = TransformerManager()
    return _transformer.transform_cell(source)


_ESCAPED = re.compile(r"^([ \t]*)(!!|!|%)(\S.*)?$")
_ASSIGNED = re.compile(r"^([ \t]*[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*=[ \t]*)(!|%)(\S.*)$")


def _simple_transform(source: str) -> str | None:
    """IPython's rewrite of the simple magic/shell forms, or None when the cell needs IPython itself.

    Leading blank lines are kept (IPython drops them), so line numbers stay those of the cell.
    """
    lines = source.splitlines()
    blank = 0
    while blank < len(lines) and not lines[blank].strip():
        blank += 1
    if blank == len(lines) or lines[blank][:1] in (" ", "\t"):
        return None  # IPython dedents indented cells; let it
    head = "\n" * blank
    if lines[blank].startswith("%%"):
        first = lines[blank][2:].rstrip()
        if not first or first.endswith("?"):
            return None
        name, _, line = first.partition(" ")
        body = "".join(line_ + "\n" for line_ in lines[blank + 1:])
        return f"{head}get_ipython().run_cell_magic({name!r}, {line!r}, {body!r})\n"
    out = []
    for text in lines:
        m = _ASSIGNED.match(text)
        if m:
            lhs, escape, rest = m.groups()
        else:
            m = _ESCAPED.match(text)
            if not m:
                out.append(text)
                continue
            lhs, escape, rest = m.group(1), m.group(2), m.group(3) or ""
        if text.rstrip().endswith(("\\", "?")) or rest.startswith(("%", "!")):
            return None  # continuations, help (?), %%/!!! oddities: IPython's business
        if escape == "%":
            name, _, args = rest.partition(" ")
            call = f"get_ipython().run_line_magic({name!r}, {args!r})"
        elif escape == "!" and m.re is not _ASSIGNED:
            call = f"get_ipython().system({rest.rstrip()!r})"
        else:
            call = f"get_ipython().getoutput({rest.rstrip()!r})"
        out.append(lhs + call)
    return "\n".join(out) + "\n"


def parse_source(source: str) -> ast.Module:
    """Parse cell source; IPython's transformer is used only when plain Python fails to parse.

    Every failure is a ``SyntaxError`` (null bytes and absurd nesting included).
    """
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SyntaxError(f"{type(exc).__name__}: {exc}") from None
    simple = _simple_transform(source)
    if simple is not None:
        try:
            return ast.parse(simple)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
    try:
        transformed = transform_ipython(source)
    except Exception as exc:  # IPython raises its own errors on broken magic syntax
        raise SyntaxError(str(exc)) from exc
    try:
        return ast.parse(transformed)
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SyntaxError(f"{type(exc).__name__}: {exc}") from None


def ipython_call(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """``get_ipython().<method>(...)`` -> (method, args)."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Name)
        and node.func.value.func.id == "get_ipython"
    ):
        return node.func.attr, list(node.args)
    return None


def expansion_names(text: str) -> list[str]:
    """Names IPython would substitute in a shell command or magic line (``$x``, ``{expr}``)."""
    names = _EXPAND_DOLLAR.findall(text)
    for expr in _EXPAND_BRACE.findall(text):
        try:
            tree = ast.parse(expr.strip(), mode="eval")
        except SyntaxError:
            continue
        names += [n for n, _ in free_names([tree], set())]
    return names


def const_str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
