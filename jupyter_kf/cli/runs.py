"""`jupyter kf runs`: the run history of a folder's store, with metrics columns."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf runs"


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
    p.add_argument(
        "--wide", action="store_true", help=f"every metric column (default: what fits {TERMINAL_WIDTH} columns)"
    )
    return p


TERMINAL_WIDTH = 100  # the table fits this many columns unless --wide


def metric_names(runs: Sequence) -> list[str]:
    """Every metric of ``runs`` in a stable order: by step in pipeline order, then as each step
    recorded them (the metrics cell's order), never by which step happened to finish first."""
    names: list[str] = []
    for r in runs:
        for s in r.steps:
            names += [m for m in s.metrics if m not in names]
        names += [m for m in r.metrics if m not in names]  # a record without step metrics
    return names


def run_row(run, metric_names: Sequence[str], color: bool = False, *, wide: bool = True, notebook: str = "") -> list[str]:
    done = sum(1 for s in run.steps if s.status.value in ("succeeded", "cached"))
    started = run.started_at or run.created_at
    return [
        run.id,
        notebook or run.notebook,
        fmt.status_text(run.status, color=color),
        fmt.timestamp(started) if wide else fmt.timestamp(started)[5:16],
        fmt.duration(fmt.elapsed(run)),
        f"{done}/{len(run.steps)}",
        *(fmt.value(run.metrics.get(m), 14 if wide else 10) for m in metric_names),
    ]


def runs_table(
    runs: Sequence, color: bool = False, *, wide: bool = False, notebooks: Sequence[str] | None = None
) -> tuple[str, list[str]]:
    """The table, and the metric names left out to fit ``TERMINAL_WIDTH`` (none with ``wide``)."""
    names = metric_names(runs)
    shown_nb = [fmt.shorten_left(n, 28) if not wide else n for n in (notebooks or [r.notebook for r in runs])]
    headers = ["RUN", "NOTEBOOK", "STATUS", "STARTED", "DURATION", "STEPS"]

    def render(metrics: list[str]) -> str:
        rows = [run_row(r, metrics, color, wide=wide, notebook=nb) for r, nb in zip(runs, shown_nb)]
        return fmt.table([*headers, *metrics], rows, right=[4, 5])

    if wide:
        return render(names), []
    kept: list[str] = []
    for m in names:  # as many metric columns as fit, in order
        if max(map(fmt.visible_len, render([*kept, m]).splitlines())) > TERMINAL_WIDTH:
            break
        kept.append(m)
    return render(kept), names[len(kept) :]


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
    where: dict[str, str] = {}  # run id -> its notebook, relative to the current folder
    for path in stores:
        if not (Path(path) / "runs.sqlite").is_file():
            continue
        with RunStore(path, settings=settings) as store:
            found = store.list_runs(args.notebook, limit=args.limit or None)
        runs += found
        for r in found:
            where[r.id] = fmt.display_path(settings.run_notebook(r.notebook, Path(path).resolve(), Path.cwd()))
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
    table, left_out = runs_table(runs, fmt.use_color(), wide=args.wide, notebooks=[where[r.id] for r in runs])
    try:
        print(table, flush=True)
    except BrokenPipeError:
        return fmt.pipe_closed()
    if left_out:
        print(f"({len(left_out)} more metric column(s): {', '.join(left_out)}; see them with --wide)", file=sys.stderr)
    return 0
