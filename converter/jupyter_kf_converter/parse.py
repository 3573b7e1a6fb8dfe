"""Notebook -> ordered blocks (imports, functions, parameters, metrics, steps, skipped cells).

The notebook is read as plain JSON (importing nbformat costs over a second here, through
jsonschema); nbformat is imported only to upgrade a v3 notebook.

Rules (docs/architecture.md, "Tags"):

Kale's reading rules (docs/kale-compatibility.md), which these follow:

- A cell tagged ``imports``/``functions``/``pipeline-parameters``/``pipeline-metrics``/
  ``step:<name>`` (``block:<name>``) opens a block of that kind; untagged code cells, and cells
  tagged ``step:``/``block:`` with an empty name, continue the block above. Consecutive cells
  tagged with the same step name (after the Kubernetes mapping, so ``load_data`` and
  ``load-data`` are the same) form one step; the same name again after another block is a
  duplicate (reported by the plan).
- A ``skip`` cell is dropped and changes nothing else: untagged cells after it continue the block
  that was open before it (the same step, or the imports...).
- No role or step tag anywhere: the whole notebook is one step named after the notebook.
- Untagged code cells before the first tagged cell (or after leading ``skip`` cells) are left out,
  as Kale leaves them out (``ParsedNotebook.left_out``; the plan warns), except a cell of only
  imports (and line magics), which joins the imports, and a cell of only ``def``/``class`` (and
  imports), which joins the functions.
- Markdown and raw cells are documentation: kept in the step they sit in. Those outside a step
  (before the first step, or after imports/functions/parameters/metrics/skip cells) go with the
  next step, so a heading stays with the step it introduces; trailing ones go to the last step.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConverterError
from .names import k8s_name
from .tags import CellTags, TagProblem, parse_tags


@dataclass
class NbCell:
    index: int
    cell_type: str  # code | markdown | raw
    source: str
    tags: list[str]
    parsed: CellTags = field(default_factory=CellTags)


@dataclass
class Block:
    kind: str  # imports | functions | parameters | metrics | skip | step
    cells: list[NbCell] = field(default_factory=list)
    name: str | None = None  # the raw step name as tagged
    implicit: bool = False  # the single step of an untagged notebook; skip: cells left out untagged

    @property
    def first_cell(self) -> int:
        code = [c.index for c in self.cells if c.cell_type == "code"]
        return code[0] if code else self.cells[0].index

    @property
    def code_cells(self) -> list[NbCell]:
        return [c for c in self.cells if c.cell_type == "code"]


@dataclass
class ParsedNotebook:
    path: str
    metadata: dict[str, Any]
    cells: list[NbCell]
    blocks: list[Block]
    tag_problems: list[tuple[int, TagProblem]]  # (cell index, problem)
    tagged: bool  # False: the notebook had no role/step tags at all
    description: str | None = None
    left_out: list[int] = field(default_factory=list)  # untagged code cells before the first tag


def read_notebook(source: Any, notebook_path: str | os.PathLike | None = None) -> tuple[dict, str]:
    """Load a notebook from a path, a dict or an ``NotebookNode``; returns (notebook, path)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        shown = str(notebook_path or source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConverterError(f"cannot read notebook {shown}: no such file", path=shown) from None
        except IsADirectoryError:
            raise ConverterError(f"cannot read notebook {shown}: it is a directory", path=shown) from None
        except UnicodeDecodeError as exc:
            raise ConverterError(f"cannot read notebook {shown}: not UTF-8 text ({exc.reason})", path=shown) from None
        except OSError as exc:
            raise ConverterError(f"cannot read notebook {shown}: {exc.strerror or exc}", path=shown) from None
        try:
            nb = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConverterError(
                f"cannot read notebook {shown}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                path=shown,
            ) from None
    elif isinstance(source, dict):
        shown = str(notebook_path) if notebook_path else "<notebook>"
        nb = source
    else:
        raise ConverterError(f"cannot read notebook from a {type(source).__name__}; give a path or a notebook dict")
    return _upgrade(nb, shown), shown


def _upgrade(nb: Any, shown: str) -> dict:
    if not isinstance(nb, dict):
        raise ConverterError(f"cannot read notebook {shown}: the JSON is not an object", path=shown)
    major = nb.get("nbformat")
    if isinstance(major, int) and major < 4:
        import nbformat  # slow, and only for old notebooks

        try:
            nb = nbformat.convert(nbformat.from_dict(nb), 4)
        except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds; say which file
            raise ConverterError(f"cannot read notebook {shown}: nbformat {major} upgrade failed: {exc}", path=shown) from None
    if not isinstance(nb.get("cells"), list):
        raise ConverterError(f"cannot read notebook {shown}: no 'cells' list (is it a Jupyter notebook?)", path=shown)
    return nb


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v if isinstance(v, str) else str(v) for v in value)
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _cells(nb: dict, shown: str) -> list[NbCell]:
    out = []
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict):
            raise ConverterError(f"cannot read notebook {shown}: cell {i} is not an object", path=shown)
        cell_type = cell.get("cell_type", "code")
        if cell_type not in ("code", "markdown", "raw"):
            raise ConverterError(f"cannot read notebook {shown}: cell {i} has unknown type {cell_type!r}", path=shown)
        meta = cell.get("metadata")
        tags = (meta if isinstance(meta, dict) else {}).get("tags") or []
        if not isinstance(tags, list):
            tags = [tags]
        out.append(NbCell(i, cell_type, _text(cell.get("source")), list(tags)))
    return out


