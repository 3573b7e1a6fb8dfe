"""What a notification says: a :class:`~jupyter_kf.models.Notification` from a run or a failed due time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Notification, Run, Schedule

_ICON = {"succeeded": "✅", "failed": "❌", "cancelled": "⏹", "interrupted": "⚠️"}


def _metrics_text(metrics: dict[str, Any], limit: int = 6) -> str:
    items = list(metrics.items())[:limit]
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items)


def for_run(run: Run) -> Notification:
    status = run.status.value
    parts = [f"{_ICON.get(status, '')} jupyter-kf: run {run.id} of {run.notebook} {status}".strip()]
    if run.duration is not None:
        parts[0] += f" in {run.duration:.1f} s"
    if run.schedule:
        parts.append(f"schedule {run.schedule}")
    if run.metrics:
        parts.append(_metrics_text(run.metrics))
    if run.error and status != "succeeded":
        parts.append(run.error)
    return Notification(
        event=f"run.{status}", text=" · ".join(parts), status=status, notebook=run.notebook,
        pipeline=run.pipeline, run=run.id, schedule=run.schedule, scheduled_for=run.scheduled_for,
        duration=run.duration, metrics=run.metrics, error=run.error,
    )


def for_schedule_failure(schedule: Schedule, due: datetime, error: str) -> Notification:
    text = f"❌ jupyter-kf: schedule {schedule.name} ({schedule.id}) could not run {schedule.notebook} " \
           f"due {due:%Y-%m-%d %H:%M} UTC · {error}"
    return Notification(
        event="schedule.failed", text=text, status="failed", notebook=schedule.notebook,
        schedule=schedule.id, scheduled_for=due, error=error,
    )
