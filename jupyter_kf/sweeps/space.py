"""Search spaces: the ``-p`` grammar, checks against the pipeline, and Optuna distributions.

Grammar of one swept parameter (``jupyter kf sweep -p SPEC``)::

    NAME=A,B,C          choices (each value typed like the parameter, as with ``jupyter kf run -p``)
    NAME=LOW:HIGH       a range (ints or floats, by the type of the parameter's default)
    NAME=LOW:HIGH:log   a range on a log scale
    NAME=LOW:HIGH:STEP  a range in steps of STEP (grid search needs a step for float ranges)

Every problem raises :class:`SweepError` naming the parameter (and its cell) before anything runs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..executor.parameters import ParameterError, coerce
from ..models import SweepParameter, SweepRequest

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

GRID_LIMIT = 100_000  # points of a grid search, at most


class SweepError(ValueError):
    """A bad sweep request; the message says what and where. Nothing ran."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


def parse_spec(text: str) -> SweepParameter:
    """One ``NAME=...`` of the grammar above (types are checked later, against the pipeline)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name or not value.strip():
        raise SweepError(f"sweep parameter {text!r}: expected NAME=A,B,C or NAME=LOW:HIGH[:log|:STEP]")
    value = value.strip()
    if ":" in value and "," not in value:
        parts = [p.strip() for p in value.split(":")]
        if len(parts) not in (2, 3):
            raise SweepError(f"sweep parameter {name!r}: a range is LOW:HIGH, LOW:HIGH:log or LOW:HIGH:STEP", name)
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise SweepError(f"sweep parameter {name!r}: range bounds must be numbers, got {value!r}", name) from None
        log, step = False, None
        if len(parts) == 3:
            if parts[2].lower() == "log":
                log = True
            else:
                try:
                    step = float(parts[2])
                except ValueError:
                    raise SweepError(f"sweep parameter {name!r}: the third part is 'log' or a step, got {parts[2]!r}", name) from None
        return SweepParameter(name=name, low=low, high=high, log=log, step=step)
    return SweepParameter(name=name, choices=[c.strip() for c in value.split(",")])


def check(pipeline: Pipeline, request: SweepRequest) -> list[SweepParameter]:
    """The request's space, typed and checked against ``pipeline`` (raises :class:`SweepError`)."""
    known = {p.name: p for p in pipeline.parameters}
    names = ", ".join(sorted(known)) or "none; the notebook has no pipeline-parameters cell"
    metrics = {m.name for m in pipeline.metrics}
    if request.objective not in metrics:
        listed = ", ".join(sorted(metrics)) or "none; the notebook has no pipeline-metrics cell"
        raise SweepError(f"objective {request.objective!r} is not a metric of {pipeline.name!r} (metrics: {listed})")
    if not request.space:
        raise SweepError("the search space is empty: give at least one parameter to sweep (-p NAME=...)")
    if request.trials is not None and request.trials < 1:
        raise SweepError(f"a budget of {request.trials} trials runs nothing: give --trials 1 or more")
    if request.max_time is not None and request.max_time <= 0:
        raise SweepError(f"a time budget of {request.max_time} s runs nothing")
    if request.parallel is not None and request.parallel < 1:
        raise SweepError(f"parallel must be 1 or more, got {request.parallel}")
    seen: set[str] = set()
    out: list[SweepParameter] = []
    for sp in request.space:
        param = known.get(sp.name)
        if param is None:
            raise SweepError(f"unknown parameter {sp.name!r} (pipeline {pipeline.name!r} parameters: {names})", sp.name)
        if sp.name in seen:
            raise SweepError(f"parameter {sp.name!r} is swept twice", sp.name)
        seen.add(sp.name)
        if sp.name in request.parameters:
            raise SweepError(f"parameter {sp.name!r} is both swept and fixed", sp.name)
        where = f"parameter {sp.name!r} ({param.type}, default {param.default!r} in cell {param.cell + 1})"
        out.append(_typed(sp, param, where))
    return out


def _typed(sp: SweepParameter, param: Any, where: str) -> SweepParameter:
    if sp.choices is not None:
        if sp.low is not None or sp.high is not None:
            raise SweepError(f"{where}: give choices or a range, not both", sp.name)
        if not sp.choices:
            raise SweepError(f"{where}: no choices", sp.name)
        try:
            choices = [coerce(param, c) for c in sp.choices]
        except (ValueError, ParameterError) as exc:
            raise SweepError(f"{where}: {exc}", sp.name) from None
        if len({repr(c) for c in choices}) != len(choices):
            raise SweepError(f"{where}: a choice is given twice", sp.name)
        return sp.model_copy(update={"choices": choices})
    if sp.low is None or sp.high is None:
        raise SweepError(f"{where}: give choices or a range (low and high)", sp.name)
    if param.type not in ("int", "float"):
        raise SweepError(f"{where}: a range needs an int or float parameter; give choices (A,B,C) instead", sp.name)
    low, high = sp.low, sp.high
    if param.type == "int" and (low != int(low) or high != int(high) or (sp.step and sp.step != int(sp.step))):
        raise SweepError(f"{where}: an int parameter needs whole-number bounds and step", sp.name)
    if not low < high:
        raise SweepError(f"{where}: the range {low:g}:{high:g} is empty (low must be below high)", sp.name)
    if sp.log and low <= 0:
        raise SweepError(f"{where}: a log range needs low > 0", sp.name)
    if sp.log and sp.step:
        raise SweepError(f"{where}: a range is on a log scale or in steps, not both", sp.name)
    if sp.step is not None and sp.step <= 0:
        raise SweepError(f"{where}: the step must be positive", sp.name)
    return sp


def is_int(pipeline: Pipeline, sp: SweepParameter) -> bool:
    return pipeline.parameter(sp.name).type == "int"


def distributions(pipeline: Pipeline, space: list[SweepParameter]) -> dict[str, Any]:
    """Optuna distributions for ``study.ask``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for sp in space:
        if sp.choices is not None:
            out[sp.name] = CategoricalDistribution(sp.choices)
        elif is_int(pipeline, sp):
            out[sp.name] = IntDistribution(int(sp.low), int(sp.high), log=sp.log, step=int(sp.step or 1))  # type: ignore[arg-type]
        else:
            out[sp.name] = FloatDistribution(sp.low, sp.high, log=sp.log, step=sp.step)  # type: ignore[arg-type]
    return out


def grid(pipeline: Pipeline, space: list[SweepParameter]) -> dict[str, list[Any]]:
    """The points of each dimension for a grid search (ranges need a step, or are int ranges)."""
    out: dict[str, list[Any]] = {}
    size = 1
    for sp in space:
        if sp.choices is not None:
            values = list(sp.choices)
        elif is_int(pipeline, sp) and not sp.log:
            values = list(range(int(sp.low), int(sp.high) + 1, int(sp.step or 1)))  # type: ignore[arg-type]
        elif sp.step:
            n = int(math.floor((sp.high - sp.low) / sp.step + 1e-9))  # type: ignore[operator]
            values = [round(sp.low + i * sp.step, 12) for i in range(n + 1)]  # type: ignore[operator]
        else:
            raise SweepError(
                f"parameter {sp.name!r}: a grid search needs choices or a range with a step "
                f"(LOW:HIGH:STEP), not a continuous{' log' if sp.log else ''} range", sp.name
            )
        size *= len(values)
        if size > GRID_LIMIT:
            raise SweepError(f"the grid has more than {GRID_LIMIT} points; give fewer values or larger steps")
        out[sp.name] = values
    return out
