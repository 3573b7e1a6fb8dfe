"""Kale's ``katib_metadata`` (notebook metadata ``kubeflow_notebook.katib_metadata``) as a sweep.

Kale's labextension stores a Katib experiment spec there: ``algorithm.algorithmName``,
``objective`` (``objectiveMetricName``, ``type`` minimize|maximize), ``maxTrialCount``,
``parallelTrialCount`` and ``parameters`` (``name``, ``parameterType`` int|double|categorical|
discrete, ``feasibleSpace`` with ``min``/``max``/``step`` or ``list``; values are strings).
``maxFailedTrialCount`` and ``objective.goal`` have no equivalent here: a failed trial never stops
a sweep, and the budget ends it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..models import SweepParameter, SweepRequest
from .space import SweepError

ALGORITHMS = {"grid": "grid", "random": "random", "tpe": "tpe", "bayesianoptimization": "tpe"}


def katib_metadata(notebook: Path) -> dict[str, Any] | None:
    """The notebook's ``katib_metadata`` when it sets parameters; None otherwise."""
    try:
        meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError) as exc:
        raise SweepError(f"{notebook}: cannot read the notebook: {exc}") from None
    katib = (meta.get("kubeflow_notebook") or {}).get("katib_metadata") if isinstance(meta, dict) else None
    return katib if isinstance(katib, dict) and katib.get("parameters") else None


def request_from_katib(notebook: str, katib: dict[str, Any]) -> SweepRequest:
    """A sweep request from Kale's spec (raises :class:`SweepError` naming the field at fault)."""
    where = "kubeflow_notebook.katib_metadata"
    name = str((katib.get("algorithm") or {}).get("algorithmName") or "tpe").lower()
    if name not in ALGORITHMS:
        raise SweepError(f"{where}.algorithm: {name!r} is not supported here (use one of {', '.join(ALGORITHMS)})")
    objective = katib.get("objective") or {}
    metric = objective.get("objectiveMetricName")
    if not metric:
        raise SweepError(f"{where}.objective.objectiveMetricName: not set (give --objective METRIC)")
    direction = "min" if str(objective.get("type", "maximize")).lower() == "minimize" else "max"
    space = [_parameter(p, f"{where}.parameters[{i}]") for i, p in enumerate(katib.get("parameters") or [])]
    return SweepRequest(
        notebook=notebook,
        space=space,
        objective=metric,
        direction=direction,  # type: ignore[arg-type]
        algorithm=ALGORITHMS[name],  # type: ignore[arg-type]
        trials=_int(katib.get("maxTrialCount"), f"{where}.maxTrialCount"),
        parallel=_int(katib.get("parallelTrialCount"), f"{where}.parallelTrialCount"),
    )


def _parameter(p: Any, where: str) -> SweepParameter:
    if not isinstance(p, dict) or not p.get("name"):
        raise SweepError(f"{where}: a parameter needs a name")
    kind = str(p.get("parameterType", "")).lower()
    space = p.get("feasibleSpace") or {}
    if kind in ("categorical", "discrete"):
        values = space.get("list")
        if not values:
            raise SweepError(f"{where} ({p['name']}): feasibleSpace.list is empty", p["name"])
        return SweepParameter(name=p["name"], choices=[str(v) for v in values])
    if kind not in ("int", "double"):
        raise SweepError(f"{where} ({p['name']}): unknown parameterType {kind!r}", p["name"])
    try:
        low, high = float(space["min"]), float(space["max"])
        step = float(space["step"]) if space.get("step") not in (None, "") else None
    except (KeyError, TypeError, ValueError):
        raise SweepError(f"{where} ({p['name']}): feasibleSpace needs numeric min and max", p["name"]) from None
    return SweepParameter(name=p["name"], low=low, high=high, step=step)


def _int(value: Any, where: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SweepError(f"{where}: expected a whole number, got {value!r}") from None
