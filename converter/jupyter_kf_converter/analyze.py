"""Names each block defines and uses, from Python's ``ast``.

A block (a step, or the imports/functions cells) is scanned cell by cell, statement by statement,
in execution order, so ``x = x + 1`` *uses* an upstream ``x`` and then defines its own. The rules:

- Assignment, augmented assignment, ``for``/``with``/``except ... as``, walrus, ``match``
  captures, ``def``/``class`` and imports bind names at the block's top level.
- ``df["a"] = ...``, ``obj.attr = ...``, ``del df["a"]`` *mutate* an object: the block uses it and
  redefines it (binding kind ``mutation``), so later users depend on the mutating block.
- ``del x`` uses ``x`` and unbinds it.
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

BindingKind = Literal["value", "import", "mutation"]

#: Names every IPython kernel provides without a definition.
KERNEL_NAMES = frozenset(dir(builtins)) | {
    "get_ipython", "display", "In", "Out", "exit", "quit", "_", "__", "___", "_i", "_ii", "_iii",
    "_ih", "_oh", "_dh", "__name__", "__doc__", "__builtins__", "__spec__", "__loader__",
    "__package__", "__file__",
}

_PY_BODY_MAGICS = frozenset({"time", "timeit", "prun", "capture"})
_SCRIPT_MAGICS = frozenset({"bash", "sh", "script", "python", "python2", "python3", "perl", "ruby", "pypy"})
_EXPAND_DOLLAR = re.compile(r"(?<!\$)\$([A-Za-z_]\w*)")
_EXPAND_BRACE = re.compile(r"\{([^{}]+)\}")
_TIMEIT_OPTS = re.compile(r"^\s*(-[a-zA-Z]+(\s+[-\w.]+)?\s+)+")


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
    syntax_errors: list[CellError] = field(default_factory=list)
    ever_bound: set[str] = field(default_factory=set)


# -- parsing ------------------------------------------------------------------------------------

_transformer = None


def transform_ipython(source: str) -> str:
    """IPython's own transformation of %magics, !shell and %%cell magics into Python."""
    global _transformer
    if _transformer is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _transformer = TransformerManager()
    return _transformer.transform_cell(source)


def parse_source(source: str) -> ast.Module:
    """Parse cell source; IPython's transformer is used only when plain Python fails to parse.

    Every failure is a ``SyntaxError`` (null bytes and absurd nesting included).
    """
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SyntaxError(f"{type(exc).__name__}: {exc}") from None
    try:
        transformed = transform_ipython(source)
    except Exception as exc:  # IPython raises its own errors on broken magic syntax
        raise SyntaxError(str(exc)) from exc
    try:
        return ast.parse(transformed)
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SyntaxError(f"{type(exc).__name__}: {exc}") from None


# -- scopes -------------------------------------------------------------------------------------

_COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _target_names(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _assigned_in(body: list[ast.stmt]) -> tuple[set[str], set[str]]:
    """Names bound in a scope's body (not inside nested scopes), and names declared global/nonlocal."""
    bound: set[str] = set()
    declared: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (*_FUNCS, ast.ClassDef)):
            bound.add(node.name)
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, *_COMPS)):
            continue
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.name != "*":
                    bound.add(a.asname or a.name.split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return bound - declared, declared


def _params(args: ast.arguments) -> set[str]:
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    if args.vararg:
        names.add(args.vararg.arg)
    if args.kwarg:
        names.add(args.kwarg.arg)
    return names


def _signature_parts(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[ast.AST]:
    """What a def/lambda evaluates in the enclosing scope: decorators, defaults, annotations."""
    a = node.args
    parts: list[ast.AST] = [*a.defaults, *(d for d in a.kw_defaults if d is not None)]
    if not isinstance(node, ast.Lambda):
        parts += node.decorator_list
        parts += [x.annotation for x in (*a.posonlyargs, *a.args, *a.kwonlyargs) if x.annotation]
        parts += [x.annotation for x in (a.vararg, a.kwarg) if x is not None and x.annotation]
        if node.returns:
            parts.append(node.returns)
    return parts


def function_free(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> tuple[list[tuple[str, int]], set[str]]:
    """Free names read in a def/lambda body (call time), and names it assigns under ``global``."""
    if isinstance(node, ast.Lambda):
        return free_names([node.body], _params(node.args)), set()
    bound, declared = _assigned_in(node.body)
    global_stores = {n for n in declared if _stores_name(node.body, n)}
    return free_names(node.body, bound | _params(node.args)), global_stores


def _stores_name(body: list[ast.stmt], name: str) -> bool:
    for stmt in body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load):
                return True
    return False


def free_names(nodes: list[ast.AST], local: set[str]) -> list[tuple[str, int]]:
    """Loads of names not in ``local`` under ``nodes``, descending into nested scopes correctly."""
    out: list[tuple[str, int]] = []
    stack: list[ast.AST] = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load) and node.id not in local:
                out.append((node.id, node.lineno))
        elif isinstance(node, (*_FUNCS, ast.Lambda)):
            out += free_names(_signature_parts(node), local)
            inner, _ = function_free(node)
            out += [(n, ln) for n, ln in inner if n not in local]
        elif isinstance(node, ast.ClassDef):
            out += free_names([*node.bases, *node.keywords, *node.decorator_list], local)
            class_bound, _ = _assigned_in(node.body)
            for stmt in node.body:
                if isinstance(stmt, _FUNCS):  # methods do not see class-level names
                    out += free_names([stmt], local)
                else:
                    out += free_names([stmt], local | class_bound)
        elif isinstance(node, _COMPS):
            out += _comprehension_free(node, local)
        else:
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id not in local:
                out.append((node.target.id, node.lineno))  # `x += 1` reads x
            stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return out


def _comprehension_free(node: ast.AST, local: set[str]) -> list[tuple[str, int]]:
    gens = node.generators  # type: ignore[attr-defined]
    out = free_names([gens[0].iter], local)  # evaluated in the enclosing scope
    inner = set(local)
    for i, gen in enumerate(gens):
        if i:
            out += free_names([gen.iter], inner)
        inner |= set(_target_names(gen.target))
        out += free_names(list(gen.ifs), inner)
    elts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]  # type: ignore[attr-defined]
    out += free_names(elts, inner)
    return out