def _leading_kind(source: str) -> str | None:
    """Where an untagged code cell before the first tag goes: imports, functions, step or None (empty)."""
    from .ipython import parse_source

    try:
        tree = parse_source(source)
    except SyntaxError:
        return "step"
    kinds = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            kinds.add("imports")
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kinds.add("functions")
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue  # a docstring
        elif isinstance(stmt, ast.Expr) and _is_line_magic(stmt.value):
            kinds.add("imports")  # %matplotlib inline, %load_ext ...
        else:
            return "step"
    if not kinds:
        return None
    return "functions" if "functions" in kinds else "imports"


def _is_line_magic(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run_line_magic"
        and isinstance(node.func.value, ast.Call)
        and getattr(node.func.value.func, "id", None) == "get_ipython"
    )


def parse_notebook(nb: dict, path: str, default_step_name: str) -> ParsedNotebook:
    """Split a notebook dict into ordered blocks."""
    cells = _cells(nb, path)
    tag_problems: list[tuple[int, TagProblem]] = []
    for c in cells:
        if c.cell_type == "code":
            c.parsed = parse_tags(c.tags)
            tag_problems += [(c.index, p) for p in c.parsed.problems]
    tagged = any(c.parsed.role for c in cells if c.cell_type == "code")
    description = _description(cells)
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    if not tagged:
        blocks = [Block("step", list(cells), default_step_name, True)] if cells else []
        return ParsedNotebook(path, meta, cells, blocks, tag_problems, False, description)

    blocks: list[Block] = []
    pending_docs: list[NbCell] = []
    current: Block | None = None  # the block untagged cells continue (opened by a tag)
    last_step: Block | None = None
    lead: Block | None = None  # imports/functions block of leading untagged cells
    left_out: list[int] = []

    def open_block(kind: str, name: str | None = None) -> Block:
        nonlocal last_step
        block = Block(kind, [], name)
        if kind == "step":
            block.cells += pending_docs
            pending_docs.clear()
            last_step = block
        blocks.append(block)
        return block

    def skip(c: NbCell, implicit: bool = False) -> None:
        last = blocks[-1] if blocks else None
        if last is None or last.kind != "skip" or last.implicit != implicit:
            last = Block("skip", [], None, implicit)
            blocks.append(last)
        last.cells.append(c)

    for c in cells:
        if c.cell_type != "code":
            if current is not None and current.kind == "step":
                current.cells.append(c)
            else:
                pending_docs.append(c)
            continue
        role = c.parsed.role
        if role is None:  # untagged, or an empty step:/block: tag: continue the block above
            if current is not None:
                current.cells.append(c)
                continue
            # before any tagged block (Kale leaves these out): keep imports/definitions only
            kind = _leading_kind(c.source)
            if kind is None:
                pending_docs.append(c)  # empty or comments only: carried into the next step
            elif kind == "step":
                skip(c, implicit=True)
                left_out.append(c.index)
            else:
                if lead is None or lead.kind != kind or blocks[-1] is not lead:
                    lead = open_block(kind)
                lead.cells.append(c)
            continue
        if role == "skip":  # dropped; untagged cells after it continue the block open before it
            skip(c)
            continue
        if role == "step":
            same = k8s_name(c.parsed.step or "")
            if current is None or current.kind != "step" or k8s_name(current.name or "") != same:
                current = open_block("step", c.parsed.step)
        elif current is None or current.kind != role:
            current = open_block(role)
        current.cells.append(c)
    if pending_docs and last_step is not None:
        last_step.cells.extend(pending_docs)
    return ParsedNotebook(path, meta, cells, blocks, tag_problems, True, description, left_out)


def _description(cells: list[NbCell]) -> str | None:
    """The first line of a markdown cell that comes before any code cell, without its '#'s."""
    for c in cells:
        if c.cell_type == "code":
            return None
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                line = line.strip().lstrip("#").strip()
                if line:
                    return line
    return None
