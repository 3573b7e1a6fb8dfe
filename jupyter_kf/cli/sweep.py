"""`jupyter kf sweep NOTEBOOK -p SPEC... --objective METRIC[:max|min] --trials N`: a parameter sweep.

Each ``-p`` is ``NAME=A,B,C`` (choices), ``NAME=LOW:HIGH`` (a range), ``NAME=LOW:HIGH:log`` or
``NAME=LOW:HIGH:STEP`` (``jupyter_kf.sweeps.space``). Progress (trials done / budget, best so far)
goes to stderr, the trials table to stdout. Ctrl-C cancels every trial (no kernel is left).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf sweep"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Run a parameter sweep of a notebook's pipeline.")
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.add_argument(
        "-p", "--param", dest="space", action="append", default=[], metavar="SPEC",
        help="a swept parameter: NAME=A,B,C | NAME=LOW:HIGH | NAME=LOW:HIGH:log | NAME=LOW:HIGH:STEP",
    )
    p.add_argument("--objective", metavar="METRIC[:max|min]", help="a pipeline metric (default :max)")
    p.add_argument("--trials", type=int, metavar="N", help="trial budget (grid: at most the grid's size)")
    p.add_argument("--max-time", type=float, metavar="S", help="time budget in seconds: no trial starts after it")
    p.add_argument("--algorithm", choices=["grid", "random", "tpe"], help="default: tpe")
    p.add_argument("--parallel", type=int, metavar="N", help="trials at once (default: the max_parallel setting)")
    p.add_argument("--set", dest="fixed", action="append", default=[], metavar="NAME=VALUE", help="fix another parameter")
    p.add_argument("--seed", type=int, help="seed of the search (reproducible choices)")
    p.add_argument("--no-cache", action="store_true", help="do not reuse steps of earlier runs (trials still share)")
    p.add_argument("--timeout", type=float, metavar="S", help="default per-step timeout in seconds")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: <notebook folder>/kf-runs)")
    p.add_argument("--json", action="store_true", help="print the finished sweep as JSON on stdout")
    p.add_argument(
        "--katib-yaml", metavar="FILE",
        help="write the sweep as a Katib Experiment (its trials run the pipeline's Argo Workflow) instead of running it",
    )
    p.add_argument("--namespace", help="with --katib-yaml: the Experiment's namespace")
    return p


def objective(text: str) -> tuple[str, str]:
    name, _, direction = text.partition(":")
    direction = (direction or "max").lower()
    aliases = {"max": "max", "maximize": "max", "min": "min", "minimize": "min"}
    if not name or direction not in aliases:
        raise ValueError(f"--objective {text!r}: expected METRIC, METRIC:max or METRIC:min")
    return name, aliases[direction]


def render(sweep) -> str:
    """The trials side by side: parameters, objective, duration, status; the best marked."""
    names = [sp.name for sp in sweep.request.space]
    rows = []
    for t in sweep.trials:
        mark = "*" if t.number == sweep.best else ""
        value = "-" if t.value is None else fmt.value(t.value, 12)
        rows.append([f"{mark}{t.number}", *[fmt.value(t.parameters.get(n), 16) for n in names], value,
                     fmt.duration(t.duration), t.status, t.run or "-"])
    table = fmt.table(["#", *names, sweep.request.objective, "duration", "status", "run"], rows)
    return table + "\n" + progress_line(sweep)


def progress_line(sweep) -> str:
    done = sweep.done
    failed = sum(t.status in ("failed", "cancelled") for t in sweep.trials)
    pruned = sum(t.status == "pruned" for t in sweep.trials)
    budget = sweep.budget if sweep.budget is not None else "?"
    best = "-" if sweep.best is None else f"{sweep.best_value:.6g} (trial {sweep.best})"
    extra = "".join(f", {n} {w}" for n, w in ((failed, "failed"), (pruned, "pruned")) if n)
    return f"sweep {sweep.id}: {done}/{budget} trials done{extra}; best {sweep.request.objective}: {best}"


def build_request(args: argparse.Namespace, parse_spec, split_assignments):  # noqa: ANN201
    """The request from the options; without -p, from the notebook's Kale ``katib_metadata``
    (options given still override it)."""
    from ..models import SweepRequest
    from ..sweeps.katib import katib_metadata, request_from_katib

    fields: dict = {}
    if not args.space:
        katib = katib_metadata(Path(args.notebook))
        if katib is None:
            raise ValueError("give -p SPEC for each swept parameter (or a notebook with Kale katib_metadata)")
        if args.objective:  # the objective named here replaces Kale's (which may be unset)
            katib = {**katib, "objective": {**(katib.get("objective") or {}), "objectiveMetricName": "given"}}
        fields = request_from_katib(args.notebook, katib).model_dump()
    else:
        fields["space"] = [parse_spec(s) for s in args.space]
    if args.objective:
        fields["objective"], fields["direction"] = objective(args.objective)
    elif args.space:
        raise ValueError("give --objective METRIC[:max|min]")
    given = {"algorithm": args.algorithm, "trials": args.trials, "parallel": args.parallel}
    fields.update({k: v for k, v in given.items() if v is not None})
    return SweepRequest(**{
        **fields,
        "notebook": args.notebook,
        "max_time": args.max_time,
        "parameters": split_assignments(args.fixed),
        "cache": not args.no_cache,
        "seed": args.seed,
        "timeout": args.timeout,
    })


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..executor.parameters import ParameterError, split_assignments
    from ..kernels import close_fork_servers
    from ..models import RunStatus
    from ..sweeps import SweepError, parse_spec

    try:
        request = build_request(args, parse_spec, split_assignments)
    except (ValueError, SweepError, ParameterError) as exc:
        return fmt.error(PROG, exc, 2)
    if args.katib_yaml:
        return _katib(args, request)
    try:
        return _run(args, request, RunStatus, SweepError, ParameterError)
    finally:
        close_fork_servers()


def _katib(args, request) -> int:
    """Compile, check and write the Katib Experiment; nothing runs here."""
    import warnings

    import yaml
    from jupyter_kf_converter.targets.argo import build_workflow

    from ..k8s.katib import KatibUnsupported, check_name, experiment
    from ..service import PipelineService
    from ..sweeps import SweepError, space

    service = PipelineService(Path.cwd())
    try:
        pipeline = service.compile(args.notebook)
        if not pipeline.valid:
            from ..service import InvalidPipeline

            print(str(InvalidPipeline(pipeline, args.notebook)), file=sys.stderr)
            return 1
        request = request.model_copy(update={"space": space.check(pipeline, request)})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            workflow = build_workflow(pipeline)
        for w in caught:
            print(f"{PROG}: warning: {w.message}", file=sys.stderr)
        name = check_name(f"{pipeline.name[:30]}-sweep")
        manifest = experiment(pipeline, request, workflow, name=name, namespace=args.namespace)
    except (SweepError, KatibUnsupported, ValueError) as exc:
        return fmt.error(PROG, f"{exc}; nothing written", 2)
    finally:
        service.close()
    Path(args.katib_yaml).write_text(yaml.safe_dump(manifest, sort_keys=False, width=120))
    print(f"wrote Katib Experiment {name} to {args.katib_yaml} (kubectl apply -f {args.katib_yaml})", file=sys.stderr)
    return 0


def _run(args, request, RunStatus, SweepError, ParameterError) -> int:  # noqa: N803
    from jupyter_kf_converter.errors import ConverterError

    from ..config import Settings
    from ..service import InvalidPipeline, PipelineService

    settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
    service = PipelineService(Path.cwd(), settings)
    seen: dict[int, str] = {}

    def on_update(sweep) -> None:
        if args.json:
            return
        for t in sweep.trials:
            if t.status != "running" and seen.get(t.number) != t.status:
                seen[t.number] = t.status
                params = " ".join(f"{k}={fmt.value(v, 12)}" for k, v in t.parameters.items())
                value = "" if t.value is None else f" {sweep.request.objective}={t.value:.6g}"
                why = f" ({t.error.splitlines()[0][:120]})" if t.status == "failed" and t.error else ""
                print(f"trial {t.number} {t.status}: {params}{value}{why}", file=sys.stderr)
                print("  " + progress_line(sweep), file=sys.stderr)

    interrupted: list[int] = []
    sweep_ids: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        interrupted.append(signum)
        if sweep_ids:
            print(f"\n{PROG}: {signal.Signals(signum).name}: cancelling sweep {sweep_ids[0]} ...", file=sys.stderr)
            service.sweeps.cancel(sweep_ids[0])

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            sweep = service.sweeps.submit(request, on_update)
        except InvalidPipeline as exc:
            print(str(exc), file=sys.stderr)
            return 1
        except (SweepError, ParameterError) as exc:
            return fmt.error(PROG, f"{exc}; nothing ran", 2)
        except (ConverterError, FileNotFoundError) as exc:
            return fmt.error(PROG, exc, 1)
        sweep_ids.append(sweep.id)
        if interrupted:
            service.sweeps.cancel(sweep.id)
        if not args.json:
            print(f"sweep {sweep.id}: {request.algorithm}, budget {sweep.budget or '-'} trials"
                  f"{f', {request.max_time:g} s' if request.max_time else ''}", file=sys.stderr)
        final = service.sweeps.wait(sweep.id)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        service.close()
    print(final.model_dump_json(indent=1) if args.json else render(final))
    if interrupted:
        return 130
    return 0 if final.status == RunStatus.succeeded else 1
