"""Notifications when a run finishes or fails, or a schedule cannot start its run.

Hooks: a webhook (JSON POST; Slack and Teams incoming webhooks read its ``text``) and email over
SMTP. Their settings, credentials included, come from the environment or Jupyter config
(:mod:`.settings`) and are never written to a log, a run record or a spec: logs name a webhook by
its host only. Hooks run in background threads; a failing hook is logged and retried, and never
fails or delays the run.
"""

from .message import for_run, for_schedule_failure
from .notifier import Notifier
from .settings import NotifySettings

__all__ = ["NotifySettings", "Notifier", "for_run", "for_schedule_failure"]
