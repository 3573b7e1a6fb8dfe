"""Rich (HTML) and plain-text views of runs, run lists, problems and snapshots for the magics."""

from __future__ import annotations

import html
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..models import Run, Snapshot, StepRun

ICONS = {
    "pending": "·", "queued": "·", "running": "▶", "succeeded": "✔", "cached": "↺",
    "failed": "✘", "skipped": "–", "cancelled": "■", "interrupted": "!",
}
COLOURS = {"succeeded": "#2e7d32", "cached": "#1565c0", "failed": "#c62828", "running": "#ef6c00"}


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f}min"


def _val(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    text = str(v)
    return text if len(text) <= 60 else text[:57] + "..."


def relpath(path: str | os.PathLike | None) -> str:
    if not path:
        return ""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def step_line(s: StepRun) -> str:
    status = s.status.value
    extra = f" (from {s.cached_from})" if s.cached_from else ""
    err = f": {s.error}" if s.error else ""
    return f"  {ICONS.get(status, '?')} {s.name:<20} {status:<10} {_dur(s.duration):>8}{extra}{err}"


def activity_line(activity: tuple) -> str:
    """``snapshot: 120/2560 files, 240.0 MB/5.0 GB``."""
    what, done, total, (nbytes, nbytes_total) = activity
    return f"{what}: {done}/{total} files, {_size(nbytes)}/{_size(nbytes_total)}"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


class RunView:
    """One run: per-step status, durations, errors; with ``final``, metrics and where outputs are."""

    def __init__(
        self, run: Run, *, final: bool = False, step_notebooks: dict[str, str] | None = None, outputs: str | None = None,
        activity: tuple | None = None,
    ) -> None:
        self.run, self.final, self.step_notebooks, self.outputs = run, final, step_notebooks or {}, outputs
        self.activity = activity  # long work before steps: (what, done, total, (bytes done, bytes total))

    def _metrics(self) -> dict[str, Any]:
        metrics = dict(self.run.metrics)
        for s in self.run.steps:
            for k, v in s.metrics.items():
                metrics.setdefault(k, v)
        return metrics

    def __repr__(self) -> str:
        r = self.run
        head = f"run {r.id} [{r.backend}] {r.pipeline}: {r.status.value}"
        if r.duration is not None:
            head += f" in {_dur(r.duration)}"
        lines = [head] + [step_line(s) for s in r.steps]
        if self.activity:
            lines.append(activity_line(self.activity))
        if r.error:
            lines.append(f"error: {r.error}")
        if self.final:
            metrics = self._metrics()
            if metrics:
                lines.append("metrics: " + ", ".join(f"{k}={_val(v)}" for k, v in metrics.items()))
            if self.outputs:
                lines.append(f"outputs: {self.outputs}")
            if self.step_notebooks:
                lines.append("executed notebooks:")
                lines += [f"  {name}: {path}" for name, path in self.step_notebooks.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        r = self.run
        e = html.escape
        rows = []
        for s in r.steps:
            st = s.status.value
            colour = COLOURS.get(st, "inherit")
            where = self.step_notebooks.get(s.name)
            name = e(s.name) if not where else f'<a href="{e(where)}" target="_blank" title="{e(where)}">{e(s.name)}</a>'
            note = e(s.error or (f"cached from {s.cached_from}" if s.cached_from else ""))
            rows.append(
                f"<tr><td>{name}</td><td style='color:{colour}'>{ICONS.get(st, '?')} {st}</td>"
                f"<td style='text-align:right'>{_dur(s.duration)}</td><td>{note}</td></tr>"
            )
        status = r.status.value
        head = (
            f"<b>run {e(r.id)}</b> [{e(r.backend)}] {e(r.pipeline)}: "
            f"<span style='color:{COLOURS.get(status, 'inherit')}'>{status}</span>"
            + (f" in {_dur(r.duration)}" if r.duration is not None else "")
        )
        out = [f"<div>{head}</div>", "<table><tr><th>step</th><th>status</th><th>time</th><th></th></tr>",
               *rows, "</table>"]
        if self.activity:
            out.append(f"<div><progress max='{self.activity[2]}' value='{self.activity[1]}'></progress> "
                       f"{e(activity_line(self.activity))}</div>")
        if r.error:
            out.append(f"<div style='color:#c62828'>error: {e(r.error)}</div>")
        if self.final:
            metrics = self._metrics()
            if metrics:
                out.append("<table><tr><th>metric</th><th>value</th></tr>" + "".join(
                    f"<tr><td>{e(k)}</td><td>{e(_val(v))}</td></tr>" for k, v in metrics.items()) + "</table>")
            if self.outputs:
                out.append(f"<div>outputs: <code>{e(self.outputs)}</code></div>")
        return "\n".join(out)


class RunsView:
    def __init__(self, runs: Iterable[Run]) -> None:
        self.runs = list(runs)

    def _rows(self) -> list[tuple[str, ...]]:
        rows = []
        for r in self.runs:
            metrics = dict(r.metrics)
            for s in r.steps:
                for k, v in s.metrics.items():
                    metrics.setdefault(k, v)
            done = sum(s.status.value in ("succeeded", "cached") for s in r.steps)
            rows.append((
                r.id, r.status.value, r.backend, f"{done}/{len(r.steps)}", _dur(r.duration),
                ", ".join(f"{k}={_val(v)}" for k, v in metrics.items()),
            ))
        return rows

    HEADERS = ("run", "status", "backend", "steps", "time", "metrics")

    def __repr__(self) -> str:
        if not self.runs:
            return "no runs yet"
        rows = [self.HEADERS, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADERS))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)

    def _repr_html_(self) -> str:
        if not self.runs:
            return "<i>no runs yet</i>"
        head = "".join(f"<th>{h}</th>" for h in self.HEADERS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self._rows())
        return f"<table><tr>{head}</tr>{body}</table>"


class ProblemsView:
    def __init__(self, problems: list) -> None:
        self.problems = problems

    @staticmethod
    def _where(p) -> str:
        parts = []
        if p.cell is not None:
            parts.append(f"cell {p.cell + 1}")  # counted from 1, as in every message
        if p.step:
            parts.append(f"step {p.step}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        if not self.problems:
            return "no problems"
        return "\n".join(f"{p.severity}: {p.message}" + (f" [{self._where(p)}]" if self._where(p) else "") for p in self.problems)

    def _repr_html_(self) -> str:
        if not self.problems:
            return "<span style='color:#2e7d32'>✔ no problems</span>"
        rows = "".join(
            f"<tr><td style='color:{'#c62828' if p.severity == 'error' else '#ef6c00'}'>{p.severity}</td>"
            f"<td>{html.escape(self._where(p))}</td><td>{html.escape(p.message)}</td></tr>"
            for p in self.problems
        )
        return f"<table><tr><th></th><th>where</th><th>problem</th></tr>{rows}</table>"


def snapshot_text(s: Snapshot) -> str:
    return (f"snapshot {s.id[:16]} of {relpath(s.root) or s.root}: {s.files} files, {s.bytes} bytes "
            f"({s.new_bytes} new bytes stored)")


def notebook_paths(paths: dict[str, Path]) -> dict[str, str]:
    return {k: relpath(v) for k, v in paths.items()}
