"""`jupyter kf runs`: the run history of a folder's store, with metrics columns."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf runs"
MAX_METRIC_COLUMNS = 6


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="List runs, newest first, with their metrics. `jupyter kf runs prune --help`: remove old runs.",
    )
    p.add_argument("--notebook", "-n", metavar="NB", help="only runs of this notebook (its folder's store)")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N runs (default 20; 0: all)")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs or $JUPYTER_KF_STORE)")
    p.add_argument("--all", action="store_true", help="runs of every known store (kf-stores.json)")
    p.add_argument("--json", action="store_true", help="print the runs as JSON")
    return p


def run_row(run, metric_names: Sequence[str], color: bool = False) -> list[str]:
    done = sum(1 for s in run.steps if s.status.value in ("succeeded", "cached"))
    return [
        run.id,
        run.notebook,
        fmt.status_text(run.status, color=color),
        fmt.timestamp(run.started_at or run.created_at),
        fmt.duration(fmt.elapsed(run)),
        f"{done}/{len(run.steps)}",
        *(fmt.value(run.metrics.get(m), 14) for m in metric_names),
    ]


def runs_table(runs: Sequence, color: bool = False) -> str:
    names: list[str] = []
    for r in runs:
        names += [m for m in r.metrics if m not in names]
    names = names[:MAX_METRIC_COLUMNS]
    headers = ["RUN", "NOTEBOOK", "STATUS", "STARTED", "DURATION", "STEPS", *names]
    return fmt.table(headers, [run_row(r, names, color) for r in runs], right=[4, 5])


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] == "prune":  # `jupyter kf runs prune ...`
        from .prune import main as prune_main

        return prune_main(argv[1:])
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    if args.limit < 0:
        return fmt.error(PROG, "--limit must be 0 or more", 2)
    from ..config import Settings
    from ..store import RunStore, known_stores

    try:
        settings = Settings.from_env()
    except ValueError as e:
        return fmt.error(PROG, e, 2)
    if args.notebook and not Path(args.notebook).is_file():
        return fmt.error(PROG, f"no notebook {args.notebook}")
    if args.all:
        stores = known_stores(settings)
    elif args.store:
        stores = [Path(args.store)]
    else:
        folder = Path(args.notebook).resolve().parent if args.notebook else Path.cwd()
        stores = [settings.store_path(folder)]
    runs = []
    for path in stores:
        if not (Path(path) / "runs.sqlite").is_file():
            continue
        with RunStore(path, settings=settings) as store:
            runs += store.list_runs(args.notebook, limit=args.limit or None)
    runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    if args.limit:
        runs = runs[: args.limit]
    if args.json:
        out = [{**r.model_dump(mode="json"), "duration": r.duration} for r in runs]
        print(json.dumps(out, indent=1))
        return 0
    if not runs:
        where = "any known store" if args.all else str(stores[0])
        print(f"no runs in {where}", file=sys.stderr)
        return 0
    try:
        print(runs_table(runs, fmt.use_color()), flush=True)
    except BrokenPipeError:
        return fmt.pipe_closed()
    return 0
