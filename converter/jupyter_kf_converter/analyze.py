"""Names each block defines and uses, from Python's ``ast``.

A block (a step, or the imports/functions cells) is scanned cell by cell, statement by statement,
in execution order, so ``x = x + 1`` *uses* an upstream ``x`` and then defines its own. The rules:

- Assignment, augmented assignment, ``for``/``with``/``except ... as``, walrus, ``match``
  captures, ``def``/``class`` and imports bind names at the block's top level.
- ``df["a"] = ...``, ``obj.attr = ...``, ``del df["a"]`` and in-place method calls
  (``items.append(x)``, ``model.fit(X, y)``, ``df.drop(..., inplace=True)``; see
  ``scopes.MUTATING_METHODS``) *mutate* an object: the block uses it and redefines it (binding kind
  ``mutation``), so later users depend on the mutating block. Other method calls are not seen as
  mutation: reassign (``df = df.method()``) when in doubt.
- Aliases: ``b = a``, ``combine = [train_df, test_df]`` (lists, tuples, sets, dict values, ``list()``,
  ``zip()``, ``enumerate()``, ``d.items()``..., see ``aliases``) and ``for dataset in combine`` make
  the bound name hold those objects (``BlockAnalysis.aliases``, live at the block's end). Mutating
  it mutates them too: ``for dataset in [train_df, test_df]: dataset["x"] = 1`` redefines
  ``train_df`` and ``test_df``. The plan extends this across steps (a step mutating ``combine``
  built by an earlier step mutates what ``combine`` holds).
- ``del x`` uses ``x`` and unbinds it.
- A name bound only on some paths (inside ``if``/``for``/``while``/``try``/``match``) is also a
  soft use, so the block loads the upstream value, if any, and still has one on the other paths.
- Comprehensions, lambdas, functions and classes have their own scopes. The free names inside a
  ``def`` body are read at call time: they count as uses of the defining block, unless the block
  already bound them before the ``def``; if it binds them only later, the use is *soft* (an input
  if an earlier step defines it, never an undefined-name error). Names assigned in a function under
  ``global`` are defines of the block.
- ``import`` binds with kind ``import`` and remembers a one-name statement to replay
  (``Input.kind == "import"``); ``from m import *`` is recorded so the plan can warn.
- IPython syntax: a cell is parsed with ``ast.parse`` first and only on ``SyntaxError`` transformed
  by IPython's ``TransformerManager`` (imported lazily: it costs ~0.1 s). ``%%time``/``%%timeit``/
  ``%%capture``/``%%prun`` bodies and ``%time``/``%timeit``/``%prun`` lines are analysed as Python;
  ``%%capture out`` and ``%%bash --out o`` bind their variable; ``$name`` and ``{expr}`` expansions in
  ``!shell`` lines and magic arguments are soft uses (IPython leaves unknown ones to the shell).
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Literal

from .aliases import alias_targets, target_names
from .ipython import (
    PY_BODY_MAGICS,
    SCRIPT_MAGICS,
    TIMEIT_OPTS,
    const_str,
    expansion_names,
    ipython_call,
    parse_source,
)
from .scopes import (
    FUNCS,
    assigned_in,
    base_name,
    free_names,
    function_free,
    mutating_calls,
    signature_parts,
    walrus_targets,
)

BindingKind = Literal["value", "import", "mutation"]

#: Names every IPython kernel provides without a definition.
KERNEL_NAMES = frozenset(dir(builtins)) | {
    "get_ipython", "display", "In", "Out", "exit", "quit", "_", "__", "___", "_i", "_ii", "_iii",
    "_ih", "_oh", "_dh", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__",
    "__package__", "__file__",
}


_DYNAMIC = frozenset({"exec", "globals"})


@dataclass
class Binding:
    """The last top-level binding of a name in a block."""

    kind: BindingKind
    cell: int
    line: int
    statement: str | None = None  # for imports: a statement binding just this name


@dataclass
class Use:
    """The first read of a name the block does not bind before reading it."""

    name: str
    cell: int
    line: int
    soft: bool = False  # input if some earlier block defines it, never an undefined-name error
    via: str | None = None  # e.g. "function 'plot'"


@dataclass
class CellError:
    cell: int
    line: int | None
    message: str


@dataclass
class BlockAnalysis:
    defines: dict[str, Binding] = field(default_factory=dict)  # live at the end of the block
    uses: dict[str, Use] = field(default_factory=dict)
    functions: dict[str, set[str]] = field(default_factory=dict)  # top-level def/class -> free names
    star_imports: list[tuple[int, int, str]] = field(default_factory=list)  # (cell, line, module)
    # names bound where analysis cannot see: exec(), globals()[...], %run, %store -r
    dynamic: list[tuple[int, int, str]] = field(default_factory=list)  # (cell, line, what)
    syntax_errors: list[CellError] = field(default_factory=list)
    ever_bound: set[str] = field(default_factory=set)
    aliases: dict[str, frozenset[str]] = field(default_factory=dict)  # name -> names it holds


def _import_statement(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> str:
    if isinstance(node, ast.Import):
        return ast.unparse(ast.Import(names=[alias]))
    return ast.unparse(ast.ImportFrom(module=node.module, names=[alias], level=node.level))


# -- the sequential top-level scanner -----------------------------------------------------------


class BlockScanner:
    """Scans the cells of one block in order; ``finish()`` returns its ``BlockAnalysis``."""

    def __init__(self) -> None:
        self.result = BlockAnalysis()
        self.bound = self.result.defines
        self.aliases = self.result.aliases
        self._deferred: list[Use] = []
        self._deferred_defines: dict[str, Binding] = {}
        self.cell = 0
        self._offset = 0
        self._cond = 0  # > 0 inside if/for/while/try/match bodies

    # public ---------------------------------------------------------------------------------
    def scan_cell(self, cell: int, source: str) -> None:
        self.cell = cell
        try:
            tree = parse_source(source)
        except SyntaxError as exc:
            line = exc.lineno if isinstance(exc.lineno, int) else None
            self.result.syntax_errors.append(CellError(cell, line, exc.msg or str(exc)))
            return
        self.scan_tree(tree, 0)

    def scan_tree(self, tree: ast.Module, offset: int) -> None:
        saved, self._offset = self._offset, offset
        for stmt in tree.body:
            self.stmt(stmt)
        self._offset = saved

    def finish(self) -> BlockAnalysis:
        for use in self._deferred:
            if use.name in self.result.uses:
                continue
            if use.name in self.result.ever_bound:
                use.soft = True
            self.result.uses[use.name] = use
        for name, binding in self._deferred_defines.items():
            self.bound.setdefault(name, binding)
            self.result.ever_bound.add(name)
        return self.result

    # recording --------------------------------------------------------------------------------
    def _line(self, node: ast.AST) -> int:
        return getattr(node, "lineno", 1) + self._offset

    def load(self, name: str, line: int, *, soft: bool = False, via: str | None = None) -> None:
        if name in self.bound:
            return
        prev = self.result.uses.get(name)
        if prev is None:
            self.result.uses[name] = Use(name, self.cell, line, soft, via)
        elif prev.soft and not soft:
            prev.soft, prev.cell, prev.line, prev.via = False, self.cell, line, via

    def store(self, name: str, line: int, kind: BindingKind = "value", statement: str | None = None,
              keep_alias: bool = False) -> None:
        if not keep_alias:
            self.aliases.pop(name, None)
        if self._cond and name not in self.bound:
            # bound only on some paths: keep an upstream value for the others (a soft use)
            self.load(name, line, soft=True)
        self.bound[name] = Binding(kind, self.cell, line, statement)
        self.result.ever_bound.add(name)

    def loads(self, nodes: list[ast.AST]) -> None:
        """Evaluate expressions: reads first, then walrus bindings."""
        for node in nodes:
            if node is None:
                continue
            for name, line in free_names([node], set()):
                self.load(name, line + self._offset)
            for sub in ast.walk(node):
                call = ipython_call(sub)
                if call:
                    self._ipython(call[0], call[1], self._line(sub))
                elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id in _DYNAMIC:
                    self.result.dynamic.append((self.cell, self._line(sub), f"{sub.func.id}()"))
            for name in walrus_targets(node):
                self.store(name, self._line(node))
            for base, line in mutating_calls(node):
                self._mutated(base, line + self._offset)

    def target(self, node: ast.AST) -> None:
        """Bind an assignment target (after its value was evaluated)."""
        if isinstance(node, ast.Name):
            self.store(node.id, self._line(node))
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.target(elt)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        elif isinstance(node, (ast.Subscript, ast.Attribute)):
            self.mutate(node)

    def mutate(self, node: ast.Subscript | ast.Attribute) -> None:
        """``base[...] = ``/``base.attr = ``/``del base[...]``: reads base, then redefines it."""
        self.loads([node.value])
        if isinstance(node, ast.Subscript):
            self.loads([node.slice])
        base = base_name(node)
        if base is not None:
            self._mutated(base, self._line(node))

    def _mutated(self, base: str, line: int) -> None:
        """``base`` (already read) was changed in place: the block redefines it, and what it holds."""
        self._mark_mutated(base, line)
        for held in sorted(self.aliases.get(base, ())):
            self.load(held, line)
            self._mark_mutated(held, line)

    def _mark_mutated(self, name: str, line: int) -> None:
        if name in self.bound:  # already ours: keep its kind (a mutated module stays an import)
            old = self.bound[name]
            self.store(name, line, old.kind, old.statement, keep_alias=True)
        else:
            self.store(name, line, "mutation", keep_alias=True)

    def _alias(self, targets: list[ast.AST], value: ast.AST | None) -> None:
        """After binding ``targets`` to ``value``: remember which objects the names now hold."""
        if (len(targets) == 1 and isinstance(targets[0], (ast.Tuple, ast.List))
                and isinstance(value, (ast.Tuple, ast.List)) and len(targets[0].elts) == len(value.elts)
                and not any(isinstance(e, ast.Starred) for e in (*targets[0].elts, *value.elts))):
            for t, v in zip(targets[0].elts, value.elts):  # a, b = x, y: pairwise
                self._alias([t], v)
            return
        held = alias_targets(value, self.aliases)
        for t in targets:
            for name in target_names(t):
                if held - {name}:
                    self.aliases[name] = held - {name}

    # statements -------------------------------------------------------------------------------
    def body(self, stmts: list[ast.stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, node: ast.stmt) -> None:
        line = self._line(node)
        if isinstance(node, ast.Assign):
            self.loads([node.value])
            for t in node.targets:
                self.target(t)
            self._alias(node.targets, node.value)
        elif isinstance(node, ast.AugAssign):
            self.loads([node.value])
            if isinstance(node.target, ast.Name):
                self.load(node.target.id, line)
                self.store(node.target.id, line)
            else:
                self.target(node.target)
        elif isinstance(node, ast.AnnAssign):
            self.loads([node.annotation, node.value])
            if node.value is not None or not isinstance(node.target, ast.Name):
                self.target(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.loads([node.iter])
            self._cond += 1  # the loop may not run
            self.target(node.target)
            self._alias([node.target], node.iter)  # each item holds what the iterable holds
            self.body(node.body)
            self.body(node.orelse)
            self._cond -= 1
        elif isinstance(node, (ast.While, ast.If)):
            self.loads([node.test])
            self._cond += 1
            self.body(node.body)
            self.body(node.orelse)
            self._cond -= 1
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.loads([item.context_expr])
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.body(node.body)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self._cond += 1  # any statement may raise; handlers and else may not run
            self.body(node.body)
            for h in node.handlers:
                self.loads([h.type])
                if h.name:
                    self.store(h.name, self._line(h))
                self.body(h.body)
            self.body(node.orelse)
            self._cond -= 1
            self.body(node.finalbody)
        elif isinstance(node, FUNCS):
            self.loads(signature_parts(node))
            self._function(node.name, node)
            self.store(node.name, line)
        elif isinstance(node, ast.ClassDef):
            self.loads([*node.bases, *node.keywords, *node.decorator_list])
            self._class(node)
            self.store(node.name, line)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    module = "." * getattr(node, "level", 0) + (getattr(node, "module", None) or "")
                    self.result.star_imports.append((self.cell, line, module))
                    continue
                name = alias.asname or alias.name.split(".")[0]
                self.store(name, line, "import", _import_statement(node, alias))
        elif isinstance(node, ast.Delete):
            for t in node.targets:
                self._delete(t)
        elif isinstance(node, ast.Match):
            self.loads([node.subject])
            self._cond += 1
            for case in node.cases:
                self.loads(_pattern_values(case.pattern))
                for sub in ast.walk(case.pattern):
                    name = getattr(sub, "name", None) or getattr(sub, "rest", None)
                    if isinstance(sub, (ast.MatchAs, ast.MatchStar, ast.MatchMapping)) and name:
                        self.store(name, self._line(sub))
                self.loads([case.guard])
                self.body(case.body)
            self._cond -= 1
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)) or (
            isinstance(node, ast.Expr) and self._magic_statement(node.value)
        ):
            pass  # nothing to read, or a magic whose Python body was analysed instead
        else:  # Expr, Return, Raise, Assert, ...
            self.loads(list(ast.iter_child_nodes(node)))

    def _delete(self, t: ast.AST) -> None:
        if isinstance(t, ast.Name):
            self.load(t.id, self._line(t))
            self.bound.pop(t.id, None)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for elt in t.elts:
                self._delete(elt)
        elif isinstance(t, (ast.Subscript, ast.Attribute)):
            self.mutate(t)

    def _function(self, name: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        free, global_stores = function_free(node)
        self.result.functions[name] = {n for n, _ in free}
        self._defer(free, via=f"function {name!r}")
        for g in global_stores:
            self._deferred_defines.setdefault(g, Binding("value", self.cell, self._line(node)))

    def _class(self, node: ast.ClassDef) -> None:
        class_bound, _ = assigned_in(node.body)
        free: list[tuple[str, int]] = []
        for stmt in node.body:
            if isinstance(stmt, FUNCS):
                free += free_names([stmt], set())
            else:  # class body runs now
                for n, ln in free_names([stmt], class_bound):
                    self.load(n, ln + self._offset)
        self.result.functions[node.name] = {n for n, _ in free}
        self._defer(free, via=f"class {node.name!r}")

    def _defer(self, free: list[tuple[str, int]], via: str) -> None:
        for n, ln in free:
            if n not in self.bound:
                self._deferred.append(Use(n, self.cell, ln + self._offset, False, via))

    # IPython ----------------------------------------------------------------------------------
    def _magic_statement(self, value: ast.AST) -> bool:
        """Statement-level magics whose body is Python: analyse the body instead of the call."""
        call = ipython_call(value)
        if not call:
            return False
        method, args = call
        texts = [const_str(a) for a in args]
        if method == "run_line_magic" and len(texts) >= 2 and texts[0] in PY_BODY_MAGICS and texts[1] is not None:
            code = TIMEIT_OPTS.sub("", texts[1]) if texts[0] in ("timeit", "prun") else texts[1]
            return self._nested(code, self._line(value) - 1)
        if method == "run_cell_magic" and len(texts) >= 3 and None not in texts[:3]:
            magic, line, body = texts[0], texts[1], texts[2]
            line_no = self._line(value)
            for n in expansion_names(line):
                self.load(n, line_no, soft=True)
            if magic == "capture" and line.split() and line.split()[-1].isidentifier():
                self._nested_or_skip(body, line_no)
                self.store(line.split()[-1], line_no)
                return True
            if magic in PY_BODY_MAGICS:
                self._nested_or_skip(body, line_no)
                return True
            if magic in SCRIPT_MAGICS:
                for opt in re.findall(r"--(?:out|err|proc)\s+([A-Za-z_]\w*)", line):
                    self.store(opt, line_no)
            return True  # other cell magics: the body is not Python
        return False

    def _nested(self, code: str, offset: int) -> bool:
        try:
            tree = parse_source(code)
        except SyntaxError:
            return False
        self.scan_tree(tree, offset)
        return True

    def _nested_or_skip(self, code: str, offset: int) -> None:
        if not self._nested(code, offset):
            self.result.syntax_errors.append(CellError(self.cell, offset + 1, "invalid Python in cell magic body"))

    def _ipython(self, method: str, args: list[ast.expr], line: int) -> None:
        """Soft uses from ``$x``/``{x}`` expansions in shell commands and magic lines."""
        texts = [const_str(a) for a in args]
        if method == "run_line_magic" and texts and (texts[0] == "run" or (
                texts[0] == "store" and len(texts) > 1 and "-r" in (texts[1] or "").split())):
            self.result.dynamic.append((self.cell, line, f"%{texts[0]}"))
        if method in ("system", "getoutput") and texts and texts[0]:
            text = texts[0]
        elif method == "run_line_magic" and len(texts) >= 2 and texts[1]:
            if texts[0] in PY_BODY_MAGICS:
                return
            text = texts[1]
        else:
            return
        for n in expansion_names(text):
            self.load(n, line, soft=True)


def _pattern_values(pattern: ast.AST) -> list[ast.AST]:
    """Value expressions inside a match pattern (``case Color.RED``, class patterns)."""
    out: list[ast.AST] = []
    for sub in ast.walk(pattern):
        if isinstance(sub, ast.MatchValue):
            out.append(sub.value)
        elif isinstance(sub, ast.MatchClass):
            out.append(sub.cls)
    return out


def analyze_cells(cells: list[tuple[int, str]]) -> BlockAnalysis:
    """Analyse one block given its code cells as (cell index, source) in order."""
    scanner = BlockScanner()
    for index, source in cells:
        scanner.scan_cell(index, source)
    return scanner.finish()
