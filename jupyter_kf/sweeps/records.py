"""Sweep records: one JSON file per sweep in ``<store>/sweeps/<id>.json``, beside the runs.

A trial's own record (steps, notebooks, metrics) is its run in the run store; the sweep file
holds the search (request, trials with their parameters and objective value, the best so far).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path

from .._fsutil import atomic_write_text
from ..models import Sweep


class UnknownSweep(KeyError):
    def __init__(self, sweep_id: str) -> None:
        super().__init__(sweep_id)
        self.sweep_id = sweep_id

    def __str__(self) -> str:
        return f"no sweep {self.sweep_id!r}"


def new_sweep_id() -> str:
    return "sw-" + datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def valid_id(sweep_id: str) -> bool:
    """A sweep id names a file: nothing but the characters :func:`new_sweep_id` makes."""
    return sweep_id.startswith("sw-") and all(c.isalnum() or c == "-" for c in sweep_id) and len(sweep_id) < 64


class SweepRecords:
    """The sweep files of one run store."""

    def __init__(self, store_path: Path) -> None:
        self.folder = Path(store_path) / "sweeps"

    def path(self, sweep_id: str) -> Path:
        if not valid_id(sweep_id):
            raise UnknownSweep(sweep_id)
        return self.folder / f"{sweep_id}.json"

    def save(self, sweep: Sweep) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path(sweep.id), sweep.model_dump_json(indent=1))

    def get(self, sweep_id: str) -> Sweep:
        f = self.path(sweep_id)
        if not f.is_file():
            raise UnknownSweep(sweep_id)
        sweep = Sweep.model_validate_json(f.read_text())
        return sweep

    def has(self, sweep_id: str) -> bool:
        return valid_id(sweep_id) and self.path(sweep_id).is_file()

    def request_cancel(self, sweep_id: str) -> None:
        """Ask the process running the sweep to cancel it (its runner polls this file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path(sweep_id).with_suffix(".cancel").touch()

    def cancel_requested(self, sweep_id: str) -> bool:
        return self.path(sweep_id).with_suffix(".cancel").exists()

    def list(self) -> list[Sweep]:
        if not self.folder.is_dir():
            return []
        out = [Sweep.model_validate_json(f.read_text()) for f in self.folder.glob("sw-*.json")]
        return sorted(out, key=lambda s: s.created_at, reverse=True)

