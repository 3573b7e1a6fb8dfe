"""Re-attach a watcher to a cluster run whose watcher died (server restart, killed CLI).

A submitted KFP/Argo run is recorded in the store as a *cluster lease* (see
``jupyter_kf.store.liveness``): it is alive while a process holds its watch lock. When the store's
liveness check finds the lock free, it takes the lock and calls :func:`try_reattach`, which
resumes watching in this process from ``cluster.json`` and ``external_id``: step states, logs of
finished steps, the run's end, and the cleanup of its snapshot / PVC. If the cluster no longer has
the run (404), the run becomes ``interrupted`` with a reason naming the cluster object.

A process that cannot reach the cluster (no configuration, no credentials: 401/403) leaves the run
as it is, running and unwatched, and does not try again for :data:`RETRY_AFTER` seconds; a
process that can will re-attach.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import Run
    from ..store import RunStore
    from ..store.liveness import WatchLock
    from .watch import ClusterRunHandle

log = logging.getLogger(__name__)

FIRST_PASS_WAIT = 2.0  # seconds the opener waits for the cluster's state to be read once
RETRY_AFTER = 30.0  # seconds before this process tries again to watch a run it could not

_guard = threading.Lock()
_stores: dict[Path, RunStore] = {}
_watchers: dict[str, ClusterRunHandle] = {}
_failed: dict[Path, float] = {}
_listeners: list[Callable[[Run], None]] = []


def add_listener(fn: Callable[[Run], None]) -> None:
    """Call ``fn(run)`` on every change of a run re-attached in this process (e.g. the server's
    change notifier); exceptions are ignored."""
    _listeners.append(fn)


def watchers() -> dict[str, ClusterRunHandle]:
    """The handles re-attached by this process, by run id (finished ones included)."""
    with _guard:
        return dict(_watchers)


def try_reattach(run_dir: Path, lock: WatchLock) -> bool:
    """Watch the run in ``run_dir`` from this process; ``lock`` (its watch lock) is held.

    Returns whether the run may still be alive: False only when it cannot be re-attached at all
    (no ``cluster.json``), so the store marks it interrupted.
    """
    run_dir = Path(run_dir)
    with _guard:
        failed_at = _failed.get(run_dir)
    if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER:
        lock.release()
        return True
    record = _read_record(run_dir)
    if record is None:
        lock.release()
        return False
    backend = record["backend"]
    first_pass = threading.Event()
    thread = threading.Thread(
        target=_attach,
        args=(run_dir, backend, record, lock, first_pass),
        name=f"kf-reattach-{run_dir.name}",
        daemon=True,
    )
    thread.start()
    # The opener (e.g. `jupyter kf show`) sees the cluster's current state, within a bound.
    first_pass.wait(FIRST_PASS_WAIT)
    return True


def _read_record(run_dir: Path) -> dict | None:
    """``cluster.json`` when it names a cluster object to watch, else None."""
    try:
        record = json.loads((run_dir / "cluster.json").read_text())
    except (OSError, ValueError):
        return None
    ids = {"argo": "workflow", "kfp": "kfp_run"}
    if not isinstance(record, dict) or not record.get("namespace"):
        return None
    key = ids.get(record.get("backend"))  # type: ignore[arg-type]
    return record if key and record.get(key) else None


def _attach(
    run_dir: Path, backend_name: str, record: dict, lock: WatchLock, first_pass: threading.Event
) -> None:
    handle = None
    try:
        handle = _start(run_dir, backend_name, record, lock)
    except Exception as exc:
        lock.release()
        with _guard:
            _failed[run_dir] = time.monotonic()
        log.warning("run %s: cannot re-attach a watcher here: %s", run_dir.name, exc)
    finally:
        if handle is None:
            first_pass.set()
    if handle is None:
        return
    handle.first_pass.wait()
    first_pass.set()
    handle.wait()
    if handle.detached_reason and handle.detached_reason != "detached":
        with _guard:
            _failed[run_dir] = time.monotonic()


def _start(run_dir: Path, backend_name: str, record: dict, lock: WatchLock) -> ClusterRunHandle | None:
    from ..backends import backend_class
    from .backend import ClusterBackend, default_settings

    store = _store(run_dir.parent)
    run = store.get_run(run_dir.name)
    if run.status.finished:
        lock.release()
        return None
    cls = backend_class(backend_name)
    if not issubclass(cls, ClusterBackend):
        raise ValueError(f"backend {backend_name!r} of cluster.json is not a cluster backend")
    settings = default_settings()
    if "keep_snapshot" in record:  # what the submitter was asked to keep, whatever this process says
        settings = settings.model_copy(update={"keep_snapshot": bool(record["keep_snapshot"])})
    backend = cls(store, settings)
    handle = backend.reattach(run, lock=lock, on_update=_notify)
    with _guard:
        _watchers[run.id] = handle
        _failed.pop(run_dir, None)
    log.info("run %s: re-attached a watcher to %s", run.id, handle.driver.describe())
    return handle


def _store(path: Path) -> RunStore:
    from ..store import RunStore

    path = path.resolve()
    with _guard:
        store = _stores.get(path)
    if store is None:
        store = RunStore(path, register=False)
        with _guard:
            store = _stores.setdefault(path, store)
    return store


def _notify(run: Run) -> None:
    for fn in tuple(_listeners):
        try:
            fn(run)
        except Exception:
            log.debug("re-attach listener failed", exc_info=True)
