"""Change tracking behind `GET runs?since=` (long polling) and `GET runs/{id}/events` (SSE).

Runs can change in any process (the CLI, a magic in a kernel, this server), so changes are found
by fingerprinting the run records the store returns: each time a record differs from the last one
seen, it gets the next sequence number. A cursor is `<server boot id>.<sequence>`; runs with a
higher sequence changed after it. Runs started by this server also wake the waiters at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import threading
from collections.abc import Iterable

from ..models import Run


def fingerprint(run: Run) -> str:
    return hashlib.blake2b(run.model_dump_json().encode(), digest_size=16).hexdigest()


class RunWatch:
    """Sequence numbers for run changes, and a wake-up for waiters (thread-safe)."""

    def __init__(self) -> None:
        self.boot = secrets.token_hex(4)
        self._seq = 0
        self._seen: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None


    @property
    def cursor(self) -> str:
        return f"{self.boot}.{self._seq}"

    def parse_cursor(self, cursor: str) -> int:
        """The sequence number in ``cursor``; 0 (everything) for a cursor of an earlier server."""
        boot, _, seq = cursor.partition(".")
        if not seq.isdigit() or len(seq) > 18:
            raise ValueError(f"since: {cursor!r} is not a cursor returned by GET runs")
        return int(seq) if boot == self.boot else 0

    def observe(self, runs: Iterable[Run]) -> tuple[dict[str, int], str]:
        """Record the runs' current state: (run id -> sequence of its last change, cursor)."""
        out: dict[str, int] = {}
        with self._lock:
            for run in runs:
                fp = fingerprint(run)
                old = self._seen.get(run.id)
                if old is None or old[0] != fp:
                    self._seq += 1
                    old = self._seen[run.id] = (fp, self._seq)
                out[run.id] = old[1]
            return out, self.cursor

    def notify(self, run: Run | None = None) -> None:
        """Called (from any thread) when a run changed: wakes every waiter."""
        loop, event = self._loop, self._changed
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> None:
        """Sleep until a notification or ``timeout`` seconds, whichever is first."""
        if self._changed is None:  # bound lazily to the server's running loop
            self._loop, self._changed = asyncio.get_running_loop(), asyncio.Event()
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        else:
            # Every waiter woke; the next notification needs a fresh event.
            if self._changed is event:
                self._changed = asyncio.Event()
