"""Cell tag vocabulary: Kale's, unchanged, plus our extensions.

Kale's tags: ``imports``, ``functions``, ``pipeline-parameters``, ``pipeline-metrics``, ``skip``,
``step:<name>`` (``block:<name>`` is the old synonym), ``prev:<name>``,
``limit:<resource>:<value>``, ``image:<ref>``, ``cache:enabled|disabled``.
Ours: ``timeout:<seconds>`` (a number, optionally suffixed ``s``, ``m`` or ``h``),
``retries:<n>``, and for cluster steps (docs/kubernetes.md): ``secret:<name>`` (every key as a
file) or ``secret:<name>:<key>=<ENV>[,<key>=<ENV>]`` (keys as environment variables),
``node:<label>=<value>``, ``toleration:<key>[=<value>][:<effect>]``, ``gpu-vendor:nvidia|amd`` and
``shm:<size>``; ``volume:<claim>:snapshot|shared|none`` (for the whole pipeline: how runs use
a PVC of the notebook pod).

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
OPTION_PREFIXES = (
    "prev:", "limit:", "image:", "cache:", "timeout:", "retries:",
    "secret:", "node:", "toleration:", "gpu-vendor:", "shm:", "volume:",
)  # fmt: skip

_RESOURCE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$")
_DURATION = re.compile(r"^(\d+(\.\d+)?|\.\d+)([smh]?)$")
_DURATION_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
VOLUME_MODES = ("snapshot", "shared", "none")
GPU_VENDORS = {"nvidia": "nvidia.com/gpu", "amd": "amd.com/gpu"}


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
    secrets: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (name, key -> env var)
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, str]] = field(default_factory=list)
    gpu_vendor: str | None = None
    shm: str | None = None
    volumes: dict[str, str] = field(default_factory=dict)  # PVC name -> snapshot | shared | none
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
    elif prefix == "secret":
        parsed = parse_secret(value)
        if isinstance(parsed, str):
            return bad(parsed)
        out.secrets.append(parsed)
    elif prefix == "node":
        key, sep, label = value.partition("=")
        if not sep or not _RESOURCE.match(key) or not _LABEL_VALUE.match(label) or len(label) > 63:
            return bad("node:<label>=<value>, e.g. node:cloud.google.com/gke-nodepool=gpu-pool")
        out.node_selector[key] = label
    elif prefix == "toleration":
        parsed_tol = parse_toleration(value)
        if isinstance(parsed_tol, str):
            return bad(parsed_tol)
        out.tolerations.append(parsed_tol)
    elif prefix == "gpu-vendor":
        if value not in GPU_VENDORS:
            return bad(f"gpu-vendor:{' or gpu-vendor:'.join(GPU_VENDORS)}")
        out.gpu_vendor = value
    elif prefix == "volume":
        claim, sep, mode = value.rpartition(":")
        if not sep or not _SECRET_NAME.match(claim) or mode not in VOLUME_MODES:
            return bad("volume:<PVC name>:snapshot, volume:<PVC name>:shared or volume:<PVC name>:none")
        if out.volumes.get(claim, mode) != mode:
            return bad(f"one mode for {claim!r}: a volume has one mode per run")
        out.volumes[claim] = mode
    elif prefix == "shm":
        if not _QUANTITY.match(value):
            return bad("shm:<size>, a Kubernetes quantity such as shm:2Gi")
        out.shm = value
    out.option_tags.append(tag)


def parse_secret(value: str) -> tuple[str, dict[str, str]] | str:
    """``<name>`` or ``<name>:<key>=<ENV>[,...]`` -> (name, key -> env var); a string: what is wrong."""
    name, sep, mapping = value.partition(":")
    expected = "secret:<name> or secret:<name>:<key>=<ENV_VAR>[,<key>=<ENV_VAR>]"
    if not name or len(name) > 253 or not _SECRET_NAME.match(name):
        return f"{expected} (a Secret's name is a lower-case DNS name)"
    env: dict[str, str] = {}
    if sep:
        for item in mapping.split(","):
            key, eq, var = item.strip().partition("=")
            if not eq or not _SECRET_KEY.match(key) or not _ENV_NAME.match(var):
                return f"{expected}, not {item.strip()!r}"
            env[key] = var
    return name, env


def parse_toleration(value: str) -> dict[str, str] | str:
    """``<key>[=<value>][:<effect>]`` -> a Kubernetes toleration; a string: what is wrong."""
    rest, effect = value, ""
    head, sep, tail = value.rpartition(":")
    if sep and tail in TAINT_EFFECTS:
        rest, effect = head, tail
    key, eq, tol_value = rest.partition("=")
    if not key or not _RESOURCE.match(key) or (eq and not _LABEL_VALUE.match(tol_value)):
        return (
            "toleration:<key>[=<value>][:<effect>] with effect one of "
            f"{', '.join(TAINT_EFFECTS)}, e.g. toleration:nvidia.com/gpu:NoSchedule"
        )
    tol = {"key": key, "operator": "Equal" if eq else "Exists"}
    if eq:
        tol["value"] = tol_value
    if effect:
        tol["effect"] = effect
    return tol
