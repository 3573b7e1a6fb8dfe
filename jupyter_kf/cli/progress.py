"""Live per-step progress of a run on a terminal, or line by line in a pipe; then a summary.

On a TTY a status block (one line per step, with elapsed time for running steps) is redrawn in
place; otherwise one line is printed per step event, so logs and CI output stay readable.
``update(run)`` may be called from any thread (it is the run's ``on_update`` callback).
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timezone
from typing import IO

from ..models import Run, RunStatus, StepStatus
from . import _format as fmt

_FINAL_WORD = {
    StepStatus.succeeded: "done",
    StepStatus.cached: "cached",
    StepStatus.failed: "failed",
    StepStatus.skipped: "skipped",
    StepStatus.cancelled: "cancelled",
    StepStatus.running: "running",
}


def _elapsed(started: datetime | None) -> float | None:
    return None if started is None else (datetime.now(timezone.utc) - started).total_seconds()


class Progress:
    def __init__(self, stream: IO[str] | None = None, tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.color = fmt.use_color(self.stream)
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[StepStatus, int]] = {}
        self._run: Run | None = None
        self._drawn = 0
        self._started = time.monotonic()

    # -- events -------------------------------------------------------------------------------
    def update(self, run: Run) -> None:
        with self._lock:
            self._run = run
            if self.tty:
                self._draw()
                return
            for s in run.steps:
                key = (s.status, s.attempt)
                if self._seen.get(s.name) == key:
                    continue
                first = s.name not in self._seen
                self._seen[s.name] = key
                if first and s.status == StepStatus.pending:
                    continue
                self._line(run, s)

    def tick(self) -> None:
        """Refresh running steps' elapsed times (TTY only)."""
        with self._lock:
            if self.tty and self._run is not None:
                self._draw()

    def _line(self, run: Run, s) -> None:
        word = _FINAL_WORD.get(s.status, s.status.value)
        if s.status == StepStatus.running and s.attempt > 1:
            word = f"running (attempt {s.attempt})"
        symbol = fmt.status_text(s.status, symbol=True).split()[0]
        parts = [f"  {symbol} {s.name:<24} {word}"]
        if s.status.finished and s.duration is not None and s.status != StepStatus.skipped:
            parts.append(fmt.duration(s.duration))
        if s.status == StepStatus.cached and s.cached_from:
            parts.append(f"(from run {s.cached_from})")
        if s.error and s.status in (StepStatus.failed, StepStatus.skipped, StepStatus.cancelled):
            parts.append(f"- {s.error}")
        self.stream.write("  ".join(parts) + "\n")
        self.stream.flush()

    def _draw(self) -> None:
        run = self._run
        assert run is not None
        elapsed = fmt.duration(time.monotonic() - self._started)
        lines = [f"run {run.id}  {fmt.status_text(run.status, color=self.color)}  {elapsed}"]
        width = max((len(s.name) for s in run.steps), default=4)
        for s in run.steps:
            if s.status == StepStatus.running:
                took = fmt.duration(_elapsed(s.started_at))
            elif s.status.finished and s.status != StepStatus.skipped:
                took = fmt.duration(s.duration)
            else:
                took = ""
            extra = (
                f"from {s.cached_from}"
                if s.status == StepStatus.cached and s.cached_from
                else (s.error or "")
            )
            if s.status == StepStatus.running and s.attempt > 1:
                extra = f"attempt {s.attempt}"
            plain = fmt.status_text(s.status, symbol=True)
            status = fmt.status_text(s.status, color=self.color, symbol=True) + " " * max(0, 12 - len(plain))
            lines.append(f"  {s.name:<{width}}  {status}  {took:>7}  {extra}"[:240].rstrip())
        out = []
        if self._drawn:
            out.append(f"\x1b[{self._drawn}F")  # back to the first line of the block
        out += [ln + "\x1b[K\n" for ln in lines]
        self.stream.write("".join(out))
        self.stream.flush()
        self._drawn = len(lines)


def summary(run: Run, store, color: bool = False) -> str:
    """The run's outcome, metrics and where its outputs are (paths)."""
    counts: dict[str, int] = {}
    for s in run.steps:
        counts[s.status.value] = counts.get(s.status.value, 0) + 1
    order = ["succeeded", "cached", "failed", "cancelled", "skipped", "pending", "running"]
    tally = ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))
    lines = [
        f"run {run.id} {fmt.status_text(run.status, color=color)} in {fmt.duration(run.duration)} ({tally})"
    ]
    if run.error:
        lines.append(f"  reason:    {run.error}")
    if run.metrics:
        lines.append("  metrics:   " + ", ".join(f"{k}={fmt.value(v)}" for k, v in run.metrics.items()))
    lines.append(
        f"  notebooks: {fmt.display_path(store.run_path(run.id) / 'steps')}/<step>.ipynb (logs: <step>.log)"
    )
    lines.append(f"  files:     {fmt.display_path(store.work_dir(run.id))}")
    failed = [s for s in run.steps if s.status == StepStatus.failed]
    for s in failed:
        lines.append(f"  failed:    {s.name}: {fmt.display_path(store.step_notebook_path(run.id, s.name))}")
    cancelled = [s.name for s in run.steps if s.status == StepStatus.cancelled]
    if cancelled:
        lines.append(f"  cancelled: {', '.join(cancelled)} (stopped while running; their notebooks keep what ran)")
    if run.status in (RunStatus.failed, RunStatus.cancelled):
        # No notebook path: the run id finds its store from any folder (kf-stores.json).
        lines.append(f"  retry:     jupyter kf run --retry {run.id}")
    lines.append(f"  details:   jupyter kf show {run.id}")
    return "\n".join(lines)
