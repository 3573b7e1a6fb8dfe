"""`jupyter kf compare RUN RUN...`: runs side by side (parameters, metrics, durations, changes)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf compare"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Compare runs side by side (e.g. the trials of a sweep).")
    p.add_argument("runs", metavar="RUN", nargs="*", help="run ids (two or more)")
    p.add_argument("--sweep", metavar="SWEEP", help="compare the trials of this sweep, best first")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs, then every known store)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    return p


def render(c) -> str:
    headers = ["", *[r.id for r in c.runs]]
    rows: list[list[str]] = [["status", *[r.status.value for r in c.runs]]]
    rows.append(["duration", *[fmt.duration(d) for d in c.durations]])
    rows += [[f"param {k}", *[fmt.value(v, 16) for v in vs]] for k, vs in c.parameters.items()]
    rows += [[f"metric {k}", *[fmt.value(v, 16) for v in vs]] for k, vs in c.metrics.items()]
    out = [fmt.table(headers, rows)]
    for d in c.changes:
        what = [f"code of {', '.join(d.code)}" if d.code else ""]
        data = d.data
        if data.added or data.removed or data.changed:
            what.append(f"data ({len(data.added)} added, {len(data.removed)} removed, {len(data.changed)} changed)")
        if d.environment:
            what.append(f"environment ({len(d.environment)} packages)")
        what = [w for w in what if w]
        out.append(f"{d.b} vs {d.a}: " + ("; ".join(what) + " changed" if what else "same code, data and environment"))
    return "\n".join(out)


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..config import Settings
    from ..run_compare import compare_runs
    from ..service import PipelineService
    from ..snapshots import SnapshotError
    from ..store import StoreError
    from ..sweeps import UnknownSweep

    settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
    service = PipelineService(Path.cwd(), settings)
    try:
        ids = list(args.runs)
        if args.sweep:
            sweep = service.sweeps.get(args.sweep)
            done = [t for t in sweep.trials if t.run and t.status == "succeeded"]
            done.sort(key=lambda t: t.value or 0.0, reverse=sweep.request.direction == "max")
            ids += [t.run for t in done]  # type: ignore[misc]
        if len(ids) < 2:
            return fmt.error(PROG, "give two runs or more (or --sweep SWEEP with two finished trials)", 2)
        c = compare_runs(service, ids)
    except (StoreError, SnapshotError, LookupError, UnknownSweep) as exc:
        return fmt.error(PROG, exc, 1)
    finally:
        service.close()
    print(c.model_dump_json(indent=1) if args.json else render(c))
    return 0
