"""`jupyter kf gc`: remove what nothing references: snapshots no run uses (beyond the newest
few), objects no snapshot holds, run folders the store has no record of."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf gc"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Remove snapshots and objects no run references.")
    p.add_argument("--keep", type=int, metavar="N", help="newest unused snapshots to keep (default: settings)")
    p.add_argument("--dry-run", action="store_true", help="show what would be removed and how much space")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs or $JUPYTER_KF_STORE)")
    p.add_argument("--json", action="store_true")
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..config import Settings
    from ..housekeeping import collect
    from ..store import RunStore
    from ._bar import Bar

    try:
        settings = Settings.from_env()
    except ValueError as e:
        return fmt.error(PROG, e, 2)
    if args.keep is not None and args.keep < 0:
        return fmt.error(PROG, "--keep must be 0 or more", 2)
    path = Path(args.store) if args.store else settings.store_path(Path.cwd())
    if not path.is_dir():
        print(f"no store at {path}", file=sys.stderr)
        return 0
    bar = Bar()
    with RunStore(path, settings=settings, register=False) as store:
        try:
            report = collect(store, keep_snapshots=args.keep, dry_run=args.dry_run,
                             progress=lambda what, d, t: bar("checking objects", d, t))
        finally:
            bar.close()
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, **report.__dict__}, indent=1))
        return 0
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(report.snapshots_removed)} snapshot(s), {report.objects_removed} object(s), "
          f"{len(report.orphan_folders)} leftover run folder(s): {fmt.size(report.bytes_freed)}", file=sys.stderr)
    return 0
