"""Blocks + analysis -> a validated ``Pipeline``; ``compile_notebook()``.

What the emit/runtime and backends can rely on (the subtleties):

- ``Step.cells``: the step's own cells in notebook order, code *and* documentation (markdown/raw,
  never executed); skipped cells, imports, functions, parameters and metrics cells are not in any
  step. ``Pipeline.imports``/``Pipeline.functions``: code cells only, prepended to every step.
- ``Step.inputs``: one per name the step reads that an *earlier step* provides, with the nearest
  earlier definer as ``producer`` (notebook order). ``kind == "import"``: the producer bound the name
  with an ``import`` statement; replay ``statement`` instead of loading a value. A step that mutates
  an upstream object (``df["a"] = 1``, ``model.fit(X, y)``, see ``analyze``) has it both as an input
  and as a define, and later users take it from the mutating step. A step that binds a name only on
  some paths (inside ``if``/``for``/``try``) also loads its upstream value, if there is one.
  Mutating an imported module (``pd.options.x = 1``) is not data.
- ``Step.outputs``: exactly the names later steps take from this step as *values* (sorted).
- ``Step.parameters``: pipeline parameters the step reads, directly or through a function of the
  ``functions`` cells it calls, plus those the imports/functions cells read (they run in every
  step). A step that assigns a parameter's name shadows it for later steps (a warning).
- ``Step.metrics``: metrics of the ``pipeline-metrics`` cell this step records (the nearest
  earlier step defining the name). ``Pipeline.metrics`` lists them with their step.
- ``Step.depends_on``: upstream steps of every edge (inferred and ``prev:``), in notebook order.
  ``Pipeline.edges``: one edge per (source, target); ``kind`` is ``explicit`` when a ``prev:`` tag
  asks for it (it still carries the inferred ``names``), else ``inferred``.
- Names: step names are mapped to Kubernetes names (lowercased, ``_`` -> ``-``); ``prev:`` tags are
  resolved through the same mapping. An invalid or duplicate name is a problem, and the IR keeps a
  sanitized/unique stand-in so it stays usable for display.
- Problems: ``cell`` is the 0-based index in the notebook's ``cells``, ``line`` 1-based within the
  cell. Human-readable messages (and ``format_problem``) count cells from 1, as a reader would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .analyze import KERNEL_NAMES, Binding, BlockAnalysis, Use, analyze_cells
from .ir import (
    Cell, Edge, Input, KernelSpec, Metric, Parameter, Pipeline, Placement, Problem, Resources, SecretRef, Step,
)
from .kale_metadata import KEY as KALE_KEY
from .kale_metadata import read_kale_metadata
from .names import NAME_RULE, is_k8s_name, k8s_name, sanitize_name
from .parse import Block, ParsedNotebook, parse_notebook, read_notebook
from .pipeline_cells import find_cycles, metric_names, parameter_assignments, parameter_type
from .tags import parse_secret, parse_tags

__all__ = ["compile_notebook", "format_problem", "is_k8s_name", "k8s_name", "plan_notebook", "sanitize_name"]


def compile_notebook(source: Any, *, notebook_path: str | os.PathLike | None = None) -> Pipeline:
    """Compile a notebook (path, notebook dict or NotebookNode) into a validated Pipeline.

    Never raises for an invalid pipeline (see ``Pipeline.problems``); raises ``ConverterError``
    only when the notebook cannot be read.
    """
    nb, shown = read_notebook(source, notebook_path)
    return plan_notebook(nb, shown)


def plan_notebook(nb: dict, path: str) -> Pipeline:
    return _Planner(nb, path).build()


def format_problem(p: Problem, notebook: str | None = None) -> str:
    """``notebook.ipynb: cell 4 (step train): error: message`` (cells counted from 1)."""
    where = []
    if notebook:
        where.append(notebook)
    if p.cell is not None:
        loc = f"cell {p.cell + 1}"
        if p.line is not None:
            loc += f", line {p.line}"
        if p.step:
            loc += f" (step {p.step})"
        where.append(loc)
    elif p.step:
        where.append(f"step {p.step}")
    return ": ".join([*where, p.severity, p.message])


@dataclass
class _Definer:
    pos: int
    block: Block
    binding: Binding | None  # None for parameters
    step: str | None = None  # IR step name when the block is a step


@dataclass
class _StepState:
    block: Block
    pos: int
    name: str
    analysis: BlockAnalysis
    inputs: dict[str, Input] = field(default_factory=dict)
    parameters: set[str] = field(default_factory=set)
    outputs: set[str] = field(default_factory=set)
    metrics: list[str] = field(default_factory=list)
    uses: set[str] = field(default_factory=set)
    prev: list[tuple[str, int]] = field(default_factory=list)  # (raw name, cell)


class _Planner:
    def __init__(self, nb: dict, path: str) -> None:
        self.nb = nb
        self.path = path
        self.problems: list[Problem] = []
        meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
        self.meta = meta
        ours = meta.get("jupyter_kf") if isinstance(meta.get("jupyter_kf"), dict) else {}
        self.ours, self.kale = ours, read_kale_metadata(meta.get(KALE_KEY))
        for key, message in self.kale.warnings:
            self.problem("kale-metadata-ignored", message, name=key, severity="warning")
        self.default_limits: dict[str, str] = {}
        for resource, quantity in self.kale.limits.items():
            bad = parse_tags([f"limit:{resource}:{quantity}"]).problems
            if bad:
                self.problem("kale-metadata-ignored", f"notebook metadata {KALE_KEY}.steps_defaults: "
                             f"{bad[0].message}; ignored", name=f"{KALE_KEY}.steps_defaults", severity="warning")
            else:
                self.default_limits[resource] = quantity
        self.default_secrets = self._default_secrets()
        stem = Path(path).stem if path and path != "<notebook>" else "pipeline"
        self.name = self._pipeline_name(sanitize_name(stem))

    def problem(self, code: str, message: str, *, cell: int | None = None, line: int | None = None,
                step: str | None = None, name: str | None = None, severity: str = "error") -> None:
        self.problems.append(Problem(severity=severity, code=code, message=message, cell=cell, line=line,
                                     step=step, name=name))

    def _default_secrets(self) -> list[tuple[str, dict[str, str]]]:
        """``metadata.jupyter_kf.secrets``: `secret:` tag values every step gets."""
        raw = self.ours.get("secrets") or []
        if not isinstance(raw, list):
            raw = [raw]
        out = []
        for item in raw:
            parsed = parse_secret(item) if isinstance(item, str) else "a string"
            if isinstance(parsed, str):
                self.problem("invalid-setting", f"notebook metadata jupyter_kf.secrets: {item!r} is not "
                             f"a secret: expected {parsed}", name="jupyter_kf.secrets")
            else:
                out.append(parsed)
        return out

    def _volumes(self) -> dict[str, str]:
        """Pipeline-wide volume modes: metadata ``jupyter_kf.volumes``, then `volume:` tags."""
        from .tags import VOLUME_MODES

        out: dict[str, str] = {}
        raw = self.ours.get("volumes") or {}
        for claim, mode in (raw.items() if isinstance(raw, dict) else []):
            if mode in VOLUME_MODES:
                out[str(claim)] = mode
            else:
                self.problem("invalid-setting", f"notebook metadata jupyter_kf.volumes: {claim!r} has mode "
                             f"{mode!r}; expected one of {', '.join(VOLUME_MODES)}", name="jupyter_kf.volumes")
        tagged: dict[str, tuple[str, int]] = {}
        for st in self.steps.values():
            for c in st.block.cells:
                if c.cell_type != "code":
                    continue
                for claim, mode in c.parsed.volumes.items():
                    if claim in tagged and tagged[claim][0] != mode:
                        self.problem("conflicting-tags", f"volume {claim!r} is tagged {tagged[claim][0]} in cell "
                                     f"{tagged[claim][1] + 1} and {mode} here; a volume has one mode per run",
                                     cell=c.index, step=st.name, name=claim)
                    tagged.setdefault(claim, (mode, c.index))
        out.update({claim: mode for claim, (mode, _) in tagged.items()})
        return out

    def _pipeline_name(self, derived: str) -> str:
        given = self.ours.get("name") or self.kale.pipeline_name
        if not given:
            return derived
        if isinstance(given, str) and is_k8s_name(given):
            return given
        self.problem("invalid-pipeline-name",
                     f"pipeline name {given!r} from the notebook metadata is not a valid Kubernetes name "
                     f"({NAME_RULE}); using {derived!r}", name=str(given))
        return derived

    # -- build ----------------------------------------------------------------------------------
    def build(self) -> Pipeline:
        parsed = parse_notebook(self.nb, self.path, self.name)
        self.parsed = parsed
        self.cell_step: dict[int, str] = {}
        self.steps = self._name_steps(parsed)
        for cell, tp in parsed.tag_problems:
            self.problem(tp.code, tp.message, cell=cell, step=self.cell_step.get(cell), name=tp.tag,
                         severity=tp.severity)
        self._misplaced_options(parsed)
        self._left_out(parsed)

        self.analyses: dict[int, BlockAnalysis] = {}
        for pos, block in enumerate(parsed.blocks):
            if block.kind in ("imports", "functions", "step", "skip"):
                self.analyses[pos] = analyze_cells([(c.index, c.source) for c in block.code_cells])
        for pos, a in self.analyses.items():
            block = parsed.blocks[pos]
            if block.kind == "skip":
                continue
            step = self.steps[pos].name if pos in self.steps else None
            for err in a.syntax_errors:
                self.problem("syntax-error", f"cannot parse the cell: {err.message}", cell=err.cell,
                             line=err.line, step=step)
            for cell, line, module in a.star_imports:
                self.problem("star-import",
                             f"'from {module} import *' hides which names it binds: names used later cannot "
                             f"be checked or passed between steps; import the names explicitly",
                             cell=cell, line=line, step=step, severity="warning")
        for st in self.steps.values():
            st.analysis = self.analyses[st.pos]

        self.parameters = self._parameters(parsed)
        self._aliases_across_steps(parsed)
        self._index_definers(parsed)
        self._check_prelude(parsed)
        for pos in sorted(self.steps):
            self._resolve_step(self.steps[pos])
        metrics = self._metrics(parsed)
        edges = self._edges()
        if not self.steps:
            self.problem("no-steps", "the notebook has no steps: tag a code cell with step:<name>, or remove "
                                     "all tags to run the whole notebook as one step")
        return self._assemble(parsed, metrics, edges)

    # -- steps and names ------------------------------------------------------------------------
    def _name_steps(self, parsed: ParsedNotebook) -> dict[int, _StepState]:
        steps: dict[int, _StepState] = {}
        taken: dict[str, _StepState] = {}
        for pos, block in enumerate(parsed.blocks):
            if block.kind != "step":
                continue
            raw = block.name or "step"
            name = k8s_name(raw)
            first = block.first_cell
            if not is_k8s_name(name):
                fixed = sanitize_name(raw, "step")
                self.problem("invalid-step-name",
                             f"step name {raw!r} is not a valid Kubernetes name: after lowercasing and "
                             f"turning '_' into '-', it must be {NAME_RULE} (e.g. {fixed!r})",
                             cell=first, step=fixed, name=raw)
                name = fixed
            if name in taken:
                other = taken[name]
                same = other.block.name == raw
                why = "" if same else f" ({raw!r} and {other.block.name!r} both map to {name!r})"
                self.problem("duplicate-step",
                             f"step {name!r} is defined twice{why}: at cell {other.block.first_cell + 1} and here; "
                             f"a step's cells must be contiguous: rename one, or tag the cells in between",
                             cell=first, step=name, name=name)
                n = 2
                while f"{name}-{n}" in taken:
                    n += 1
                name = f"{name}-{n}"
            st = _StepState(block, pos, name, BlockAnalysis())
            taken[name] = st
            steps[pos] = st
            for c in block.cells:
                self.cell_step[c.index] = name
                st.prev += [(p, c.index) for p in c.parsed.prev]
        self.by_name = taken
        return steps

    def _left_out(self, parsed: ParsedNotebook) -> None:
        if not parsed.left_out:
            return
        cells = parsed.left_out
        listing = (f"cell {cells[0] + 1}" if len(cells) == 1
                   else "cells " + ", ".join(str(c + 1) for c in cells))
        self.problem("untagged-cells-left-out",
                     f"{listing} come{'s' if len(cells) == 1 else ''} before the first tagged cell and "
                     f"{'is' if len(cells) == 1 else 'are'} left out of the pipeline, as Kale leaves them out: "
                     f"to run {'it' if len(cells) == 1 else 'them'} as a step, tag cell {cells[0] + 1} "
                     f"step:<name> (and add prev:<name> to the steps that need its effects, e.g. files it "
                     f"downloads); to run {'it' if len(cells) == 1 else 'them'} before every step "
                     f"(e.g. !pip install), tag it imports", cell=cells[0], severity="warning")

    def _misplaced_options(self, parsed: ParsedNotebook) -> None:
        kind_names = {"imports": "an imports", "functions": "a functions", "parameters": "the pipeline-parameters",
                      "metrics": "the pipeline-metrics", "skip": "a skipped"}
        for block in parsed.blocks:
            if block.kind == "step":
                continue
            for c in block.code_cells:
                for tag in c.parsed.option_tags:
                    self.problem("misplaced-tag",
                                 f"tag {tag!r} on {kind_names[block.kind]} cell has no effect: put it on a cell of a step",
                                 cell=c.index, name=tag, severity="warning")

    # -- parameters -----------------------------------------------------------------------------
    def _parameters(self, parsed: ParsedNotebook) -> dict[str, Parameter]:
        params: dict[str, Parameter] = {}
        for block in parsed.blocks:
            if block.kind != "parameters":
                continue
            for c in block.code_cells:
                found, issues = parameter_assignments(c.source)
                for code, message, line, name in issues:
                    self.problem(code, message, cell=c.index, line=line, name=name)
                for name, value, line in found:
                    if name in params:
                        self.problem("duplicate-parameter",
                                     f"parameter {name!r} is assigned again (first at cell {params[name].cell + 1}); "
                                     f"the last value is used", cell=c.index, line=line, name=name, severity="warning")
                    params[name] = Parameter(name=name, type=parameter_type(value), default=value, cell=c.index)
        return params

    # -- definers and resolution ----------------------------------------------------------------
    def _aliases_across_steps(self, parsed: ParsedNotebook) -> None:
        """A step that mutates ``combine``, which an earlier step built as ``[train_df, test_df]``,
        mutates ``train_df`` and ``test_df`` too: it loads and redefines them (later steps take them
        from it; the runtime keeps ``combine``'s items the very objects loaded as ``train_df``...)."""
        holds: dict[str, frozenset[str]] = {}  # name -> names it holds, per the latest block binding it
        for pos, block in enumerate(parsed.blocks):
            if block.kind not in ("imports", "functions", "step"):
                continue
            a = self.analyses[pos]
            if block.kind == "step":
                for name, b in list(a.defines.items()):
                    if b.kind != "mutation" or name in a.aliases:
                        continue
                    for held in sorted(holds.get(name, ())):
                        if held not in a.defines:
                            a.defines[held] = Binding("mutation", b.cell, b.line)
                            a.uses.setdefault(held, Use(held, b.cell, b.line))
            for name, b in list(a.defines.items()):
                if name in a.aliases:
                    holds[name] = a.aliases[name]
                elif b.kind != "mutation":
                    holds.pop(name, None)

    def _index_definers(self, parsed: ParsedNotebook) -> None:
        self.definers: dict[str, list[_Definer]] = {}
        self.prelude_names: dict[str, str] = {}  # names from imports/functions cells -> kind
        self.prelude_functions: dict[str, set[str]] = {}
        for pos, block in enumerate(parsed.blocks):
            if block.kind == "parameters":
                for c in block.code_cells:
                    for name, p in self.parameters.items():
                        if p.cell == c.index:
                            self.definers.setdefault(name, []).append(_Definer(pos, block, None))
            elif block.kind in ("imports", "functions", "step"):
                a = self.analyses[pos]
                step = self.steps[pos].name if pos in self.steps else None
                for name, binding in a.defines.items():
                    self.definers.setdefault(name, []).append(_Definer(pos, block, binding, step))
                    if block.kind != "step":
                        self.prelude_names.setdefault(name, block.kind)
                if block.kind == "functions" or block.kind == "imports":
                    self.prelude_functions.update(a.functions)
        # where names can appear unseen: star imports, exec(), globals()[...], %run, %store -r
        self.unseen: list[tuple[int, str]] = []  # (block pos, "'from m import *' at cell N")
        for pos, a in sorted(self.analyses.items()):
            if parsed.blocks[pos].kind == "skip":
                continue
            self.unseen += [(pos, f"'from {m} import *' at cell {c + 1}") for c, _, m in a.star_imports]
            self.unseen += [(pos, f"{what} at cell {c + 1}") for c, _, what in a.dynamic]

    def _nearest(self, name: str, pos: int) -> _Definer | None:
        best = None
        for d in self.definers.get(name, ()):
            if d.pos < pos:
                best = d
        return best

    def _origin(self, name: str, pos: int) -> _Definer | None:
        """The definer a block at ``pos`` reads ``name`` from; mutations of imported names are not data."""
        d = self._nearest(name, pos)
        if d is not None and d.block.kind == "step" and d.binding is not None and d.binding.kind == "mutation":
            origin = self._origin(name, d.pos)
            if origin is not None and (
                origin.block.kind in ("imports", "functions")
                or (origin.binding is not None and origin.binding.kind == "import")
            ):
                return origin
        return d

    def _check_prelude(self, parsed: ParsedNotebook) -> None:
        """Imports/functions cells run first in every step: they may read only each other and parameters."""
        self.prelude_parameters: set[str] = set()
        for pos, block in enumerate(parsed.blocks):
            if block.kind not in ("imports", "functions"):
                continue
            for use in self.analyses[pos].uses.values():
                if use.via is not None:  # function bodies: resolved in each step that calls them
                    continue
                if use.name in self.parameters:
                    self.prelude_parameters.add(use.name)
                elif use.name in self.prelude_names or use.name in KERNEL_NAMES or use.soft:
                    continue
                else:
                    where = "an imports" if block.kind == "imports" else "a functions"
                    self.problem("undefined-name",
                                 f"name {use.name!r} used in {where} cell is not defined by an import, function or "
                                 f"parameter (imports and functions cells run before a step's inputs are loaded)",
                                 cell=use.cell, line=use.line, name=use.name,
                                 severity="warning" if self.unseen else "error")

    def _function_closure(self, fname: str) -> list[str]:
        """Free names a prelude function (and the prelude functions it calls) reads at call time."""
        out: list[str] = []
        seen = {fname}
        todo = [fname]
        while todo:
            for n in sorted(self.prelude_functions.get(todo.pop(), ())):
                if n in self.prelude_functions:
                    if n not in seen:
                        seen.add(n)
                        todo.append(n)
                elif n not in self.prelude_names and n not in out:
                    out.append(n)
        return out

    def _resolve_step(self, st: _StepState) -> None:
        st.parameters |= self.prelude_parameters
        uses = sorted(st.analysis.uses.values(), key=lambda u: (u.cell, u.line))
        queue = list(uses)
        seen = {u.name for u in uses}
        while queue:
            use = queue.pop(0)
            d = self._origin(use.name, st.pos)
            if d is not None:
                kind = d.block.kind
            elif use.name in self.parameters:  # a parameters cell further down still applies
                kind = "parameters"
            elif use.name in self.prelude_names:  # so do imports/functions cells further down
                kind = self.prelude_names[use.name]
            else:
                self._unresolved(st, use)
                continue
            st.uses.add(use.name)
            if kind == "parameters":
                st.parameters.add(use.name)
            elif kind in ("imports", "functions"):
                if use.name in self.prelude_functions:
                    for n in self._function_closure(use.name):
                        if n not in seen and n not in st.analysis.defines:
                            seen.add(n)
                            queue.append(Use(n, use.cell, use.line, False, f"function {use.name!r}"))
            else:  # an earlier step
                assert d is not None
                producer = self.steps[d.pos]
                if d.binding is not None and d.binding.kind == "import":
                    st.inputs[use.name] = Input(name=use.name, producer=producer.name, kind="import",
                                                statement=d.binding.statement)
                else:
                    st.inputs[use.name] = Input(name=use.name, producer=producer.name)
                    producer.outputs.add(use.name)
        for name in st.analysis.defines:
            if name in self.parameters and any(self.steps[p].pos > st.pos for p in self.steps):
                b = st.analysis.defines[name]
                self.problem("parameter-rebound",
                             f"step {st.name!r} assigns {name!r}, a pipeline parameter: later steps that read "
                             f"{name!r} get this step's value, not the parameter", cell=b.cell, line=b.line,
                             step=st.name, name=name, severity="warning")

    def _unresolved(self, st: _StepState, use: Use) -> None:
        if use.name in KERNEL_NAMES or use.soft:
            return
        what = f"name {use.name!r}" + (f" (read by {use.via})" if use.via else "")
        msg = f"{what} is not defined by any earlier step, import or parameter"
        later = [d for d in self.definers.get(use.name, ()) if d.pos > st.pos and d.step]
        skipped = [(a.defines[use.name].cell, self.parsed.blocks[pos].implicit) for pos, a in self.analyses.items()
                   if self.parsed.blocks[pos].kind == "skip" and use.name in a.defines]
        if later:
            msg += f" (step {later[0].step!r} defines it later, at cell {later[0].binding.cell + 1})"
        elif skipped:
            cell, left_out = skipped[0]
            msg += (f" (only cell {cell + 1} defines it, which is untagged before the first tagged cell and so "
                    f"left out: tag it step:<name> or imports)" if left_out
                    else f" (only a skipped cell defines it, cell {cell + 1})")
        unseen = [what for p, what in self.unseen if p <= st.pos or self.parsed.blocks[p].kind != "step"]
        if unseen:
            msg += f"; it may come from {unseen[0]}"
        self.problem("undefined-name", msg, cell=use.cell, line=use.line, step=st.name, name=use.name,
                     severity="warning" if unseen else "error")

    # -- metrics --------------------------------------------------------------------------------
    def _metrics(self, parsed: ParsedNotebook) -> list[Metric]:
        metrics: list[Metric] = []
        for pos, block in enumerate(parsed.blocks):
            if block.kind != "metrics":
                continue
            for c in block.code_cells:
                found, issues = metric_names(c.source)
                for code, message, line, name in issues:
                    self.problem(code, message, cell=c.index, line=line, name=name)
                for name, line in found:
                    if any(m.name == name for m in metrics):
                        continue
                    d = self._origin(name, pos)
                    if name in self.parameters and (d is None or d.block.kind == "parameters"):
                        recorder = self._parameter_metric_step(name)
                        if recorder is not None:
                            recorder.parameters.add(name)
                            recorder.metrics.append(name)
                            metrics.append(Metric(name=name, step=recorder.name, cell=c.index))
                        continue
                    if d is None or d.block.kind != "step":
                        why = "no step defines it before the pipeline-metrics cell"
                        if d is not None:
                            why = f"it comes from the {d.block.kind} cells, not from a step"
                        self.problem("metric-undefined", f"metric {name!r} does not exist: {why}",
                                     cell=c.index, line=line, name=name)
                        continue
                    producer = self.steps[d.pos]
                    producer.metrics.append(name)
                    metrics.append(Metric(name=name, step=producer.name, cell=c.index))
        return metrics

    def _parameter_metric_step(self, name: str) -> _StepState | None:
        """Kale lets the metrics cell print a parameter: the last step reading it records it (else the
        last step), so its value is recorded with the run like any metric."""
        ordered = sorted(self.steps.values(), key=lambda s: s.pos)
        readers = [st for st in ordered if name in st.parameters]
        return (readers or ordered or [None])[-1]

    # -- edges ----------------------------------------------------------------------------------
    def _edges(self) -> list[Edge]:
        order = {st.name: st.pos for st in self.steps.values()}
        edges: dict[tuple[str, str], Edge] = {}
        for st in self.steps.values():
            for inp in st.inputs.values():
                e = edges.setdefault((inp.producer, st.name), Edge(source=inp.producer, target=st.name, kind="inferred"))
                if inp.name not in e.names:
                    e.names.append(inp.name)
        for st in sorted(self.steps.values(), key=lambda s: s.pos):
            for raw, cell in st.prev:
                target = k8s_name(raw)
                if target not in order:
                    known = ", ".join(s.name for s in sorted(self.steps.values(), key=lambda s: s.pos))
                    self.problem("prev-unknown", f"prev:{raw} names no step; the steps are: {known}",
                                 cell=cell, step=st.name, name=raw)
                    continue
                if target == st.name:
                    self.problem("cycle", f"step {st.name!r} lists itself in prev:{raw}", cell=cell,
                                 step=st.name, name=raw)
                    continue
                if order[target] > st.pos:
                    self.problem("prev-later",
                                 f"prev:{raw} names step {target!r}, which comes later in the notebook (cell "
                                 f"{self.by_name[target].block.first_cell + 1}); a step can only follow earlier steps",
                                 cell=cell, step=st.name, name=raw)
                e = edges.setdefault((target, st.name), Edge(source=target, target=st.name, kind="explicit"))
                e.kind = "explicit"
        for e in edges.values():
            e.names.sort()
        ordered = sorted(edges.values(), key=lambda e: (order[e.target], order[e.source]))
        self._cycles(ordered, order)
        return ordered

    def _cycles(self, edges: list[Edge], order: dict[str, int]) -> None:
        for cycle in find_cycles([(e.source, e.target) for e in edges], order):
            first = self.by_name[cycle[0]]
            self.problem("cycle", "steps depend on each other in a cycle: " + " -> ".join(cycle),
                         cell=first.block.first_cell, step=cycle[0])

    # -- assembly -------------------------------------------------------------------------------
    def _assemble(self, parsed: ParsedNotebook, metrics: list[Metric], edges: list[Edge]) -> Pipeline:
        deps: dict[str, list[str]] = {}
        for e in edges:
            deps.setdefault(e.target, []).append(e.source)
        steps = [self._step(st, deps.get(st.name, [])) for st in sorted(self.steps.values(), key=lambda s: s.pos)]
        kernel = self.meta.get("kernelspec") if isinstance(self.meta.get("kernelspec"), dict) else {}
        cache = self.ours.get("cache")
        image = self.ours.get("image") or self.kale.image or None
        self.problems.sort(key=lambda p: (p.cell if p.cell is not None else -1, p.line or 0))
        return Pipeline(
            name=self.name,
            notebook=self.path,
            description=self.kale.description or parsed.description,
            kernel=KernelSpec(name=kernel.get("name", "python3"), display_name=kernel.get("display_name", "Python 3"),
                              language=kernel.get("language", "python")),
            imports=[_cell(c) for b in parsed.blocks if b.kind == "imports" for c in b.code_cells],
            functions=[_cell(c) for b in parsed.blocks if b.kind == "functions" for c in b.code_cells],
            parameters=list(self.parameters.values()),
            metrics=metrics,
            steps=steps,
            edges=edges,
            image=image if isinstance(image, str) else None,
            cache=cache if isinstance(cache, bool) else True,
            volumes=self._volumes(),
            problems=self.problems,
        )

    def _step(self, st: _StepState, depends_on: list[str]) -> Step:
        limits: dict[str, str] = {}
        options: dict[str, Any] = {}
        secrets = list(self.default_secrets)
        placement = Placement()
        for c in st.block.cells:
            if c.cell_type != "code":
                continue
            t = c.parsed
            for res, q in t.limits.items():
                if res in limits and limits[res] != q:
                    self._conflict(st, c.index, f"limit:{res}", limits[res], q)
                limits[res] = q
            secrets += [ref for ref in t.secrets if ref not in secrets]
            placement.node_selector.update(t.node_selector)
            placement.tolerations += [tol for tol in t.tolerations if tol not in placement.tolerations]
            for key in ("gpu_vendor", "shm"):
                if getattr(t, key) is not None:
                    setattr(placement, key, getattr(t, key))
            for key in ("image", "cache", "timeout", "retries"):
                value = getattr(t, key)
                if value is None:
                    continue
                if key in options and options[key] != value:
                    self._conflict(st, c.index, key, options[key], value)
                options[key] = value
        a = st.analysis
        return Step(
            name=st.name,
            cells=[_cell(c) for c in st.block.cells],
            defines=list(a.defines),
            uses=sorted(st.uses),
            inputs=sorted(st.inputs.values(), key=lambda i: i.name),
            outputs=sorted(st.outputs),
            parameters=sorted(st.parameters),
            metrics=st.metrics,
            depends_on=depends_on,
            resources=Resources(limits={**self.default_limits, **limits}),
            image=options.get("image"),
            cache=options.get("cache"),
            timeout=options.get("timeout"),
            retries=options.get("retries") or 0,
            secrets=[SecretRef(name=n, env=e) for n, e in secrets],
            placement=placement,
        )

    def _conflict(self, st: _StepState, cell: int, key: str, old: Any, new: Any) -> None:
        self.problem("conflicting-tags", f"step {st.name!r} sets {key} twice ({old!r}, then {new!r}); the last wins",
                     cell=cell, step=st.name, name=key, severity="warning")


def _cell(c) -> Cell:
    return Cell(index=c.index, cell_type=c.cell_type, source=c.source, tags=[t for t in c.tags if isinstance(t, str)])
