"""`jupyter kf rerun RUN`: execute a past run again from its own snapshot with its parameters.

The environment is compared with the one the run recorded first; differences are printed, and
``--strict`` refuses to run on any (exit 2). Afterwards it says whether values (by hash) and
metrics came out the same. Exit codes: 0 succeeded, 1 failed, 2 refused or usage error, 130 cancelled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf rerun"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Rerun a past run from its own snapshot and parameters.")
    p.add_argument("run", metavar="RUN", help="run id (YYYYMMDD-HHMMSS-xxxx)")
    p.add_argument("--no-cache", action="store_true", help="run every step, even if a cached result exists")
    p.add_argument("-b", "--backend", default=None, help="backend (default: the run's own)")
    p.add_argument("--strict", action="store_true", help="refuse (exit 2) when the environment differs")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs, then every known store)")
    p.add_argument("--json", action="store_true", help="print the finished run as JSON on stdout")
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from jupyter_kf_converter.errors import ConverterError

    from ..backends import UnknownBackend
    from ..config import Settings
    from ..models import RunStatus
    from ..reproduce import RerunError, describe, reproduction_of
    from ..service import PipelineService
    from ..snapshots import SnapshotError
    from ..store import StoreError
    from .progress import Progress, summary

    settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
    service = PipelineService(Path.cwd(), settings)
    try:
        try:
            diffs = service.environment_check(args.run)
        except RerunError as exc:
            if args.strict:
                return fmt.error(PROG, f"{exc}; refusing to rerun (--strict)", 2)
            print(f"{PROG}: warning: {exc}", file=sys.stderr)
            diffs = []
        except (StoreError, LookupError) as exc:
            return fmt.error(PROG, exc, 1)
        if diffs:
            print(f"the environment differs from the one run {args.run} recorded:", file=sys.stderr)
            for d in diffs:
                print(f"  {d}", file=sys.stderr)
            if args.strict:
                return fmt.error(PROG, f"{len(diffs)} environment difference(s); refusing to rerun (--strict)", 2)
        overrides = {"cache": False} if args.no_cache else {}
        if args.backend:
            overrides["backend"] = args.backend
        progress = Progress(sys.stderr)
        try:
            run = service.rerun(args.run, on_update=None if args.json else progress.update, **overrides)
        except UnknownBackend as exc:
            return fmt.error(PROG, exc, 2)
        except (RerunError, SnapshotError, ConverterError, StoreError, ValueError) as exc:
            return fmt.error(PROG, exc, 1)
        handle = service.handle(run.id)
        assert handle is not None
        try:
            while not handle.wait(0.25).status.finished or not getattr(handle, "done", True):
                if not args.json:
                    progress.tick()
        except KeyboardInterrupt:
            handle.cancel()
            handle.wait()
            return 130
        final = handle.wait()
        if args.json:
            print(final.model_dump_json(indent=2))
        else:
            print(summary(final, service.store_of(final.id), color=progress.color), file=sys.stderr)
            rep = reproduction_of(service, final)
            if rep is not None and final.status == RunStatus.succeeded:
                print(describe(rep), file=sys.stderr)
        return 0 if final.status == RunStatus.succeeded else 1
    finally:
        service.close()
