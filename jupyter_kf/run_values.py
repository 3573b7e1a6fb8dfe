"""Values of past runs, loaded back into a notebook kernel or a script.

A step "saw" the values it loaded from its upstream steps (its inputs) and those it saved for
its dependents; both are read through the runtime's own ``load_value`` (the formats the steps use:
``.npy`` memory-mapped, Parquet, pickle). By default: the notebook's latest successful run and
its last step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .models import RunStatus

if TYPE_CHECKING:
    from pathlib import Path

    from .models import Run
    from .service import PipelineService
    from .store import RunStore

RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4,}$")


class ValueNotFound(LookupError):
    """A run, step or value name that is not there (says which ones are)."""


@dataclass
class LoadedValue:
    name: str
    value: Any
    type: str
    bytes: int
    step: str  # the step that produced it
    run: str
    format: str


def latest_successful(service: PipelineService, notebook: str | Path) -> Run:
    for run in service.list_runs(notebook, limit=200):
        if run.status == RunStatus.succeeded:
            return run
    raise ValueNotFound(f"{notebook} has no successful run yet")


def sources(store: RunStore, run: Run, step: str) -> dict[str, str]:
    """``{name: producing step}`` of the values ``step`` saw in ``run`` (its inputs, then its outputs)."""
    from jupyter_kf_converter.runtime import read_manifest

    from .reproduce import recorded_pipeline

    try:
        run.step(step)
    except KeyError:
        raise ValueNotFound(f"run {run.id} has no step {step!r} (steps: {', '.join(s.name for s in run.steps)})") from None
    pipeline = recorded_pipeline(store, run.id)
    found = {i.name: i.producer for i in pipeline.step(step).inputs if i.kind == "value"}
    try:
        found.update({n: step for n in read_manifest(store.values_dir(run.id), step)})
    except FileNotFoundError:
        pass
    return found


def _entry(store: RunStore, run_id: str, producer: str, name: str) -> dict[str, Any]:
    from jupyter_kf_converter.runtime import read_manifest

    try:
        return read_manifest(store.values_dir(run_id), producer).get(name, {})
    except FileNotFoundError:
        return {}


def load_values(
    service: PipelineService,
    run_id: str | None = None,
    step: str | None = None,
    names: list[str] | tuple[str, ...] = (),
    notebook: str | Path | None = None,
) -> list[LoadedValue]:
    """Load values of a run (default: ``notebook``'s latest successful run; its last step; every
    value that step saw)."""
    from jupyter_kf_converter.runtime import load_value as runtime_load

    if run_id is None:
        if notebook is None:
            raise ValueNotFound("give a run id, or the notebook whose latest successful run to load from")
        run = latest_successful(service, notebook)
    else:
        run = service.get_run(run_id)
    store = service.store_of(run.id)
    if step is None:
        if not run.steps:
            raise ValueNotFound(f"run {run.id} has no steps")
        step = run.steps[-1].name
    available = sources(store, run, step)
    wanted = list(names) or list(available)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        raise ValueNotFound(
            f"step {step!r} of run {run.id} saw no value {', '.join(map(repr, unknown))} "
            f"(it saw: {', '.join(available) or 'none'})"
        )
    out = []
    for name in wanted:
        producer = available[name]
        value = runtime_load(store.values_dir(run.id), producer, name)
        e = _entry(store, run.id, producer, name)
        out.append(
            LoadedValue(
                name, value, e.get("type") or type(value).__name__, int(e.get("bytes", 0)), producer, run.id, e.get("format", "")
            )
        )
    return out


def load_value(run: str, step: str, name: str, *, service: PipelineService | None = None) -> Any:
    """The value ``name`` that step ``step`` of run ``run`` saw (loaded from its producer)."""
    from .service import PipelineService

    own = service is None
    svc = service or PipelineService(".")
    try:
        return load_values(svc, run, step, [name])[0].value
    finally:
        if own:
            svc.close()


def parse_load_args(tokens: list[str], steps_of: Any) -> tuple[str | None, str | None, list[str]]:
    """``[RUN] [STEP] [NAMES...]``: a first token shaped like a run id is the run; the next token
    is the step when the run (``steps_of(run_id_or_None) -> list[str]``) has a step of that name."""
    run = tokens[0] if tokens and RUN_ID.match(tokens[0]) else None
    rest = tokens[1:] if run else list(tokens)
    step = None
    if rest and rest[0] in steps_of(run):
        step, rest = rest[0], rest[1:]
    return run, step, rest
