"""Running part of a pipeline: `--from STEP` (the step and everything downstream) or `--only STEP`.

The steps upstream of the selection are not run: their values, executed notebooks and written
files are taken over from an earlier run (``Reuse``, as a retry does). The pipeline of such a run
keeps the selected steps and their ancestors only; steps unrelated to the selection are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import StepStatus
from .reuse import Reuse

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..models import Run
    from ..store import RunStore

_FINISHED = (StepStatus.succeeded, StepStatus.cached)


class PartialRunError(ValueError):
    """A step selection or an inputs run that cannot serve it (says which step and value)."""


def _descendants(pipeline: Pipeline, name: str) -> set[str]:
    out = {name}
    for s in pipeline.steps:  # notebook order is a topological order
        if any(d in out for d in s.depends_on):
            out.add(s.name)
    return out


def ancestors(pipeline: Pipeline, names: set[str]) -> set[str]:
    """Every step upstream of ``names`` (not including them)."""
    out: set[str] = set()
    todo = [d for n in names for d in pipeline.step(n).depends_on]
    while todo:
        d = todo.pop()
        if d not in out:
            out.add(d)
            todo += pipeline.step(d).depends_on
    return out - names


def selected(pipeline: Pipeline, from_step: str | None, only_step: str | None) -> set[str]:
    """The steps a partial run executes."""
    if from_step and only_step:
        raise PartialRunError("give either a step to run from or a single step to run, not both")
    name = from_step or only_step
    known = [s.name for s in pipeline.steps]
    if name not in known:
        raise PartialRunError(f"pipeline {pipeline.name!r} has no step {name!r} (steps: {', '.join(known)})")
    return {name} if only_step else _descendants(pipeline, name)


def restrict(pipeline: Pipeline, run_steps: set[str]) -> Pipeline:
    """The pipeline with the selected steps and their ancestors only (in notebook order)."""
    keep = run_steps | ancestors(pipeline, run_steps)
    return pipeline.model_copy(
        update={
            "steps": [s for s in pipeline.steps if s.name in keep],
            "edges": [e for e in pipeline.edges if e.source in keep and e.target in keep],
            "metrics": [m for m in pipeline.metrics if m.step in keep],
        }
    )


def _origin(store: RunStore, run: Run, step: str) -> str | None:
    """The run that actually executed ``step`` for ``run`` (cache chains followed), or None."""
    try:
        s = run.step(step)
    except KeyError:
        return None
    if s.status not in _FINISHED:
        return None
    return s.cached_from if s.status == StepStatus.cached and s.cached_from else run.id


def missing_inputs(store: RunStore, pipeline: Pipeline, run_steps: set[str], inputs_run: Run) -> list[str]:
    """Why ``inputs_run`` cannot serve the selection: one line per missing step or value."""
    from jupyter_kf_converter.runtime import read_manifest

    problems: list[str] = []
    for name in sorted(ancestors(pipeline, run_steps)):
        origin = _origin(store, inputs_run, name)
        if origin is None or not store.step_notebook_path(origin, name).is_file():
            problems.append(f"step {name!r} did not finish in run {inputs_run.id}")
    bad = {p.split("'")[1] for p in problems}
    for s in pipeline.steps:
        if s.name not in run_steps:
            continue
        for i in s.inputs:
            if i.kind != "value" or i.producer in run_steps or i.producer in bad:
                continue
            try:
                manifest = read_manifest(store.values_dir(inputs_run.id), i.producer)
            except FileNotFoundError:
                manifest = {}
            if i.name not in manifest:
                problems.append(
                    f"step {s.name!r} needs {i.name!r} from step {i.producer!r}, which run {inputs_run.id} does not have"
                )
    return problems


def upstream_reuse(store: RunStore, pipeline: Pipeline, run_steps: set[str], inputs_run: Run) -> dict[str, Reuse]:
    """``Reuse`` of every step upstream of the selection, taken from ``inputs_run``."""
    reuse: dict[str, Reuse] = {}
    for name in ancestors(pipeline, run_steps):
        origin = _origin(store, inputs_run, name)
        if origin is None:
            raise PartialRunError(f"step {name!r} did not finish in run {inputs_run.id}")
        s = inputs_run.step(name)
        reuse[name] = Reuse(
            origin,
            store.step_notebook_path(origin, name),
            store.values_dir(origin, name),
            store.step_log_path(origin, name),
            s.cache_key,
            s.duration,
        )
    return reuse
