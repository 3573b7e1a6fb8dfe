"""`jupyter kf cancel RUN`: ask a running run to stop (from any process) and wait for it.

The runner polls the run store's cancel flag, kills its step kernels and marks the run
cancelled; a run whose runner is gone is marked cancelled at once.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf cancel"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Cancel a running run.")
    p.add_argument("run", metavar="RUN", help="run id")
    p.add_argument(
        "--store", metavar="DIR", help="run store folder (default: ./kf-runs, then every known store)"
    )
    p.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds to wait for the run to stop (default 30; 0: do not wait)",
    )
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..config import Settings
    from ..service import PipelineService
    from ..store import StoreError

    settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
    service = PipelineService(Path.cwd(), settings)
    try:
        run = service.get_run(args.run)
        if run.status.finished:
            print(f"run {run.id} already {run.status.value}")
            return 0
        run = service.cancel(args.run)
        deadline = time.monotonic() + args.wait
        while not run.status.finished and time.monotonic() < deadline:
            time.sleep(0.2)
            run = service.get_run(args.run)
    except StoreError as exc:
        return fmt.error(PROG, exc)
    finally:
        service.close()
    if run.status.finished:
        print(f"run {run.id} {run.status.value}")
        return 0
    print(f"run {run.id}: cancel requested; still {run.status.value} after {args.wait:g} s")
    return 1
