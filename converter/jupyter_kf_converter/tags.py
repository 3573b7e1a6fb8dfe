"""Cell tag vocabulary: Kale's, unchanged, plus our extensions.

Kale's tags: ``imports``, ``functions``, ``pipeline-parameters``, ``pipeline-metrics``, ``skip``,
``step:<name>`` (``block:<name>`` is the old synonym), ``prev:<name>``,
``limit:<resource>:<value>``, ``image:<ref>``, ``cache:enabled|disabled``.
Ours: ``timeout:<seconds>`` (a number, optionally suffixed ``s``, ``m`` or ``h``) and
``retries:<n>``.

A malformed tag of this vocabulary (``limit:memory``, ``cache:maybe``, ``step:two words``) is an
error. ``step:``/``block:`` with an empty name is Kale's "continue the block above" (its extension
writes them): the cell is read as untagged (``CellTags.continues``). A tag outside the vocabulary
(``hide-input``, papermill's ``parameters``) is ignored with a warning, so notebooks tagged for
other tools still compile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# role tags -> block kind
ROLE_TAGS = {
    "imports": "imports",
    "functions": "functions",
    "pipeline-parameters": "parameters",
    "pipeline-metrics": "metrics",
    "skip": "skip",
}
STEP_PREFIXES = ("step:", "block:")
MAX_RETRIES = 10  # a step fails for good after 1 + MAX_RETRIES attempts (docs/architecture.md)
OPTION_PREFIXES = ("prev:", "limit:", "image:", "cache:", "timeout:", "retries:")

_RESOURCE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$")
_DURATION = re.compile(r"^(\d+(\.\d+)?|\.\d+)([smh]?)$")
_DURATION_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass
class TagProblem:
    code: str
    message: str
    tag: str
    severity: str = "error"


@dataclass
class CellTags:
    """What one cell's tags say. ``role`` is None for a cell without a role or step tag."""

    role: str | None = None  # imports | functions | parameters | metrics | skip | step
    step: str | None = None  # raw step name from step:/block:
    prev: list[str] = field(default_factory=list)
    limits: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    cache: bool | None = None
    timeout: float | None = None
    retries: int | None = None
    option_tags: list[str] = field(default_factory=list)  # step options present (for misplacement)
    continues: bool = False  # an empty step:/block: tag: the cell continues the block above (Kale)
    problems: list[TagProblem] = field(default_factory=list)


def parse_tags(tags: list[str]) -> CellTags:
    """Interpret one cell's tags; problems are collected, never raised."""
    out = CellTags()
    roles: list[str] = []
    for raw in tags:
        if not isinstance(raw, str):
            out.problems.append(TagProblem("invalid-tag", f"tag {raw!r} is not a string", str(raw)))
            continue
        tag = raw.strip()
        if not tag:
            continue
        if tag in ROLE_TAGS:
            roles.append(tag)
            continue
        prefix, sep, value = tag.partition(":")
        prefix_c = prefix + sep
        if prefix_c in STEP_PREFIXES:
            if not value:  # Kale: an empty name continues the block above, like an untagged cell
                out.continues = True
                continue
            if any(c.isspace() for c in value):
                out.problems.append(
                    TagProblem("invalid-tag", f"tag {tag!r} needs a step name: write {prefix}:<name>", tag)
                )
                continue
            roles.append(tag)
            if out.step is None:
                out.step = value
            continue
        if prefix_c in OPTION_PREFIXES:
            _parse_option(out, tag, prefix, value)
            continue
        hint = {"parameters": " (papermill's tag; a pipeline's parameters cell is tagged pipeline-parameters)",
                "metrics": " (did you mean pipeline-metrics?)", "import": " (did you mean imports?)",
                "function": " (did you mean functions?)"}.get(tag, "")
        out.problems.append(
            TagProblem("unknown-tag", f"unknown tag {tag!r} is ignored{hint}", tag, severity="warning")
        )
    if len(roles) > 1:
        out.problems.append(
            TagProblem(
                "conflicting-tags",
                f"a cell can have only one of imports, functions, pipeline-parameters, "
                f"pipeline-metrics, skip or step:<name>; this one has {', '.join(roles)}",
                roles[1],
            )
        )
    if roles:
        first = roles[0]
        out.role = ROLE_TAGS.get(first, "step")
        if out.role != "step":
            out.step = None
    return out


def _parse_option(out: CellTags, tag: str, prefix: str, value: str) -> None:
    def bad(expected: str) -> None:
        out.problems.append(TagProblem("invalid-tag", f"malformed tag {tag!r}: expected {expected}", tag))

    if prefix == "prev":
        if not value or any(c.isspace() for c in value):
            return bad("prev:<step name>")
        out.prev.append(value)
    elif prefix == "limit":
        resource, sep, quantity = value.rpartition(":")
        if not sep or not resource or not quantity:
            return bad("limit:<resource>:<value>, e.g. limit:memory:2Gi or limit:nvidia.com/gpu:1")
        if not _RESOURCE.match(resource):
            return bad(f"a Kubernetes resource name (cpu, memory, nvidia.com/gpu), not {resource!r}")
        if not _QUANTITY.match(quantity):
            return bad(f"a Kubernetes quantity (e.g. 2, 500m, 4Gi), not {quantity!r}")
        out.limits[resource] = quantity
    elif prefix == "image":
        if not value or any(c.isspace() for c in value):
            return bad("image:<image reference>")
        out.image = value
    elif prefix == "cache":
        if value not in ("enabled", "disabled"):
            return bad("cache:enabled or cache:disabled")
        out.cache = value == "enabled"
    elif prefix == "timeout":
        m = _DURATION.match(value)
        if not m or float(m.group(1)) <= 0:
            return bad("timeout:<seconds> (a positive number, optionally with s, m or h)")
        out.timeout = float(m.group(1)) * _DURATION_UNIT[m.group(3)]
    elif prefix == "retries":
        if not value.isdigit():
            return bad("retries:<n> (a whole number, 0 or more)")
        out.retries = int(value)
        if out.retries > MAX_RETRIES:
            out.problems.append(TagProblem(
                "too-many-retries",
                f"tag {tag!r} asks for more than {MAX_RETRIES} retries; {MAX_RETRIES} are made "
                "(with a growing pause between attempts)",
                tag, severity="warning",
            ))
            out.retries = MAX_RETRIES
    out.option_tags.append(tag)
