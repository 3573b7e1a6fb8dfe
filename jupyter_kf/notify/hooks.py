"""The hooks: a JSON webhook POST and an email over SMTP (standard library clients)."""

from __future__ import annotations

import json
import smtplib
import socket
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import urlsplit

from ..models import Notification
from .settings import NotifySettings


class HookError(Exception):
    """A hook failed; the message never contains a credential."""


def redact_url(url: str) -> str:
    """scheme://host[:port] only: a webhook's path and query are its secret (Slack, Teams)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}/…"


def webhook_payload(n: Notification) -> dict:
    """Slack and Teams incoming webhooks show ``text``; other receivers get every field too."""
    return {"text": n.text, "jupyter_kf": n.model_dump(mode="json")}


def post_webhook(url: str, n: Notification, timeout: float) -> None:
    body = json.dumps(webhook_payload(n)).encode()
    req = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "jupyter-kf"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (a configured URL)
            resp.read()
    except urllib.error.HTTPError as exc:
        raise HookError(f"webhook {redact_url(url)} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise HookError(f"webhook {redact_url(url)} failed: {type(exc).__name__}: {reason}") from None


def email_message(n: Notification, sender: str, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    what = f"run {n.run}" if n.run else f"schedule {n.schedule}"
    msg["Subject"] = f"[jupyter-kf] {what} {n.status}: {n.notebook}"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    lines = [n.text, "", f"status: {n.status}", f"notebook: {n.notebook}"]
    if n.duration is not None:
        lines.append(f"duration: {n.duration:.1f} s")
    if n.scheduled_for is not None:
        lines.append(f"scheduled for: {n.scheduled_for.isoformat()}")
    lines += [f"metric {k}: {v}" for k, v in n.metrics.items()]
    if n.error:
        lines += ["", f"error: {n.error}"]
    lines += ["", json.dumps(n.model_dump(mode="json"), indent=1)]
    msg.set_content("\n".join(lines))
    return msg


def send_email(s: NotifySettings, n: Notification) -> None:
    sender = s.mail_from or f"jupyter-kf@{socket.gethostname()}"
    port = s.smtp_port or (465 if s.smtp_ssl else 25)
    where = f"SMTP {s.smtp_host}:{port}"
    try:
        cls = smtplib.SMTP_SSL if s.smtp_ssl else smtplib.SMTP
        with cls(s.smtp_host, port, timeout=s.smtp_timeout) as smtp:
            if s.smtp_starttls and not s.smtp_ssl:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value() if s.smtp_password else "")
            smtp.send_message(email_message(n, sender, s.recipients))
    except smtplib.SMTPAuthenticationError as exc:
        raise HookError(f"{where}: login refused ({exc.smtp_code})") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise HookError(f"{where}: {type(exc).__name__}") from None
