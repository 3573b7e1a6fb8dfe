"""Containers of other outputs, saved as references so object identity survives between steps.

``combine = [train_df, test_df]`` passed on together with ``train_df`` and ``test_df`` is saved as
``combine.refs`` (``{"type": "list", "items": ["train_df", "test_df"], ...}``), not as a second
copy of both frames. A consumer that loads all three gets ``combine[0] is train_df``, so
``for dataset in combine: dataset["x"] = 1`` changes ``train_df`` there as it did in the notebook.

Only a list, tuple or string-keyed dict whose every item *is* another value the same step saves
(and not itself such a container) is saved this way; anything else is an ordinary value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

FORMAT = EXTENSION = "refs"
_TYPES = {list: "list", tuple: "tuple", dict: "dict"}


def find_refs(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{name: spec}`` for each value in ``values`` that is a container of other values there."""
    specs: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        kind = _TYPES.get(type(value))
        if kind is None or not value:
            continue
        by_id = {id(v): n for n, v in values.items() if n != name}
        items = list(value.values()) if kind == "dict" else list(value)
        refs = [by_id.get(id(item)) for item in items]
        if None in refs or (kind == "dict" and not all(isinstance(k, str) for k in value)):
            continue
        specs[name] = {"type": kind, "items": dict(zip(value, refs)) if kind == "dict" else refs}
    # a container of containers is saved whole (one level of references keeps loading simple)
    return {n: s for n, s in specs.items() if not set(_names(s)) & set(specs)}


def _names(spec: Mapping[str, Any]) -> list[str]:
    items = spec["items"]
    return list(items.values()) if isinstance(items, dict) else list(items)


def encode(spec: Mapping[str, Any], saved: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The ``.refs`` file: the spec plus the content hashes of its items, so its own hash changes
    whenever an item does (consumers' cache keys use it)."""
    hashes = {n: saved[n]["sha256"] for n in _names(spec)}
    return (json.dumps({**spec, "sha256": hashes}, sort_keys=True) + "\n").encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rebuild(data: bytes, load: Callable[[str], Any]) -> Any:
    """The container, each item loaded by name with ``load`` (which should return one object per name)."""
    spec = json.loads(data)
    items = spec["items"]
    if spec["type"] == "dict":
        return {key: load(ref) for key, ref in items.items()}
    loaded = [load(ref) for ref in items]
    return tuple(loaded) if spec["type"] == "tuple" else loaded
