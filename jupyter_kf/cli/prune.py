"""`jupyter kf runs prune`: remove old runs (by age, count, status, notebook); --dry-run shows
what would go and how much space it holds. Running runs, each notebook's latest successful run
(unless --include-latest) and runs that kept runs reuse from the cache always stay."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf runs prune"
STATUSES = ("succeeded", "failed", "cancelled", "interrupted")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Remove old runs and what only they used.")
    p.add_argument("--older-than", metavar="AGE", help="runs created more than AGE ago (30m, 12h, 7d, 2w)")
    p.add_argument("--keep", type=int, metavar="N", help="all but the newest N runs of each notebook")
    p.add_argument("--status", action="append", choices=STATUSES, help="runs with this status (repeatable)")
    p.add_argument("--notebook", "-n", metavar="NB", help="runs of this notebook only")
    p.add_argument("--include-latest", action="store_true", help="may remove a notebook's latest successful run too")
    p.add_argument("--dry-run", action="store_true", help="show what would be removed and the space it holds")
    p.add_argument("--no-gc", action="store_true", help="keep snapshots and objects the removed runs used")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs or $JUPYTER_KF_STORE)")
    p.add_argument("--json", action="store_true", help="print what was (or would be) removed as JSON")
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..config import Settings
    from ..housekeeping import collect, parse_age, plan_prune, prune
    from ..store import RunStore
    from ._bar import Bar

    try:
        settings = Settings.from_env()
        older = parse_age(args.older_than) if args.older_than else None
    except ValueError as e:
        return fmt.error(PROG, e, 2)
    if args.keep is not None and args.keep < 0:
        return fmt.error(PROG, "--keep must be 0 or more", 2)
    folder = Path(args.notebook).resolve().parent if args.notebook and Path(args.notebook).is_file() else Path.cwd()
    path = Path(args.store) if args.store else settings.store_path(folder)
    if not (path / "runs.sqlite").is_file():
        print(f"no runs in {path}", file=sys.stderr)
        return 0
    notebook = Path(args.notebook).name if args.notebook else None
    with RunStore(path, settings=settings) as store:
        try:
            plan = plan_prune(store, older_than=older, keep=args.keep, statuses=args.status, notebook=notebook,
                              keep_latest_success=not args.include_latest)
        except ValueError as e:
            return fmt.error(PROG, e, 2)
        removed, freed, collected = [r.id for r in plan.remove], plan.bytes, None
        if not args.dry_run and plan.remove:
            bar = Bar()
            try:
                removed, freed = prune(store, plan, progress=lambda what, d, t: bar("removing runs", d, t))
                if not args.no_gc:
                    collected = collect(store, progress=lambda what, d, t: bar("collecting objects", d, t))
                    freed += collected.bytes_freed
            finally:
                bar.close()
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "removed": removed, "bytes": freed, "kept": plan.kept}, indent=1))
        return 0
    rows = [[r.id, r.notebook, r.status.value, fmt.timestamp(r.created_at), fmt.size(plan.sizes[r.id])]
            for r in plan.remove if r.id in removed]
    if rows:
        print(fmt.table(["RUN", "NOTEBOOK", "STATUS", "CREATED", "SIZE"], rows, right=[4]))
    for rid, why in plan.kept.items():
        print(f"kept {rid}: {why}", file=sys.stderr)
    verb = "would remove" if args.dry_run else "removed"
    tail = " (snapshots and objects only they used are collected too)" if args.dry_run and not args.no_gc else ""
    print(f"{verb} {len(removed)} run(s), {fmt.size(freed)}{tail}", file=sys.stderr)
    return 0
