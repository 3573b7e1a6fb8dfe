"""Pipeline IR -> one papermill-ready notebook per step.

Each step notebook holds, in order (every generated cell has ``metadata.jupyter_kf.role``):

1. ``parameters`` (tagged ``parameters``): the pipeline parameters the step uses, with their
   defaults, and ``_kf_values_dir = "kf-values"``;
2. the pipeline's ``imports`` then ``functions`` cells;
3. ``load``: creates the step's :class:`~jupyter_kf_converter.runtime.StepValues`, loads the
   inputs of kind "value" and replays the import statements of inputs of kind "import";
4. the step's own cells (``role`` "step"), outputs cleared; markdown and raw cells are carried as
   documentation and never executed;
5. ``save``: saves the outputs later steps use (``save_outputs(globals(), name=[consumers])``:
   an output the step did not define is an error naming it, the step and its consumers),
   records the step's metrics, writes the manifest.

Copied cells keep their original cell index in ``metadata.jupyter_kf.source_cell``, so an error in
an executed step notebook points back at the source notebook.

For runners: execute a step notebook with stock papermill, with ``cwd`` = the run's working folder
(steps of a run share it), and pass ``_kf_values_dir`` as a papermill parameter (a path relative
to that folder or absolute) together with any overridden pipeline parameters. Values go to
``<_kf_values_dir>/<step>/`` (see :mod:`jupyter_kf_converter.runtime`); to rerun a step, clear
that folder first so a failed rerun leaves no stale manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .ir import Cell, Pipeline, Step

if TYPE_CHECKING:
    from nbformat import NotebookNode

VALUES_DIR_PARAMETER = "_kf_values_dir"
DEFAULT_VALUES_DIR = "kf-values"
RUNTIME_HANDLE = "_kf"
# Tags papermill gives a meaning to; a copied cell must not carry them.
_PAPERMILL_TAGS = {"parameters", "injected-parameters"}


def consumers_of(pipeline: Pipeline, step: Step) -> dict[str, list[str]]:
    """For each output of ``step``: the steps that load it, in pipeline order."""
    result: dict[str, list[str]] = {name: [] for name in step.outputs}
    for other in pipeline.steps:
        for inp in other.inputs:
            if inp.kind == "value" and inp.producer == step.name and inp.name in result:
                result[inp.name].append(other.name)
    return result


def _q(text: str) -> str:
    """A Python string literal in double quotes, as notebooks usually write them."""
    return json.dumps(text, ensure_ascii=False)


# Notebooks are built as plain nbformat 4.5 JSON, as parse.py reads them: importing nbformat costs
# ~1.3 s here (its schema validator's format checkers), which `compile --steps-dir` and the KFP/Argo
# targets would pay for nothing. Tests validate the result against nbformat's schema.
def _cell(cell_type: str, source: str, cell_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
    # Fixed cell ids: emitting the same pipeline twice gives the same notebook (specs embedding it
    # stay stable, and so do caches keyed on them).
    cell: dict[str, Any] = {"cell_type": cell_type, "id": cell_id, "metadata": metadata, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _code(source: str, role: str) -> dict[str, Any]:
    return _cell("code", source, f"kf-{role}", {"jupyter_kf": {"role": role}})


def _copy(cell: Cell, role: str) -> dict[str, Any]:
    """A source cell copied into a step notebook: outputs cleared, original index kept."""
    metadata: dict[str, Any] = {}
    tags = [t for t in cell.tags if t not in _PAPERMILL_TAGS]
    if tags:
        metadata["tags"] = tags
    metadata["jupyter_kf"] = {"role": role, "source_cell": cell.index}
    return _cell(cell.cell_type, cell.source, f"cell-{cell.index}", metadata)


def parameters_source(pipeline: Pipeline, step: Step) -> str:
    lines = ["# Parameters of this step (papermill overrides these)"]
    for name in step.parameters:
        default = pipeline.parameter(name).default
        lines.append(f"{name} = {_q(default) if isinstance(default, str) else repr(default)}")
    lines.append(f"{VALUES_DIR_PARAMETER} = {_q(DEFAULT_VALUES_DIR)}")
    return "\n".join(lines)


def load_source(step: Step) -> str:
    values = [i for i in step.inputs if i.kind == "value"]
    imports = [i for i in step.inputs if i.kind == "import"]
    head = "inputs saved by earlier steps" if values or imports else "this step loads no values"
    lines = [
        f"# jupyter-kf: {head}",
        "from jupyter_kf_converter.runtime import StepValues",
        f"{RUNTIME_HANDLE} = StepValues({VALUES_DIR_PARAMETER}, step={_q(step.name)})",
    ]
    for inp in values:
        lines.append(f"{inp.name} = {RUNTIME_HANDLE}.load({_q(inp.name)}, producer={_q(inp.producer)})")
    for inp in imports:
        statement = inp.statement or f"import {inp.name}"
        lines.append(f"{statement}  # as in step {_q(inp.producer)}")
    return "\n".join(lines)


def save_source(pipeline: Pipeline, step: Step) -> str:
    lines = ["# jupyter-kf: save the values later steps use, and this step's metrics"]
    # Outputs are looked up in globals() by name, so one the step did not define (e.g. assigned
    # only under an `if`) is an error naming it, the step and its consumers, not a bare NameError.
    outputs = [
        f"{name}=[{', '.join(_q(c) for c in consumers)}]"
        for name, consumers in consumers_of(pipeline, step).items()
    ]
    if outputs:
        call = f"{RUNTIME_HANDLE}.save_outputs(globals(), {', '.join(outputs)})"
        if len(call) > 100:
            call = "\n".join(
                [f"{RUNTIME_HANDLE}.save_outputs(", "    globals(),", *(f"    {o}," for o in outputs), ")"]
            )
        lines.append(call)
    if step.metrics:
        pairs = ", ".join(f"{_q(m)}: {m}" for m in step.metrics)
        lines.append(f"{RUNTIME_HANDLE}.save_metrics({{{pairs}}})")
    lines.append(f"{RUNTIME_HANDLE}.finish()")
    return "\n".join(lines)


def emit_notebook(pipeline: Pipeline, step_name: str) -> dict[str, Any]:
    """The papermill-ready notebook of one step as nbformat 4.5 JSON (layout: module docstring)."""
    step = pipeline.step(step_name)
    params = _code(parameters_source(pipeline, step), "parameters")
    params["metadata"]["tags"] = ["parameters"]
    cells = [
        params,
        *(_copy(c, "imports") for c in pipeline.imports),
        *(_copy(c, "functions") for c in pipeline.functions),
        _code(load_source(step), "load"),
        *(_copy(c, "step") for c in step.cells),
        _code(save_source(pipeline, step), "save"),
    ]
    metadata = {
        "kernelspec": pipeline.kernel.model_dump(),
        "language_info": {"name": pipeline.kernel.language},
        "jupyter_kf": {"pipeline": pipeline.name, "step": step.name},
    }
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def notebook_json(nb: dict[str, Any], *, compact: bool = False) -> str:
    """A notebook as .ipynb text (nbformat's own layout, or compact for embedding in specs)."""
    if compact:
        return json.dumps(nb, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return json.dumps(nb, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def emit_step(pipeline: Pipeline, step_name: str) -> NotebookNode:
    """`emit_notebook` as an ``nbformat.NotebookNode`` (imports nbformat)."""
    import nbformat

    return nbformat.from_dict(emit_notebook(pipeline, step_name))


def emit_steps(pipeline: Pipeline, out_dir: str | Path) -> dict[str, Path]:
    """Write ``<out_dir>/<step>.ipynb`` for every step; return ``{step: path}``.

    Raises ``ValueError`` listing the problems when the pipeline has errors: its step notebooks
    would not run as the notebook does.
    """
    errors = [p for p in pipeline.problems if p.severity == "error"]
    if errors:
        listing = "\n".join(f"  - {p.message}" for p in errors)
        raise ValueError(f"pipeline {pipeline.name!r} has {len(errors)} error(s); not emitting:\n{listing}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for step in pipeline.steps:
        path = out / f"{step.name}.ipynb"
        path.write_text(notebook_json(emit_notebook(pipeline, step.name)), encoding="utf-8")
        paths[step.name] = path
    return paths
