"""The Backend interface: what runs a pipeline (locally, on KFP, on Argo).

A backend gets the Pipeline IR, the run's record (already created in the run store by the
service, status ``queued``, one pending StepRun per step) and the request, and starts the run:

    handle = backend.start(pipeline, run, request, on_update)
    handle.wait(timeout=None) -> Run     # the finished run (or the current one on timeout)
    handle.cancel()                      # ask it to stop; wait() then returns the cancelled run

Contract for implementations:
- ``start`` returns quickly; the work happens in the background (a thread, or a cluster).
- Every state change is written to the run store (``RunStore.update_run``/``update_step``)
  and then reported with ``on_update(run)`` (called from any thread; exceptions are ignored).
- The run ends in a finished status (succeeded, failed with a one-line ``error``, cancelled).
- Cancellation requested from another process arrives through the store
  (``RunStore.cancel_requested(run_id)``); poll it while the run is active.
- No secret (token, password, kubeconfig) is written into specs, logs, snapshots or the store.
- ``info()`` never raises: a backend that cannot run here says why in ``BackendInfo.reason``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..models import BackendInfo, Run, RunRequest

if TYPE_CHECKING:
    from jupyter_kf_converter.ir import Pipeline

    from ..config import Settings
    from ..store import RunStore

OnUpdate = Callable[[Run], None]


class BackendError(RuntimeError):
    """The backend cannot start the run (not configured, unreachable, ...); says what to do."""


class BackendNotReady(BackendError):
    """The backend asked for is not installed or not configured here: refused before anything
    runs (no run record, no snapshot). A usage error: the CLI exits 2, REST answers 422."""

    def __init__(self, name: str, reason: str | None) -> None:
        super().__init__(f"backend {name!r} cannot run here: {reason or 'not configured'}; nothing ran")
        self.name = name
        self.reason = reason


class RunHandle(Protocol):
    run_id: str

    def wait(self, timeout: float | None = None) -> Run:
        """Block until the run finishes (or ``timeout`` s pass) and return its record."""
        ...

    def cancel(self) -> None:
        """Stop the run (idempotent)."""
        ...


class Backend(ABC):
    """Base class of every backend. Subclasses set ``name`` and implement ``info`` and ``start``."""

    name: str = ""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    @classmethod
    def check(cls, pipeline: Pipeline, settings: Settings) -> None:
        """Refuse, before anything runs or is recorded, a pipeline this backend cannot run here
        (raise ``ValueError`` saying which step and why). Default: accept."""

    @abstractmethod
    def info(self) -> BackendInfo:
        """Whether this backend is available (libraries) and configured (cluster access) here."""

    @abstractmethod
    def start(
        self, pipeline: Pipeline, run: Run, request: RunRequest, on_update: OnUpdate | None = None
    ) -> RunHandle:
        """Start ``run`` (already in ``self.store``) of ``pipeline``; return at once."""
