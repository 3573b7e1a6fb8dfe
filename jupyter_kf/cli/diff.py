"""`jupyter kf diff RUN_A RUN_B`: parameters, metrics, code per step, data files, environment."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf diff"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Compare two runs.")
    p.add_argument("a", metavar="RUN_A")
    p.add_argument("b", metavar="RUN_B")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs, then every known store)")
    p.add_argument("--json", action="store_true", help="print the differences as JSON")
    return p


def render(d) -> str:
    out = [f"--- {d.a}", f"+++ {d.b}"]

    def pairs(title: str, changes: dict) -> None:
        out.append(f"{title}: " + ("same" if not changes else ""))
        out.extend(f"  {k}: {fmt.value(v[0])} -> {fmt.value(v[1])}" for k, v in changes.items())

    pairs("parameters", d.parameters)
    pairs("metrics", d.metrics)
    out.append("code: " + ("same" if not d.code else ", ".join(d.code) + " changed"))
    for text in d.code.values():
        out.extend("  " + line for line in text.splitlines())
    data = d.data
    if not (data.added or data.removed or data.changed):
        out.append("data: same")
    else:
        out.append("data:")
        out += [f"  + {p}" for p in data.added] + [f"  - {p}" for p in data.removed] + [f"  ~ {p}" for p in data.changed]
    out.append("environment: " + ("same" if not d.environment else ""))
    out.extend(f"  {e}" for e in d.environment)
    return "\n".join(out)


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..config import Settings
    from ..run_diff import diff_runs
    from ..service import PipelineService
    from ..snapshots import SnapshotError
    from ..store import StoreError

    settings = Settings.from_env(store=str(Path(args.store).resolve()) if args.store else None)
    service = PipelineService(Path.cwd(), settings)
    try:
        d = diff_runs(service, args.a, args.b)
    except (StoreError, SnapshotError, LookupError) as exc:
        return fmt.error(PROG, exc, 1)
    finally:
        service.close()
    print(d.model_dump_json(indent=1) if args.json else render(d))
    return 0
