"""The run handle shared by the cluster backends: prepare, submit, poll, mirror into the run store.

A backend supplies a :class:`ClusterDriver` (submit / poll / cancel / step log / cleanup); this
module runs it in a thread, writes every step change to the store, reports ``on_update``, honours
cancellation requested through the store, and always ends the run in a finished status.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..models import Run, RunStatus, StepStatus

if TYPE_CHECKING:
    from ..backends.base import OnUpdate
    from ..store import RunStore

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


class ClusterRunHandle:
    """RunHandle for KFP and Argo runs (see ``backends/base.py`` for the contract)."""

    def __init__(
        self,
        store: RunStore,
        run: Run,
        driver: ClusterDriver,
        on_update: OnUpdate | None = None,
        *,
        poll_interval: float = 2.0,
        max_poll_errors: int = 5,
    ) -> None:
        self.store = store
        self.run_id = run.id
        self.driver = driver
        self.on_update = on_update
        self.poll_interval = poll_interval
        self.max_poll_errors = max_poll_errors
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._logged: set[str] = set()
        self._thread = threading.Thread(target=self._main, name=f"kf-cluster-{run.id}", daemon=True)

    def start(self) -> ClusterRunHandle:
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> Run:
        self._done.wait(timeout)
        return self.store.get_run(self.run_id)

    def cancel(self) -> None:
        self._cancel.set()

    # -- the thread ---------------------------------------------------------------------------
    def _report(self) -> None:
        if self.on_update:
            try:
                self.on_update(self.store.get_run(self.run_id))
            except Exception:  # the contract: on_update's exceptions are ignored
                log.debug("on_update failed", exc_info=True)

    def _cancel_wanted(self) -> bool:
        return self._cancel.is_set() or self.store.cancel_requested(self.run_id)

    def _main(self) -> None:
        try:
            self._run()
        except Exception as exc:
            log.debug("cluster run failed", exc_info=True)
            self._finish(RunStatus.failed, _one_line(exc))
        finally:
            try:
                self.driver.cleanup()
            except Exception as exc:
                log.warning("cleanup after run %s failed: %s", self.run_id, exc)
            self._done.set()

    def _run(self) -> None:
        if self._cancel_wanted():
            self._finish(RunStatus.cancelled, "cancelled before submission")
            return
        self.store.update_run(self.run_id, status=RunStatus.running)
        self._report()
        external_id, url = self.driver.submit()
        self.store.update_run(self.run_id, external_id=external_id, external_url=url)
        self._report()
        cancel_sent = False
        errors = 0
        while True:
            if not cancel_sent and self._cancel_wanted():
                self.driver.cancel()
                cancel_sent = True
            try:
                state = self.driver.poll()
            except Exception as exc:  # a blip must not fail a run that goes on in the cluster
                errors += 1
                if errors > self.max_poll_errors or getattr(exc, "status", None) in (401, 403, 404):
                    raise
                log.warning(
                    "run %s: polling failed (%d/%d): %s", self.run_id, errors, self.max_poll_errors, exc
                )
                self._done.wait(min(30.0, self.poll_interval * 2**errors))
                continue
            errors = 0
            self._apply(state)
            if state.status.finished:
                status = (
                    RunStatus.cancelled
                    if cancel_sent and state.status != RunStatus.succeeded
                    else state.status
                )
                self._finish(status, None if status == RunStatus.succeeded else state.error)
                return
            self._done.wait(self.poll_interval)

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
                log_text = self._save_log(step.name, new.pod)
                fields["log"] = self._rel(self.store.step_log_path(self.run_id, step.name))
                if not new.metrics and new.status == StepStatus.succeeded:
                    from jupyter_kf_converter.targets.steprun import metrics_from_log

                    if metrics := metrics_from_log(log_text):
                        fields["metrics"] = metrics
            if fields:
                self.store.update_step(self.run_id, step.name, **fields)
                changed = True
        if changed:
            self._report()

    def _save_log(self, step: str, pod: str) -> str:
        """Copy the pod's log into the store (the step's log file); return it."""
        self._logged.add(step)
        try:
            text = self.driver.pod_log(pod)
        except Exception as exc:
            text = f"(jupyter-kf: could not read the log of pod {pod}: {exc})\n"
        path = self.store.step_log_path(self.run_id, step)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return text

    def _rel(self, path: Any) -> str:
        return path.relative_to(self.store.path).as_posix()

    def _finish(self, status: RunStatus, error: str | None) -> None:
        run = self.store.get_run(self.run_id)
        for step in run.steps:
            if not step.status.finished:
                end = StepStatus.cancelled if status == RunStatus.cancelled else StepStatus.skipped
                if step.status == StepStatus.pending:
                    end = StepStatus.skipped
                self.store.update_step(self.run_id, step.name, status=end)
        self.store.update_run(self.run_id, status=status, error=error)
        self._report()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:500]
