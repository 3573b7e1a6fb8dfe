"""`jupyter kf compile` / `jupyter-kf-compile`: compile a tagged notebook into a pipeline.

Exit codes: 0 valid (warnings allowed), 1 invalid pipeline (nothing is written), 2 usage error,
unreadable notebook or unwritable output. Diagnostics go to stderr, one per line
(``nb.ipynb: cell 4, line 2 (step train): error: ...``, cells counted from 1); with ``--json``
stdout is one JSON object: ``{notebook, valid, problems, written, pipeline}`` (plus ``graph``, the
text of ``--graph`` when it is not written to a file; ``error`` instead of ``pipeline`` when the
notebook cannot be read or an output cannot be written).

Start-up is kept light: the emit, target and graph modules are imported only when asked for.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

PROG = "jupyter kf compile"
GRAPH_FORMATS = ("text", "dot", "svg")
TARGETS = ("kfp", "argo", "kfp-local")


def _parser(prog: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog=prog,
        description="Compile a tagged Jupyter notebook into a pipeline: validate it, and write the pipeline "
        "IR (or a KFP/Argo spec), the step notebooks and a graph.",
        epilog="Exit status: 0 valid, 1 invalid pipeline, 2 usage error, unreadable notebook or unwritable output. "
        "Cells are counted from 1 in messages.",
    )
    ap.add_argument("notebook", help="the notebook (.ipynb) to compile")
    ap.add_argument("-o", "--output", metavar="FILE",
                    help="write the pipeline: the IR as .yaml/.yml/.json, or the --target spec")
    ap.add_argument("--target", choices=TARGETS, help="write a Kubeflow Pipelines v2 or Argo Workflow spec to -o (kfp-local: the KFP spec "
                    "for kfp.local, without a run volume; run it from the notebook's folder)")
    ap.add_argument("--steps-dir", metavar="DIR", help="write one papermill-ready notebook per step into DIR")
    ap.add_argument("--json", action="store_true", help="print a machine-readable JSON result on stdout")
    ap.add_argument("--graph", choices=GRAPH_FORMATS, help="print (or with --graph-out, write) the pipeline graph")
    ap.add_argument("--graph-out", metavar="FILE", help="write the graph to FILE (format from --graph, else the suffix)")
    return ap


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    if prog is None:  # the `jupyter-kf-compile` console script calls main() with sys.argv
        script = Path(sys.argv[0]).name if argv is None and sys.argv else ""
        prog = script if script.startswith("jupyter-kf-compile") else PROG
    ap = _parser(prog)
    try:
        args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse: 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    graph_format = args.graph
    if args.graph_out and not graph_format:
        graph_format = {".dot": "dot", ".gv": "dot", ".svg": "svg"}.get(Path(args.graph_out).suffix.lower(), "text")
    if args.target and not args.output:
        ap.print_usage(sys.stderr)
        print(f"{prog}: error: --target {args.target} needs -o FILE for the spec", file=sys.stderr)
        return 2
    if args.output and not args.target and Path(args.output).suffix.lower() not in (".yaml", ".yml", ".json"):
        ap.print_usage(sys.stderr)
        print(f"{prog}: error: -o {args.output}: use a .yaml, .yml or .json file for the pipeline IR "
              f"(or --target kfp|argo for a cluster spec)", file=sys.stderr)
        return 2

    from .errors import ConverterError
    from .plan import compile_notebook, format_problem

    try:
        pipeline = compile_notebook(args.notebook)
    except ConverterError as exc:
        return _fail(args, prog, str(exc), 2)

    for p in pipeline.problems:
        print(format_problem(p, args.notebook), file=sys.stderr)
    written: dict[str, Any] = {}
    status = 0 if pipeline.valid else 1
    if status == 0:
        try:
            _write(args, pipeline, written)
        except _OutputError as exc:
            return _fail(args, prog, str(exc), 2, pipeline)
    graph_text = None
    if graph_format:
        graph_text = _graph(pipeline, graph_format)
        if args.graph_out:
            try:
                Path(args.graph_out).write_text(graph_text, encoding="utf-8")
            except OSError as exc:
                return _fail(args, prog, f"cannot write {args.graph_out}: {exc.strerror or exc}", 2, pipeline)
            written["graph"] = args.graph_out
            graph_text = None
        elif not args.json:
            sys.stdout.write(graph_text)
    if args.json:
        _print_json(args, pipeline, written, graph_text)
    else:
        _summary(args, pipeline, written)
    return status


class _OutputError(Exception):
    pass


def _write(args: argparse.Namespace, pipeline: Any, written: dict[str, Any]) -> None:
    if args.output and args.target:
        try:
            from .targets import write_target
        except ImportError as exc:
            raise _OutputError(f"--target {args.target} is not available in this installation ({exc})") from None
        import warnings

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                write_target(pipeline, args.target, args.output)
        except Exception as exc:  # noqa: BLE001 - TargetError, missing extras, SDK errors: say what failed
            raise _OutputError(f"cannot write the {args.target} spec to {args.output}: {exc}") from None
        for w in caught:
            print(f"{args.notebook}: {args.target}: warning: {w.message}", file=sys.stderr)
        written["output"] = args.output
    elif args.output:
        out = Path(args.output)
        text = pipeline.to_json() + "\n" if out.suffix.lower() == ".json" else _yaml(pipeline)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _OutputError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        written["output"] = args.output
    if args.steps_dir:
        try:
            from .emit import emit_steps
        except ImportError as exc:
            raise _OutputError(f"--steps-dir is not available in this installation ({exc})") from None
        try:
            paths = emit_steps(pipeline, args.steps_dir)
        except OSError as exc:
            raise _OutputError(f"cannot write step notebooks to {args.steps_dir}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise _OutputError(f"cannot write step notebooks: {exc}") from None
        written["steps"] = {name: str(path) for name, path in paths.items()}


def _yaml(pipeline: Any) -> str:
    """The IR as block-style YAML, without importing PyYAML (~40 ms of start-up).

    Same data as ``Pipeline.to_yaml()``: ``Pipeline.from_yaml`` reads it back unchanged.
    """
    from .yamldump import dump_yaml

    return dump_yaml(json.loads(pipeline.model_dump_json()))


def _graph(pipeline: Any, fmt: str) -> str:
    from . import graph

    return {"text": graph.to_text, "dot": graph.to_dot, "svg": graph.to_svg}[fmt](pipeline)


def _fail(args: argparse.Namespace, prog: str, message: str, code: int, pipeline: Any = None) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    if args.json:
        result = {"notebook": args.notebook, "valid": False, "error": message, "problems": [], "written": {}}
        if pipeline is not None:
            result["problems"] = [p.model_dump() for p in pipeline.problems]
        print(json.dumps(result, indent=2))
    return code


def _print_json(args: argparse.Namespace, pipeline: Any, written: dict[str, Any], graph: str | None) -> None:
    result: dict[str, Any] = {
        "notebook": args.notebook,
        "valid": pipeline.valid,
        "problems": [p.model_dump() for p in pipeline.problems],
        "written": written,
        "pipeline": json.loads(pipeline.model_dump_json()),
    }
    if graph is not None:  # --graph without --graph-out
        result["graph"] = graph
    print(json.dumps(result, indent=2))


def _summary(args: argparse.Namespace, pipeline: Any, written: dict[str, Any]) -> None:
    errors = sum(p.severity == "error" for p in pipeline.problems)
    warnings = len(pipeline.problems) - errors
    n = len(pipeline.steps)
    head = f"{args.notebook}: pipeline {pipeline.name!r}, {n} step{'s' * (n != 1)}"
    if errors:
        print(f"{head}: invalid ({errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}); "
              f"nothing written", file=sys.stderr)
        return
    print(head + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""), file=sys.stderr)
    if "output" in written:
        print(f"wrote {written['output']}", file=sys.stderr)
    if "steps" in written:
        print(f"wrote {len(written['steps'])} step notebooks to {args.steps_dir}", file=sys.stderr)
    if "graph" in written:
        print(f"wrote {written['graph']}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
