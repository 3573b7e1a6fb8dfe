"""Steps being computed right now in this process, by cache key.

Two runs that need the same step at the same time (the trials of a sweep, which share every step
no swept parameter reaches) must not compute it twice: the first run to miss the cache claims the
key, the others wait until it is released (its result then is a cache hit for them, or, if it
failed, one of them claims the key and runs the step itself).
"""

from __future__ import annotations

import threading


class InFlight:
    """Claims on cache keys: ``(store, key) -> run id`` of the run computing that step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owners: dict[tuple[str, str], str] = {}

    def claim(self, store: str, key: str, run_id: str) -> str | None:
        """Claim ``key`` for ``run_id``; None when claimed, else the run that holds it."""
        with self._lock:
            owner = self._owners.setdefault((store, key), run_id)
        return None if owner == run_id else owner

    def release(self, store: str, key: str, run_id: str) -> None:
        with self._lock:
            if self._owners.get((store, key)) == run_id:
                del self._owners[(store, key)]

    def release_all(self, run_id: str) -> None:
        """Every claim of ``run_id`` (a run that ends, however it ends)."""
        with self._lock:
            for k in [k for k, owner in self._owners.items() if owner == run_id]:
                del self._owners[k]

    def holder(self, store: str, key: str) -> str | None:
        with self._lock:
            return self._owners.get((store, key))


IN_FLIGHT = InFlight()  # one per process: every local run consults it in its cache lookup
