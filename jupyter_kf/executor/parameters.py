"""Run parameters: typed by the defaults in the notebook's `pipeline-parameters` cell.

``-p NAME=VALUE`` strings and values given over REST/magics go through :func:`resolve_parameters`,
which raises :class:`ParameterError` naming the parameter (before anything runs) for an unknown
name or a value that does not fit the parameter's type.
"""

from __future__ import annotations

import ast
import math
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Parameter, Pipeline

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ParameterError(ValueError):
    """A bad run parameter; the message names it and says what was expected."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


def split_assignments(items: Iterable[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"parameter {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError("not a JSON or Python literal") from None


def coerce(param: Parameter, value: Any) -> Any:
    """``value`` converted to ``param``'s type; strings are parsed. Raises ``ValueError``."""
    kind = param.type
    if kind == "str":
        return value if isinstance(value, str) else _fail(value, "a string")
    if isinstance(value, str):
        text = value.strip()
        if kind == "int":
            try:
                return int(text, 0) if text.lower().startswith(("0x", "0o", "0b")) else int(text)
            except ValueError:
                return _fail(value, "an integer")
        if kind == "float":
            try:
                return float(text)
            except ValueError:
                return _fail(value, "a number")
        if kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            return _fail(value, "true or false")
        if kind == "null":  # the default was None: take any literal, else the string itself
            try:
                return _literal(text)
            except ValueError:
                return value
        try:
            value = _literal(text)
        except ValueError:
            return _fail(value, f"a {kind} (JSON or Python literal)")
    if kind == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else _fail(value, "an integer")
    if kind == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else _fail(value, "a number")
    if kind == "bool":
        return value if isinstance(value, bool) else _fail(value, "true or false")
    if kind == "list":
        return list(value) if isinstance(value, (list, tuple)) else _fail(value, "a list")
    if kind == "dict":
        return value if isinstance(value, dict) else _fail(value, "a dict")
    return value


def _check_finite(value: Any) -> None:
    """Refuse Infinity and NaN anywhere in a value: JSON cannot hold them (they would be stored
    as null) and no pipeline means them. Walked without recursion."""
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{v!r} is not a finite number (Infinity and NaN are not accepted)")
        if isinstance(v, dict):
            todo.extend(v.values())
        elif isinstance(v, (list, tuple)):
            todo.extend(v)


def _fail(value: Any, expected: str) -> Any:
    raise ValueError(f"expected {expected}, got {value!r}")


def resolve_parameters(pipeline: Pipeline, given: Mapping[str, Any]) -> dict[str, Any]:
    """The run's parameter overrides, typed. Unknown names and bad values raise ParameterError."""
    known = {p.name: p for p in pipeline.parameters}
    out: dict[str, Any] = {}
    for name, value in given.items():
        param = known.get(name)
        if param is None:
            names = ", ".join(sorted(known)) or "none; the notebook has no pipeline-parameters cell"
            raise ParameterError(
                f"unknown parameter {name!r} (pipeline {pipeline.name!r} parameters: {names})", name
            )
        try:
            out[name] = coerce(param, value)
            _check_finite(out[name])
        except ValueError as exc:
            where = f"cell {param.cell + 1}" if param.cell is not None else "the parameters cell"  # 1-based, as in every message
            raise ParameterError(
                f"parameter {name!r} ({param.type}, default {param.default!r} in {where}): {exc}", name
            ) from None
    return out
