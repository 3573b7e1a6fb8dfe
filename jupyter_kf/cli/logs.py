"""`jupyter kf logs RUN [STEP]`: print a step's log, or every step's log in pipeline order."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import _format as fmt

PROG = "jupyter kf logs"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Print the log of a run, or of one of its steps.")
    p.add_argument("run", metavar="RUN", help="run id")
    p.add_argument("step", metavar="STEP", nargs="?", help="step name (default: every step)")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs, then every known store)")
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..store import StoreError
    from .show import open_run_store

    try:
        store = open_run_store(args.run, args.store)
        run = store.get_run(args.run)
        steps = [store.get_step(args.run, args.step)] if args.step else run.steps
    except (StoreError, ValueError) as e:
        return fmt.error(PROG, e)
    try:
        return _print_logs(store, run, steps, whole_run=args.step is None)
    except BrokenPipeError:
        return fmt.pipe_closed()


def _print_logs(store, run, steps, *, whole_run: bool) -> int:
    out = sys.stdout
    for s in steps:
        log = store.resolve(s.log) or store.step_log_path(run.id, s.name)
        if whole_run:
            out.write(f"==> {s.name} ({s.status.value}) <==\n")
        if not log.is_file():
            msg = f"no log for step {s.name!r} of run {run.id} (status {s.status.value})"
            if not whole_run:
                return fmt.error(PROG, msg)
            out.write(f"({msg})\n\n")
            continue
        with open(log, encoding="utf-8", errors="replace") as f:
            for line in f:
                out.write(line)
        if whole_run:
            out.write("\n")
    out.flush()
    return 0
