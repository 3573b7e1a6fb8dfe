"""The run handle shared by the cluster backends: prepare, submit, poll, mirror into the run store.

A backend supplies a :class:`ClusterDriver` (submit / poll / cancel / step log / cleanup); this
module runs it in a thread, writes every step change to the store, reports ``on_update``, honours
cancellation requested through the store, and ends the run in a finished status, unless it is
detached (this process stops watching; the run goes on and is re-attached, see reattach.py).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..models import Run, RunStatus, StepStatus
from .client import ClusterConfigError

if TYPE_CHECKING:
    from ..backends.base import OnUpdate
    from ..store import RunStore
    from ..store.liveness import WatchLock

log = logging.getLogger(__name__)


@dataclass
class StepState:
    status: StepStatus
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    attempt: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    pod: str | None = None


@dataclass
class ClusterState:
    status: RunStatus
    steps: dict[str, StepState] = field(default_factory=dict)
    error: str | None = None


class ClusterDriver(Protocol):
    def submit(self) -> tuple[str, str | None]:
        """Prepare and submit; return (external id, external url)."""

    def poll(self) -> ClusterState: ...

    def cancel(self) -> None: ...

    def pod_log(self, pod: str) -> str: ...

    def cleanup(self) -> None: ...

    def describe(self) -> str:
        """The cluster object, for messages (e.g. ``Workflow team/demo-x7k2p``)."""


class _Detach(Exception):
    """This process cannot watch the run (no access); it goes on on the cluster, unwatched."""


class ClusterRunHandle:
    """RunHandle for KFP and Argo runs (see ``backends/base.py`` for the contract).

    While it watches, it holds the run's watch lock (one watcher per run across processes). Once
    the run is submitted, the store records it as a cluster lease: if this process dies, the run
    stays active and the next process that opens the store re-attaches a watcher
    (``attached=True``: no submission, resume from the driver's external id).
    """

    def __init__(
        self,
        store: RunStore,
        run: Run,
        driver: ClusterDriver,
        on_update: OnUpdate | None = None,
        *,
        poll_interval: float = 2.0,
        max_poll_errors: int = 5,
        attached: bool = False,
        lock: WatchLock | None = None,
    ) -> None:
        from ..store.liveness import WatchLock

        self.store = store
        self.run_id = run.id
        self.driver = driver
        self.on_update = on_update
        self.poll_interval = poll_interval
        self.max_poll_errors = max_poll_errors
        self.attached = attached
        self.lock = lock or WatchLock(store.run_path(run.id))
        self.detached_reason: str | None = None
        self.first_pass = threading.Event()  # set once the cluster's state is in the store
        self._cancel = threading.Event()
        self._detach = threading.Event()
        self._done = threading.Event()
        self._logged: set[str] = set()
        if attached:  # logs copied by an earlier watcher stay as they are
            self._logged = {
                s.name
                for s in run.steps
                if s.status.finished and store.step_log_path(run.id, s.name).is_file()
            }
        self._thread = threading.Thread(target=self._main, name=f"kf-cluster-{run.id}", daemon=True)

    def start(self) -> ClusterRunHandle:
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> Run:
        self._done.wait(timeout)
        return self.store.get_run(self.run_id)

    def cancel(self) -> None:
        self._cancel.set()

    def detach(self, timeout: float | None = 10.0) -> None:
        """Stop watching without stopping the run: it goes on on the cluster, the lock is
        released, and the next process (or store read) that checks the run re-attaches."""
        self._detach.set()
        self._done.wait(timeout)

    # No ``done`` attribute on purpose: PipelineService.close() (server shutdown) cancels handles
    # that have one; a cluster run must go on, and is re-attached after the restart.

    # -- the thread ---------------------------------------------------------------------------
    def _report(self) -> None:
        if self.on_update:
            try:
                self.on_update(self.store.get_run(self.run_id))
            except Exception:  # the contract: on_update's exceptions are ignored
                log.debug("on_update failed", exc_info=True)

    def _cancel_wanted(self) -> bool:
        return self._cancel.is_set() or self.store.cancel_requested(self.run_id)

    def _sleep(self, seconds: float) -> None:
        self._detach.wait(seconds)

    def _main(self) -> None:
        outcome: tuple[RunStatus, str | None] | None = None
        if not self.lock.acquire():  # never for a new run; an attached handle gets the lock held
            log.warning("run %s is already watched by another process", self.run_id)
            self.first_pass.set()
            self._done.set()
            return
        try:
            outcome = self._run()
        except _Detach as exc:
            self.detached_reason = str(exc)
            if self._cancel_wanted():
                outcome = (
                    RunStatus.cancelled,
                    f"cancelled; {self.driver.describe()} could not be stopped from here: {exc}",
                )
            else:
                log.warning("run %s: not watched from this process: %s", self.run_id, exc)
        except Exception as exc:
            log.debug("cluster run failed", exc_info=True)
            outcome = (RunStatus.failed, _one_line(exc))
        try:
            if outcome is not None:  # the run is over: clean up first, so a finished run owes nothing
                try:
                    self.driver.cleanup()
                except Exception as exc:
                    log.warning("cleanup after run %s failed: %s", self.run_id, exc)
                self._finish(*outcome)
        finally:
            self.lock.release()
            self.first_pass.set()
            self._done.set()

    def _run(self) -> tuple[RunStatus, str | None] | None:
        """Submit (unless attached) and watch; the final (status, error), or None when detached."""
        if not self.attached:
            if self._cancel_wanted():
                return RunStatus.cancelled, "cancelled before submission"
            self.store.update_run(self.run_id, status=RunStatus.running)
            self._report()
            external_id, url = self.driver.submit()
            self.store.update_run(self.run_id, external_id=external_id, external_url=url)
            self._lease()
            self._report()
        cancel_sent = False
        errors = 0
        while not self._detach.is_set():
            try:
                if not cancel_sent and self._cancel_wanted():
                    self.driver.cancel()
                    cancel_sent = True
                state = self.driver.poll()
            except Exception as exc:  # a blip must not fail a run that goes on in the cluster
                status = getattr(exc, "status", None)
                if status == 404:
                    end = (
                        RunStatus.cancelled if cancel_sent or self._cancel_wanted() else RunStatus.interrupted
                    )
                    return end, (
                        f"{end.value}: {self.driver.describe()} no longer exists on the cluster "
                        "(404 Not Found); its outcome is unknown"
                    )
                if self.attached and (status in (401, 403) or isinstance(exc, ClusterConfigError)):
                    raise _Detach(_one_line(exc)) from None
                errors += 1
                if errors > self.max_poll_errors or status in (401, 403):
                    raise
                log.warning(
                    "run %s: polling failed (%d/%d): %s", self.run_id, errors, self.max_poll_errors, exc
                )
                self._sleep(min(30.0, self.poll_interval * 2**errors))
                continue
            errors = 0
            self._apply(state)
            if not state.status.finished:  # a finished run's first pass ends with its final status
                self.first_pass.set()
            if state.status.finished:
                status = (
                    RunStatus.cancelled
                    if cancel_sent and state.status != RunStatus.succeeded
                    else state.status
                )
                return status, None if status == RunStatus.succeeded else state.error
            self._sleep(self.poll_interval)
        self.detached_reason = "detached"
        return None

    def _lease(self) -> None:
        """From now on the run lives on the cluster: if this process dies, it is re-attached."""
        from ..store.liveness import record_cluster_lease

        try:
            record_cluster_lease(
                self.store.path / "runs.sqlite", self.run_id, self.store.run_path(self.run_id)
            )
        except Exception as exc:  # watching goes on; only a later re-attach is lost
            log.warning("run %s: could not record it as a cluster run in the store: %s", self.run_id, exc)

    def _apply(self, state: ClusterState) -> None:
        changed = False
        run = self.store.get_run(self.run_id)
        for step in run.steps:
            new = state.steps.get(step.name)
            if new is None:
                continue
            fields: dict[str, Any] = {}
            if new.status != step.status:
                fields["status"] = new.status
                if new.started_at:
                    fields["started_at"] = new.started_at
                if new.finished_at:
                    fields["finished_at"] = new.finished_at
            if new.error and new.error != step.error:
                fields["error"] = new.error
            if new.attempt != step.attempt:
                fields["attempt"] = new.attempt
            if new.metrics and new.metrics != step.metrics:
                fields["metrics"] = new.metrics
            if new.status.finished and new.pod and step.name not in self._logged:
                log_text, notebook = self._save_log(step.name, new.pod)
                fields["log"] = self._rel(self.store.step_log_path(self.run_id, step.name))
                if notebook is not None:
                    path = self.store.step_notebook_path(self.run_id, step.name)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(notebook)
                    fields["notebook"] = self._rel(path)
                if not new.metrics and new.status == StepStatus.succeeded:
                    from jupyter_kf_converter.targets.steprun import metrics_from_log

                    if metrics := metrics_from_log(log_text):
                        fields["metrics"] = metrics
            if fields:
                self.store.update_step(self.run_id, step.name, **fields)
                changed = True
        if changed:
            self._report()

    def _save_log(self, step: str, pod: str) -> tuple[str, bytes | None]:
        """Copy the pod's log into the store (the step's log file), less the executed notebook
        the step printed into it; return the log and that notebook."""
        from jupyter_kf_converter.targets.steprun import split_notebook

        from .._fsutil import atomic_write_text

        self._logged.add(step)
        try:
            text, notebook = split_notebook(self.driver.pod_log(pod))
        except Exception as exc:
            text, notebook = f"(jupyter-kf: could not read the log of pod {pod}: {exc})\n", None
        atomic_write_text(self.store.step_log_path(self.run_id, step), text)
        return text, notebook

    def _rel(self, path: Any) -> str:
        return path.relative_to(self.store.path).as_posix()

    def _finish(self, status: RunStatus, error: str | None) -> None:
        run = self.store.get_run(self.run_id)
        for step in run.steps:
            if not step.status.finished:
                stopped = status in (RunStatus.cancelled, RunStatus.interrupted)
                if step.status == StepStatus.running and stopped:
                    self.store.update_step(self.run_id, step.name, status=StepStatus.cancelled, error=error)
                else:
                    fields: dict[str, Any] = {"status": StepStatus.skipped}
                    if status == RunStatus.interrupted:
                        fields["error"] = error
                    self.store.update_step(self.run_id, step.name, **fields)
        self.store.update_run(self.run_id, status=status, error=error)
        self._report()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:500]