def _walrus_targets(node: ast.AST) -> list[str]:
    """Walrus targets bind in the enclosing scope, even from inside a comprehension."""
    names = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.NamedExpr):
            names.append(n.target.id)
        if isinstance(n, (*_FUNCS, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(n))
    return names


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _import_statement(node: ast.Import | ast.ImportFrom, alias: ast.alias) -> str:
    if isinstance(node, ast.Import):
        return ast.unparse(ast.Import(names=[alias]))
    return ast.unparse(ast.ImportFrom(module=node.module, names=[alias], level=node.level))


def _ipython_call(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """``get_ipython().<method>(...)`` -> (method, args)."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Name)
        and node.func.value.func.id == "get_ipython"
    ):
        return node.func.attr, list(node.args)
    return None


def _expansion_names(text: str) -> list[str]:
    """Names IPython would substitute in a shell command or magic line (``$x``, ``{expr}``)."""
    names = _EXPAND_DOLLAR.findall(text)
    for expr in _EXPAND_BRACE.findall(text):
        try:
            tree = ast.parse(expr.strip(), mode="eval")
        except SyntaxError:
            continue
        names += [n for n, _ in free_names([tree], set())]
    return names


def _const_str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


# -- the sequential top-level scanner -----------------------------------------------------------


class BlockScanner:
    """Scans the cells of one block in order; ``finish()`` returns its ``BlockAnalysis``."""

    def __init__(self) -> None:
        self.result = BlockAnalysis()
        self.bound = self.result.defines
        self._deferred: list[Use] = []
        self._deferred_defines: dict[str, Binding] = {}
        self.cell = 0
        self._offset = 0

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

    def store(self, name: str, line: int, kind: BindingKind = "value", statement: str | None = None) -> None:
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
                call = _ipython_call(sub)
                if call:
                    self._ipython(call[0], call[1], self._line(sub))
            for name in _walrus_targets(node):
                self.store(name, self._line(node))

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
        base = _base_name(node)
        if base is None:
            return
        if base in self.bound:  # already ours: keep its kind (a mutated module stays an import)
            old = self.bound[base]
            self.store(base, self._line(node), old.kind, old.statement)
        else:
            self.store(base, self._line(node), "mutation")

    # statements -------------------------------------------------------------------------------
    def body(self, stmts: list[ast.stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, node: ast.stmt) -> None:  # noqa: C901 - one branch per statement kind
        line = self._line(node)
        if isinstance(node, ast.Assign):
            self.loads([node.value])
            for t in node.targets:
                self.target(t)
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
            self.target(node.target)
            self.body(node.body)
            self.body(node.orelse)
        elif isinstance(node, (ast.While, ast.If)):
            self.loads([node.test])
            self.body(node.body)
            self.body(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.loads([item.context_expr])
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.body(node.body)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self.body(node.body)
            for h in node.handlers:
                self.loads([h.type])
                if h.name:
                    self.store(h.name, self._line(h))
                self.body(h.body)
            self.body(node.orelse)
            self.body(node.finalbody)
        elif isinstance(node, _FUNCS):
            self.loads(_signature_parts(node))
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
            for case in node.cases:
                self.loads(_pattern_values(case.pattern))
                for sub in ast.walk(case.pattern):
                    name = getattr(sub, "name", None) or getattr(sub, "rest", None)
                    if isinstance(sub, (ast.MatchAs, ast.MatchStar, ast.MatchMapping)) and name:
                        self.store(name, self._line(sub))
                self.loads([case.guard])
                self.body(case.body)
        elif isinstance(node, ast.Expr) and self._magic_statement(node.value):
            pass
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
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
        class_bound, _ = _assigned_in(node.body)
        free: list[tuple[str, int]] = []
        for stmt in node.body:
            if isinstance(stmt, _FUNCS):
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
        call = _ipython_call(value)
        if not call:
            return False
        method, args = call
        texts = [_const_str(a) for a in args]
        if method == "run_line_magic" and len(texts) >= 2 and texts[0] in _PY_BODY_MAGICS and texts[1] is not None:
            code = _TIMEIT_OPTS.sub("", texts[1]) if texts[0] in ("timeit", "prun") else texts[1]
            return self._nested(code, self._line(value) - 1)
        if method == "run_cell_magic" and len(texts) >= 3 and None not in texts[:3]:
            magic, line, body = texts[0], texts[1], texts[2]
            line_no = self._line(value)
            for n in _expansion_names(line):
                self.load(n, line_no, soft=True)
            if magic == "capture" and line.split() and line.split()[-1].isidentifier():
                self._nested_or_skip(body, line_no)
                self.store(line.split()[-1], line_no)
                return True
            if magic in _PY_BODY_MAGICS:
                self._nested_or_skip(body, line_no)
                return True
            if magic in _SCRIPT_MAGICS:
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
        texts = [_const_str(a) for a in args]
        if method in ("system", "getoutput") and texts and texts[0]:
            text = texts[0]
        elif method == "run_line_magic" and len(texts) >= 2 and texts[1]:
            if texts[0] in _PY_BODY_MAGICS:
                return
            text = texts[1]
        else:
            return
        for n in _expansion_names(text):
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
