"""`jupyter kf schedule create|list|show|edit|pause|resume|delete|export|deploy|undeploy`: a notebook
pipeline on a schedule.

The runs themselves are started by a scheduler: the Jupyter server while it is up, or
`jupyter kf scheduler` (cli/scheduler.py). Exit codes: 0 success, 1 failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf schedule"


def _timing_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cron", metavar="EXPR", help="cron expression, e.g. '0 3 * * *' (in --timezone)")
    p.add_argument("--every", metavar="DURATION", help="an interval instead: 90s, 15m, 6h, 1d (at least 1m)")
    p.add_argument("--timezone", "--tz", metavar="ZONE", help="IANA time zone of --cron (default UTC)")
    p.add_argument("-p", "--parameter", action="append", default=None, metavar="NAME=VALUE",
                   help="pipeline parameter for every run; repeatable")
    p.add_argument("-b", "--backend", help="local (default), kfp or argo")
    p.add_argument("--no-cache", action="store_true", default=None, help="run every step each time")
    p.add_argument("--max-parallel", type=int, metavar="N", help="steps running at once")
    p.add_argument("--timeout", type=float, metavar="S", help="default per-step timeout in seconds")
    p.add_argument("--missed", choices=["run_once", "skip"],
                   help="due times passed while no scheduler ran: run once at start (default) or skip them")
    p.add_argument("--overlap", choices=["skip", "queue", "allow"],
                   help="when the previous run is still going: skip (default), queue or allow")
    p.add_argument("--name", help="a label (default: the notebook's name)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Run a notebook pipeline on a cron schedule or an interval.")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: <notebook folder>/kf-runs)")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = sub.add_parser("create", help="schedule a notebook")
    c.add_argument("notebook", metavar="NOTEBOOK")
    _timing_args(c)
    c.add_argument("--paused", action="store_true", default=None, help="create it paused")
    c.add_argument("--json", action="store_true")
    ls = sub.add_parser("list", help="schedules with their next due times")
    ls.add_argument("--notebook", "-n", metavar="NB", help="only this notebook's schedules")
    ls.add_argument("--json", action="store_true")
    for name, text in [("show", "one schedule with its recent due times and runs"), ("pause", "stop running it"),
                       ("resume", "run it again from the next due time"), ("delete", "delete it")]:
        sp = sub.add_parser(name, help=text)
        sp.add_argument("id", metavar="SCHEDULE_ID")
        sp.add_argument("--json", action="store_true")
    e = sub.add_parser("edit", help="change a schedule's timing, parameters or policies")
    e.add_argument("id", metavar="SCHEDULE_ID")
    _timing_args(e)
    e.add_argument("--json", action="store_true")
    d = sub.add_parser("deploy", help="hand it to the cluster: an Argo CronWorkflow or a KFP recurring run")
    d.add_argument("id", metavar="SCHEDULE_ID")
    d.add_argument("--target", choices=["argo", "kfp"], required=True)
    d.add_argument("--json", action="store_true")
    u = sub.add_parser("undeploy", help="delete its cluster-side schedule; jupyter-kf runs it again")
    u.add_argument("id", metavar="SCHEDULE_ID")
    u.add_argument("--json", action="store_true")
    x = sub.add_parser("export", help="the schedule as an Argo CronWorkflow or a KFP recurring run body")
    x.add_argument("id", metavar="SCHEDULE_ID")
    x.add_argument("--target", choices=["argo", "kfp"], required=True)
    x.add_argument("--clone-pvc", metavar="PVC",
                   help="each run's volume is a clone of this PVC made when the run starts (the notebook's PVC)")
    x.add_argument("--image", help="default step image (steps without an image: tag)")
    x.add_argument("--experiment-id", help="KFP experiment of the recurring run")
    x.add_argument("-o", "--output", metavar="FILE", help="write it here instead of stdout")
    return p


def export_text(service, args: argparse.Namespace) -> str:
    """The CronWorkflow (YAML) or the recurring run request body (JSON) of a schedule."""
    from jupyter_kf_converter.targets import TargetOptions

    from ..k8s.cron import cron_workflow, recurring_run
    from ..service import InvalidPipeline

    schedule = service.get(args.id)
    pipeline = service.pipelines.compile(schedule.notebook)
    if not pipeline.valid:
        raise InvalidPipeline(pipeline, schedule.notebook)
    options = TargetOptions(image=args.image)
    if args.target == "argo":
        import yaml

        return yaml.safe_dump(cron_workflow(schedule, pipeline, options, clone_pvc=args.clone_pvc), sort_keys=False)
    body = recurring_run(schedule, pipeline, options, clone_pvc=args.clone_pvc, experiment_id=args.experiment_id)
    return json.dumps(body, indent=1)


def parse_every(text: str) -> float:
    """``90s``, ``15m``, ``6h``, ``1d`` (or plain seconds) -> seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    t = text.strip().lower()
    try:
        return float(t[:-1]) * units[t[-1]] if t and t[-1] in units else float(t)
    except ValueError:
        raise ValueError(f"--every {text!r}: expected a duration such as 90s, 15m, 6h or 1d") from None


