"""A small YAML writer for JSON-like data, so `jupyter kf compile -o x.yaml` need not import PyYAML.

Block style. Strings are JSON-escaped double-quoted scalars (YAML reads JSON escapes the same
way), except multi-line text made only of printable characters, which is written as a literal
block (``|``) so notebook cells stay readable. tests/converter/test_cli.py reads tricky documents
back with PyYAML and checks they are unchanged.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
# Characters YAML reads as line breaks or rejects; JSON already escapes those below U+0020.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
# What a literal block may hold as is: printable text, tabs and newlines only.
_BLOCK_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\r\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def dump_yaml(data: Any) -> str:
    """A JSON-like tree (dicts, lists, str, int, float, bool, None) as block-style YAML."""
    out: list[str] = []
    _yaml_node(data, 0, out)
    return "\n".join(out) + "\n"


def _quote(text: str) -> str:
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
        text = repr(value)
        if "e" in text and "." not in text:  # YAML 1.1 needs a dot: 1e-05 -> 1.0e-05
            mantissa, _, exp = text.partition("e")
            text = f"{mantissa}.0e{exp}"
        return text
    if isinstance(value, int):
        return str(value)
    return _quote(str(value))


def _yaml_key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and key.lower() not in _YAML_WORDS else _quote(key)


def _literal_block(text: str, indent: int) -> list[str] | None:
    """``|`` block lines for multi-line text, or None when a quoted scalar is safer."""
    if "\n" not in text.rstrip("\n") or _BLOCK_UNSAFE.search(text) or text[:1] in (" ", "\t", "\n"):
        return None
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = body.split("\n") + [""] * (trailing - 1 if trailing > 1 else 0)
    pad = " " * (indent + 2)
    return ["|" + chomp] + [pad + line if line else "" for line in lines]


def _yaml_node(value: Any, indent: int, out: list[str], prefix: str = "") -> None:
    """Append ``value`` (a JSON-like tree) at ``indent``; ``prefix`` is text before the first line."""
    pad = " " * indent
    if isinstance(value, dict) and value:
        first = True
        for key, item in value.items():
            lead = (prefix if first and prefix else pad) + _yaml_key(key) + ":"
            first = False
            block = _literal_block(item, indent) if isinstance(item, str) else None
            if block:
                out.append(f"{lead} {block[0]}")
                out.extend(block[1:])
            elif isinstance(item, (dict, list)) and item:
                out.append(lead)
                _yaml_node(item, indent + 2, out)
            else:
                out.append(f"{lead} {_yaml_inline(item)}")
    elif isinstance(value, list) and value:
        first = True
        for item in value:
            lead = (prefix if first and prefix else pad) + "- "
            first = False
            block = _literal_block(item, indent) if isinstance(item, str) else None
            if block:
                out.append(lead + block[0])
                out.extend(block[1:])
            elif isinstance(item, (dict, list)) and item:
                _yaml_node(item, indent + 2, out, prefix=lead)
            else:
                out.append(lead + _yaml_inline(item))
    else:
        out.append(prefix + _yaml_inline(value) if prefix else pad + _yaml_inline(value))


def _yaml_inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)
