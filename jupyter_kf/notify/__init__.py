"""Notifications when a run finishes or fails, or a schedule cannot start its run.

Hooks: a webhook (JSON POST; Slack and Teams incoming webhooks read its ``text``) and email over
SMTP. Their settings, credentials included, come from the environment or Jupyter config
(:mod:`.settings`) and are never written to a log, a run record or a spec: logs name a webhook by
its host only. Hooks run in background threads; a failing hook is logged and retried, and never
fails or delays the run.
"""

from __future__ import annotations

import logging
from typing import Any

from .message import for_run, for_schedule_failure
from .notifier import Notifier
from .settings import NotifySettings


def attach(service: Any) -> Notifier | None:
    """A Notifier listening to ``service``'s runs when a hook is configured in the environment
    (the CLI and the magics use this); None otherwise. A bad setting is logged, never raised."""
    try:
        settings = NotifySettings.from_env()
    except ValueError as exc:
        logging.getLogger("jupyter_kf.notify").warning("jupyter-kf: notifications off: %s", exc)
        return None
    if not settings.enabled:
        return None
    notifier = Notifier(settings)
    service.add_listener(notifier.on_update)
    return notifier


__all__ = ["NotifySettings", "Notifier", "attach", "for_run", "for_schedule_failure"]
