"""`jupyter kf show RUN`: one run's steps, durations, cache reuse, errors and output locations."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from . import _format as fmt

PROG = "jupyter kf show"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Show one run: steps, durations, errors, outputs.")
    p.add_argument("run", metavar="RUN", help="run id (YYYYMMDD-HHMMSS-xxxx)")
    p.add_argument("--store", metavar="DIR", help="run store folder (default: ./kf-runs, then every known store)")
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    return p


def open_run_store(run_id: str, store: str | None):
    """The store holding ``run_id``: ``--store``, else the current folder's, else any registered one."""
    from ..config import Settings
    from ..store import locate

    settings = Settings.from_env()
    first = [Path(store)] if store else [settings.store_path(Path.cwd())]
    return locate(run_id, settings, first=first)


def inputs_line(record: Path) -> str | None:
    """How the snapshot's files reached the run's folder (``materialized.json``), in words."""
    try:
        doc = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    method = doc.get("method")
    if method == "none":
        return "not written (every step was cached)"
    how = {
        "overlay": "seen through an overlay of the snapshot (copy-on-write: no bytes copied)",
        "reflink": "cloned (reflinks: no bytes copied)",
        "copy": "copied: this file system has no reflinks",
        "mixed": "partly cloned, partly copied",
    }.get(method, str(method))
    text = f"{doc.get('files', 0)} files, {fmt.size(doc.get('bytes', 0))} {how}, {fmt.duration(doc.get('seconds'))}"
    if doc.get("unchanged_removed"):
        text += f"; {doc['unchanged_removed']} unchanged removed after the run"
    return text


def render(run, store, color: bool = False) -> str:
    lines = [
        f"run       {run.id}  {fmt.status_text(run.status, color=color)}",
        f"notebook  {fmt.display_path(store.settings.run_notebook(run.notebook, store.path, Path.cwd()))}"
        f"   pipeline {run.pipeline}   backend {run.backend}",
        f"started   {fmt.timestamp(run.started_at or run.created_at)}   duration {fmt.duration(fmt.elapsed(run))}",
    ]
    if run.error:
        lines.append(f"error     {run.error}")
    if run.snapshot:
        lines.append(f"snapshot  {run.snapshot[:12]}")
        inputs = inputs_line(store.run_path(run.id) / "materialized.json")
        if inputs:
            lines.append(f"inputs    {inputs}")
    if run.retry_of:
        lines.append(f"retry of  {run.retry_of}")
    if run.reproduces:
        lines.append(f"reproduces {run.reproduces}: {_reproduction(run, store)}")
    if run.inputs_from:
        which = f"from step {run.from_step}" if run.from_step else f"only step {run.only_step}"
        lines.append(f"inputs    upstream values of run {run.inputs_from} ({which})")
    if run.parameters:
        lines.append("params    " + ", ".join(f"{k}={fmt.value(v)}" for k, v in run.parameters.items()))
    if run.metrics:
        lines.append("metrics   " + ", ".join(f"{k}={fmt.value(v)}" for k, v in run.metrics.items()))
    lines.append(f"folder    {fmt.display_path(store.run_path(run.id))}")
    if run.run_dir:
        lines.append(f"work dir  {fmt.display_path(store.resolve(run.run_dir))}")
    lines.append("")
    rows = []
    for s in run.steps:
        if s.status.value == "cached" and s.cached_from:
            note = f"cached from {s.cached_from}"
        elif s.error:
            note = s.error + (f" (cell {s.failed_cell + 1})" if s.failed_cell is not None else "")  # from 1
        else:
            note = ""
        nb = store.resolve(s.notebook)
        rows.append([
            s.name,
            fmt.status_text(s.status, color=color, symbol=True),
            fmt.duration(fmt.elapsed(s)),
            str(s.attempt) if s.attempt > 1 else "",
            fmt.display_path(nb) if nb and nb.exists() else "-",
            note,
        ])
    lines.append(fmt.table(["STEP", "STATUS", "DURATION", "TRY", "NOTEBOOK", "NOTE"], rows, right=[2]))
    return "\n".join(lines)


def _compare_with_original(run, store):
    """The Reproduction of a finished rerun (None when it reproduces nothing or the original is gone)."""
    from ..reproduce import compare_runs
    from ..store import StoreError

    if not run.reproduces or not run.status.finished:
        return None
    try:
        origin = store if store.has_run(run.reproduces) else open_run_store(run.reproduces, None)
        return compare_runs(origin, origin.get_run(run.reproduces), store, run)
    except (StoreError, LookupError):
        return None


def _reproduction(run, store) -> str:
    """Whether a rerun came out the same as its original (values by hash, metrics)."""
    from ..reproduce import describe

    if not run.status.finished:
        return "still running"
    rep = _compare_with_original(run, store)
    if rep is None:
        return "the original run is gone"
    return describe(rep).replace("\n", "\n          ")


def main(argv: Sequence[str]) -> int:
    args = fmt.parse(build_parser(), argv)
    if isinstance(args, int):
        return args
    from ..store import StoreError

    try:
        store = open_run_store(args.run, args.store)
        run = store.get_run(args.run)
    except (StoreError, ValueError) as e:
        return fmt.error(PROG, e)
    if args.json:
        doc = {**run.model_dump(mode="json"), "duration": run.duration, "folder": str(store.run_path(run.id))}
        rep = _compare_with_original(run, store)
        if rep is not None:
            doc["reproduction"] = {**rep.model_dump(mode="json"), "identical": rep.identical}
        print(json.dumps(doc, indent=1))
    else:
        try:
            print(render(run, store, fmt.use_color()), flush=True)
        except BrokenPipeError:
            return fmt.pipe_closed()
    return 0
