"""Kale's notebook metadata (``metadata.kubeflow_notebook``): what maps onto ours, and warnings
for the rest.

Kale's labextension stores its pipeline settings there (its ``NotebookConfig``). Mapped:
``pipeline_name`` -> the pipeline name, ``pipeline_description`` -> its description,
``docker_image`` -> the image, ``steps_defaults`` limits (``limit:<resource>:<value>`` strings, or
``{"limits": {...}}``) -> every step's limits unless a step's own tag sets that resource.
Settled by how jupyter-kf works, so silently accepted: the notebook path and the labextension's UI
state, Kale's marshal volume/path (values travel in the run's own folder), ``autosnapshot`` and
``snapshot_volumes`` (every run is snapshotted). Everything else is reported with what to do
instead, as a warning: the notebook still compiles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

KEY = "kubeflow_notebook"

# Kale's own UI state and settings that jupyter-kf's design already covers.
_SETTLED = {
    "notebook_path", "experiment", "marshal_volume", "marshal_path", "abs_working_dir",
    "autosnapshot", "snapshot_volumes",
}

_NO_EQUIVALENT = {
    "experiment_name": "runs are grouped by notebook (jupyter kf runs <notebook>)",
    "volumes": "a run works in a snapshot of the notebook's folder (its PVC on a cluster); "
               "Kale's extra volumes are not mounted",
    "katib_run": "a run is one run of the pipeline; sweep it with `jupyter kf sweep NOTEBOOK` (it reads katib_metadata)",
    "katib_metadata": "by a run; `jupyter kf sweep NOTEBOOK` (without -p) reads it as the sweep's spec",
    "kfp_host": "the cluster's KFP endpoint is a jupyter-kf cluster setting, not stored in notebooks",
    "storage_class_name": "run volumes are restored from snapshots of the notebook's own volume",
    "volume_access_mode": "run volumes are restored from snapshots of the notebook's own volume",
    "timeout": "set step timeouts with timeout:<seconds> tags",
}

_LIMIT = re.compile(r"^limit:(?P<resource>[^:]+):(?P<value>[^:]+)$")


@dataclass
class KaleMetadata:
    """What Kale's metadata says that jupyter-kf uses; ``warnings`` are (key, message) pairs."""

    pipeline_name: str | None = None
    description: str | None = None
    image: str | None = None
    limits: dict[str, str] = field(default_factory=dict)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def read_kale_metadata(meta: Any) -> KaleMetadata:
    """Interpret ``metadata.kubeflow_notebook`` (anything not a dict reads as empty)."""
    out = KaleMetadata()
    if not isinstance(meta, dict):
        return out
    for key, value in meta.items():
        where = f"{KEY}.{key}"
        if key == "pipeline_name":
            out.pipeline_name = value if isinstance(value, str) and value else None
        elif key == "pipeline_description":
            out.description = value if isinstance(value, str) and value.strip() else None
        elif key == "docker_image":
            out.image = value if isinstance(value, str) and value else None
        elif key == "steps_defaults":
            _steps_defaults(out, value)
        elif key in _SETTLED:
            continue
        elif key in _NO_EQUIVALENT:
            if _is_set(value):
                out.warnings.append((where, f"notebook metadata {where} (Kale) is ignored: {_NO_EQUIVALENT[key]}"))
        else:
            out.warnings.append((where, f"notebook metadata {where} is not a Kale setting jupyter-kf knows; ignored"))
    return out


def _is_set(value: Any) -> bool:
    return value not in (None, "", [], {}, False)


def _steps_defaults(out: KaleMetadata, value: Any) -> None:
    """Kale writes a list of tag-like strings; its backend also accepts ``{"limits": {...}}``."""
    where = f"{KEY}.steps_defaults"
    if isinstance(value, dict):
        limits = value.get("limits")
        if isinstance(limits, dict):
            out.limits.update({str(k): str(v) for k, v in limits.items()})
        rest = sorted(k for k, v in value.items() if k != "limits" and _is_set(v))
        if rest:
            out.warnings.append((where, f"notebook metadata {where} sets {', '.join(rest)}: pod labels and "
                                        f"annotations are not supported by jupyter-kf; ignored"))
        return
    if not isinstance(value, list):
        return
    ignored = []
    for item in value:
        m = _LIMIT.match(item) if isinstance(item, str) else None
        if m:
            out.limits[m["resource"]] = m["value"]
        else:
            ignored.append(str(item))
    if ignored:
        out.warnings.append((where, f"notebook metadata {where} has {', '.join(repr(i) for i in ignored)}: only "
                                    f"limit:<resource>:<value> applies (pod labels and annotations are not "
                                    f"supported by jupyter-kf); ignored"))
