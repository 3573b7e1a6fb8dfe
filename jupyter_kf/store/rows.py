"""The sqlite schema, run ids, and how records are stored in rows (model JSON + query columns)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..models import Run

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    notebook TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    snapshot TEXT,
    runner_pid INTEGER,
    runner_start TEXT,
    runner_host TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL,
    cache_key TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE INDEX IF NOT EXISTS steps_cache_key ON steps (cache_key, status);
"""


@dataclass(frozen=True)
class CacheHit:
    """A finished step whose outputs a new step with the same cache key can reuse."""

    run_id: str  # the run that actually executed the step (cache chains are followed)
    step: str
    cache_key: str
    notebook: Path  # its executed notebook
    values_dir: Path  # <run>/work/kf-values/<step>: values, manifest.json, metrics.json
    log: Path | None
    duration: float | None
    metrics: dict[str, Any]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDD-HHMMSS-xxxx`` (UTC; sortable by time). Uniqueness is enforced by the store."""
    now = now or utcnow()
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def apply_fields(model: type, current: Any, fields: dict[str, Any]) -> Any:
    unknown = set(fields) - set(model.model_fields)
    if unknown:
        raise TypeError(f"unknown {model.__name__} field(s): {', '.join(sorted(unknown))}")
    return model.model_validate({**current.model_dump(), **fields})


def run_json(run: Run) -> str:
    return run.model_copy(update={"steps": []}).model_dump_json()
