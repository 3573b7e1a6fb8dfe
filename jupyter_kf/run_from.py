"""Runs from a step (`--from STEP`) or of one step (`--only STEP`): choose the run whose upstream
values are reused and refuse, naming the step and value, when it cannot serve them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .executor.partial import PartialRunError, missing_inputs, restrict, selected
from .models import RunRequest, RunStatus

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from .store import RunStore


def prepare_partial(
    store: RunStore, pipeline: Pipeline, request: RunRequest, notebook: str
) -> tuple[Pipeline, RunRequest]:
    """The restricted pipeline and the request with ``inputs_from`` chosen and checked."""
    if request.backend != "local":
        raise PartialRunError(f"running from a step is supported on the local backend only, not {request.backend!r}")
    run_steps = selected(pipeline, request.from_step, request.only_step)
    what = f"step {request.from_step or request.only_step!r}"
    if request.inputs_from:
        if not store.has_run(request.inputs_from):
            raise PartialRunError(f"run {request.inputs_from} is not in {store.path}, the store of {notebook}")
        inputs = store.get_run(request.inputs_from)
        problems = missing_inputs(store, pipeline, run_steps, inputs)
        if problems:
            raise PartialRunError(
                f"cannot run {what} of {notebook} with the values of run {inputs.id}:\n  " + "\n  ".join(problems)
            )
    else:
        inputs = None
        first: list[str] = []
        for run in store.list_runs(notebook, limit=200):
            if run.status != RunStatus.succeeded:
                continue
            problems = missing_inputs(store, pipeline, run_steps, run)
            if not problems:
                inputs = run
                break
            first = first or [f"run {run.id}: {p}" for p in problems]
        if inputs is None:
            why = ("\n  " + "\n  ".join(first)) if first else " (it has no successful run)"
            raise PartialRunError(
                f"cannot run {what} of {notebook}: no successful run has the values it needs; "
                f"run the whole pipeline first{why}"
            )
    return restrict(pipeline, run_steps), request.model_copy(update={"inputs_from": inputs.id})