def _fields(args: argparse.Namespace) -> dict:
    from ..executor.parameters import split_assignments

    out = {
        "cron": args.cron, "timezone": args.timezone, "backend": args.backend, "max_parallel": args.max_parallel,
        "timeout": args.timeout, "missed": args.missed, "overlap": args.overlap, "name": args.name,
        "interval": parse_every(args.every) if args.every else None,
        "parameters": split_assignments(args.parameter) if args.parameter is not None else None,
        "cache": False if args.no_cache else None, "paused": getattr(args, "paused", None),
    }
    return {k: v for k, v in out.items() if v is not None}


def _when(dt) -> str:
    return fmt.timestamp(dt)


def schedule_table(schedules: Sequence) -> str:
    rows = []
    for s in schedules:
        timing = s.cron + (f" ({s.timezone})" if s.timezone != "UTC" else "") if s.cron else f"every {fmt.duration(s.interval)}"
        last = s.last
        last_text = "-" if last is None else f"{last.state}{' ' + last.run if last.run else ''}" + (
            f" {last.run_status.value}" if last.run_status else "")
        rows.append([s.id, s.name, fmt.display_path(s.notebook), timing, "paused" if s.paused else "active",
                     _when(s.next_due[0]) if s.next_due else "-", last_text])
    return fmt.table(["SCHEDULE", "NAME", "NOTEBOOK", "WHEN", "STATE", "NEXT", "LAST"], rows)


def show_text(s) -> str:
    timing = f"cron {s.cron!r} in {s.timezone}" if s.cron else f"every {fmt.duration(s.interval)}"
    lines = [
        f"schedule {s.id}  {s.name}  ({'paused' if s.paused else 'active'})",
        f"  notebook   {fmt.display_path(s.notebook)}",
        f"  when       {timing}; missed: {s.missed.value}; overlap: {s.overlap.value}",
        f"  backend    {s.backend}; cache {'on' if s.cache else 'off'}",
    ]
    if s.parameters:
        lines.append("  parameters " + ", ".join(f"{k}={v!r}" for k, v in s.parameters.items()))
    if s.deployed:
        d = s.deployed
        kind = "CronWorkflow" if d.target == "argo" else "KFP recurring run"
        lines.append(f"  deployed   {kind} {d.namespace}/{d.name}: the cluster runs it, not jupyter-kf")
    lines.append("  next due   " + (", ".join(_when(t) for t in s.next_due) or "- (paused)"))
    if s.history:
        lines.append("  recent due times:")
        for f in s.history:
            status = f" {f.run_status.value}" if f.run_status else ""
            lines.append(f"    {_when(f.due)}  {f.state:<8} {f.run or ''}{status}" + (f"  {f.error}" if f.error else ""))
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from pydantic import ValidationError

    from ..config import Settings
    from ..models import ScheduleFields, ScheduleRequest
    from ..schedules import ScheduleService
    from ..service import PipelineService

    try:
        settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
        service = ScheduleService(PipelineService(Path.cwd(), settings))
        result = None
        if args.action == "create":
            result = service.create(ScheduleRequest(notebook=args.notebook, **_fields(args)))
        elif args.action == "edit":
            result = service.update(args.id, ScheduleFields(**_fields(args)))
        elif args.action == "list":
            items = service.list(args.notebook)
            if args.json:
                print(json.dumps([s.model_dump(mode="json") for s in items], indent=1))
            elif items:
                print(schedule_table(items))
            else:
                print("no schedules", file=sys.stderr)
            return 0
        elif args.action == "show":
            result = service.get(args.id)
        elif args.action == "pause":
            result = service.pause(args.id)
        elif args.action == "resume":
            result = service.resume(args.id)
        elif args.action == "deploy":
            result = service.deploy(args.id, args.target)
        elif args.action == "undeploy":
            result = service.undeploy(args.id)
        elif args.action == "export":
            text = export_text(service, args)
            if args.output:
                Path(args.output).write_text(text)
            else:
                print(text, end="" if text.endswith("\n") else "\n")
            return 0
        elif args.action == "delete":
            service.delete(args.id)
            print(f"deleted schedule {args.id}", file=sys.stderr)
            return 0
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"])
        return fmt.error(PROG, f"{field}: {err['msg'].removeprefix('Value error, ')}", 2)
    except (LookupError, OSError) as exc:
        return fmt.error(PROG, exc)
    except ValueError as exc:  # bad timing, parameter, invalid pipeline, a policy the cluster lacks
        return fmt.error(PROG, exc, 2)
    except Exception as exc:  # noqa: BLE001 (cluster errors carry their reason; anything else is a bug)
        if type(exc).__name__ not in ("ClusterError", "ClusterConfigError"):
            raise
        return fmt.error(PROG, exc, 1)
    if args.json:
        print(result.model_dump_json(indent=1))
    else:
        print(show_text(result))
    if args.action == "create":
        print("runs start while a Jupyter server with jupyter-kf or `jupyter kf scheduler` is running",
              file=sys.stderr)
    return 0
