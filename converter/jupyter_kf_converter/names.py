"""Kubernetes names for pipelines and steps.

Step names from tags map to RFC 1123 labels by lowercasing and turning ``_`` into ``-``
(``step:load_data`` -> ``load-data``), so Kale notebooks keep working; ``prev:`` tags are resolved
through the same mapping.
"""

from __future__ import annotations

import re

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NAME_RULE = "1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"


def k8s_name(raw: str) -> str:
    """The Kubernetes name a tagged step name maps to (lowercase, '_' -> '-')."""
    return raw.strip().lower().replace("_", "-")


def is_k8s_name(name: str) -> bool:
    """True for a valid RFC 1123 label."""
    return len(name) <= 63 and bool(_LABEL.match(name))


def sanitize_name(raw: str, fallback: str = "pipeline") -> str:
    """A valid Kubernetes name made from any text (file names, invalid step names)."""
    name = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:63].strip("-")
    return name or fallback
