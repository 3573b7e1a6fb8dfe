"""`jupyter kf export RUN -o run.zip [--with-data]`: a run as one self-contained zip."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf export"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Export a run (notebooks, values, env, snapshot manifest).")
    p.add_argument("run", metavar="RUN")
    p.add_argument("-o", "--output", metavar="ZIP", help="the archive to write (default: RUN.zip)")
    p.add_argument("--with-data", action="store_true", help="include every file of the run's snapshot")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs, then every known store)")
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..archive import ArchiveError, export_run
    from ..config import Settings
    from ..service import PipelineService
    from ..snapshots import SnapshotError
    from ..store import StoreError

    settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
    service = PipelineService(Path.cwd(), settings)
    out = Path(args.output or f"{args.run}.zip")
    try:
        counts = export_run(service.store_of(args.run), args.run, out, with_data=args.with_data)
    except (ArchiveError, StoreError, SnapshotError, LookupError, OSError) as exc:
        return fmt.error(PROG, exc, 1)
    finally:
        service.close()
    data = f"{counts['objects']} snapshot file(s), {fmt.size(counts['bytes'])}"
    print(f"exported run {args.run} to {out}: {counts['values']} value file(s), {data}")
    return 0
