"""Errors of the run store (messages say what and where)."""

from __future__ import annotations


class StoreError(Exception):
    """A run store problem the user can act on (the message says what and where)."""


class UnknownRun(StoreError, LookupError):
    def __init__(self, run_id: str, where: str = "") -> None:
        super().__init__(f"no run {run_id!r}{' in ' + where if where else ''}")
        self.run_id = run_id


class UnknownStep(StoreError, LookupError):
    def __init__(self, run_id: str, step: str, known: list[str]) -> None:
        super().__init__(f"run {run_id} has no step {step!r} (steps: {', '.join(known) or 'none'})")
