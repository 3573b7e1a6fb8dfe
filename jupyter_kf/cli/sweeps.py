"""`jupyter kf sweeps [SWEEP]`: list sweeps, or show one's trials; `--cancel SWEEP` stops one."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf sweeps"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="List sweeps, or show the trials of one.")
    p.add_argument("sweep", metavar="SWEEP", nargs="?")
    p.add_argument("--notebook", metavar="NB", help="only the sweeps of this notebook")
    p.add_argument("--cancel", action="store_true", help="cancel SWEEP (also one running in another process)")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs, then every known store)")
    p.add_argument("--json", action="store_true")
    return p


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..config import Settings
    from ..service import PipelineService
    from ..sweeps import UnknownSweep
    from .sweep import progress_line, render

    settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
    service = PipelineService(Path.cwd(), settings)
    try:
        if args.sweep:
            sweep = service.sweeps.cancel(args.sweep) if args.cancel else service.sweeps.get(args.sweep)
            print(sweep.model_dump_json(indent=1) if args.json else render(sweep))
            return 0
        if args.cancel:
            return fmt.error(PROG, "--cancel needs a SWEEP", 2)
        sweeps = service.sweeps.list(args.notebook)
        if args.json:
            print("[" + ",".join(s.model_dump_json() for s in sweeps) + "]")
        else:
            rows = [[s.id, s.notebook, s.status.value, progress_line(s).split(": ", 1)[1]] for s in sweeps]
            print(fmt.table(["sweep", "notebook", "status", "progress"], rows) if rows else "no sweeps")
        return 0
    except UnknownSweep as exc:
        return fmt.error(PROG, exc, 1)
    finally:
        service.close()
