"""Notification settings from ``JUPYTER_KF_NOTIFY_*`` variables or Jupyter config (``c.KfConfig.notify``).

==================================  =========================================================
``JUPYTER_KF_NOTIFY_WEBHOOK``       Webhook URL (Slack / Teams incoming webhook, or any JSON
                                    receiver). Treated as a secret: logs show its host only.
``JUPYTER_KF_NOTIFY_SMTP_HOST``     SMTP server; with ``..._MAIL_TO`` enables email.
``JUPYTER_KF_NOTIFY_SMTP_PORT``     Port (default 25; 465 with ``..._SMTP_SSL``, 587 for STARTTLS).
``JUPYTER_KF_NOTIFY_SMTP_USER``     Login (optional) and ``..._SMTP_PASSWORD``.
``JUPYTER_KF_NOTIFY_SMTP_STARTTLS`` ``1`` to upgrade with STARTTLS; ``..._SMTP_SSL`` for implicit TLS.
``JUPYTER_KF_NOTIFY_MAIL_FROM``     Sender (default ``jupyter-kf@<host>``).
``JUPYTER_KF_NOTIFY_MAIL_TO``       Recipients, comma-separated.
``JUPYTER_KF_NOTIFY_ON``            Events, comma-separated: succeeded, failed, cancelled,
                                    interrupted, schedule (a due time that could not start);
                                    default all of them.
``JUPYTER_KF_NOTIFY_RETRIES``       Attempts per hook after the first (default 3), with
                                    ``..._RETRY_DELAY`` seconds (default 2) doubling between them.
==================================  =========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

PREFIX = "JUPYTER_KF_NOTIFY_"
ALL_EVENTS = ("succeeded", "failed", "cancelled", "interrupted", "schedule")


class NotifySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook: SecretStr | None = None
    webhook_timeout: float = Field(default=10.0, gt=0)
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = Field(default=30.0, gt=0)
    mail_from: str | None = None
    mail_to: str | None = None
    on: str = ",".join(ALL_EVENTS)
    retries: int = Field(default=3, ge=0, le=20)
    retry_delay: float = Field(default=2.0, ge=0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> NotifySettings:
        """Settings from the environment; ``overrides`` (e.g. Jupyter config) win over it.

        Raises ``ValueError`` naming the variable (never its value) when one is invalid.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(PREFIX + name.upper())
            if raw is not None and raw.strip():
                values[name] = raw.strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        from pydantic import ValidationError

        try:
            return cls(**values)
        except ValidationError as e:
            where = ", ".join(f"{PREFIX}{str(err['loc'][0]).upper()}: {err['msg']}" for err in e.errors())
            raise ValueError(f"invalid notification setting ({where})") from None

    @property
    def events(self) -> set[str]:
        return {e.strip() for e in self.on.split(",") if e.strip()}

    @property
    def recipients(self) -> list[str]:
        return [a.strip() for a in (self.mail_to or "").split(",") if a.strip()]

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.recipients)

    @property
    def enabled(self) -> bool:
        return bool(self.webhook) or self.email_enabled
