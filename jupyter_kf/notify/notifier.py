"""Notifier: sends each finished run (and each due time that could not start) to every hook.

Plug it into a PipelineService with ``service.add_listener(notifier.on_update)``. Sends happen in
background threads with retries; failures are logged (without credentials) and swallowed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from ..models import Notification, Run, Schedule
from .hooks import HookError, post_webhook, send_email
from .message import for_run, for_schedule_failure
from .settings import NotifySettings

log = logging.getLogger("jupyter_kf.notify")


class Notifier:
    def __init__(self, settings: NotifySettings | None = None, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings or NotifySettings.from_env()
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jupyter-kf-notify")
        self._lock = threading.Lock()
        self._sent: set[str] = set()
        self._futures: list[Future] = []
        self.listeners: list[Callable[[Notification], None]] = []  # e.g. the server's event feed

    # -- sources ------------------------------------------------------------------------------
    def on_update(self, run: Run) -> None:
        """A run listener: notifies once when a run reaches a finished status."""
        if not run.status.finished:
            return
        with self._lock:
            if run.id in self._sent:
                return
            self._sent.add(run.id)
        if run.status.value in self.settings.events:
            self.dispatch(for_run(run))

    def schedule_failed(self, schedule: Schedule, due: datetime, error: str) -> None:
        if "schedule" in self.settings.events:
            self.dispatch(for_schedule_failure(schedule, due, error))

    # -- sending ------------------------------------------------------------------------------
    def dispatch(self, n: Notification) -> None:
        for fn in self.listeners:
            try:
                fn(n)
            except Exception:  # noqa: BLE001
                log.exception("notification listener failed")
        s = self.settings
        hooks: list[tuple[str, Callable[[], None]]] = []
        if s.webhook:
            url = s.webhook.get_secret_value()
            hooks.append(("webhook", lambda: post_webhook(url, n, s.webhook_timeout)))
        if s.email_enabled:
            hooks.append(("email", lambda: send_email(s, n)))
        for name, send in hooks:
            fut = self._pool.submit(self._with_retries, name, send, n)
            with self._lock:
                self._futures = [f for f in self._futures if not f.done()] + [fut]

    def _with_retries(self, name: str, send: Callable[[], None], n: Notification) -> bool:
        delay = self.settings.retry_delay
        for attempt in range(self.settings.retries + 1):
            try:
                send()
                log.info("jupyter-kf: %s notification sent (%s)", name, n.event)
                return True
            except HookError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001  (a hook never fails a run)
                error = f"{type(exc).__name__}"
            last = attempt == self.settings.retries
            log.warning("jupyter-kf: %s notification for %s failed (attempt %d/%d): %s%s", name,
                        n.run or n.schedule, attempt + 1, self.settings.retries + 1, error,
                        "; giving up" if last else f"; retrying in {delay:g} s")
            if not last:
                self._sleep(delay)
                delay *= 2
        return False

    def flush(self, timeout: float | None = None) -> None:
        """Wait for the notifications in flight (tests, and the CLI before it exits)."""
        with self._lock:
            futures = list(self._futures)
        deadline = None if timeout is None else time.monotonic() + timeout
        for f in futures:
            f.exception(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self._pool.shutdown(wait=False)
