"""IPython syntax for the analysis: parsing cells with magics, and reading magic/shell calls.

``parse_source`` tries ``ast.parse`` first; only on ``SyntaxError`` does it import IPython's
``TransformerManager`` (~0.1 s, once per process) to turn ``%magic``, ``!shell`` and ``%%cell``
magics into ``get_ipython()...`` calls.
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
