"""Notifications received by real servers on 127.0.0.1: a webhook (HTTP) and an email (aiosmtpd)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from jupyter_kf.models import RunRequest, RunStatus, ScheduleRequest
from jupyter_kf.notify import Notifier, NotifySettings

from .conftest import T0

WEBHOOK_SECRET = "T0SECRET/B0SECRET/xoxwebhooksecret123"
SMTP_USER, SMTP_PASSWORD = "kf-bot", "hunter2-smtp-secret"


class Webhook:
    """A local HTTP server that records JSON posts; the first ``fail`` posts get a 500."""

    def __init__(self, fail: int = 0) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.fail = fail
        self.got = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.fail > 0:
                    hook.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                hook.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")
                hook.got.set()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/{WEBHOOK_SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            ok = auth_data.login.decode() == SMTP_USER and auth_data.password.decode() == SMTP_PASSWORD
            return AuthResult(success=ok)
        return AuthResult(success=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), _free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, authenticator=box.authenticate,
                     auth_require_tls=False)
    ctl.start()
    yield box, port
    ctl.stop()


def _notifier(monkeypatch, webhook_url: str | None, smtp_port: int | None, **extra) -> Notifier:
    if webhook_url:
        monkeypatch.setenv("JUPYTER_KF_NOTIFY_WEBHOOK", webhook_url)
    if smtp_port:
        monkeypatch.setenv("JUPYTER_KF_NOTIFY_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("JUPYTER_KF_NOTIFY_SMTP_PORT", str(smtp_port))
        monkeypatch.setenv("JUPYTER_KF_NOTIFY_SMTP_USER", SMTP_USER)
        monkeypatch.setenv("JUPYTER_KF_NOTIFY_SMTP_PASSWORD", SMTP_PASSWORD)
        monkeypatch.setenv("JUPYTER_KF_NOTIFY_MAIL_TO", "ops@example.org, ml@example.org")
    return Notifier(NotifySettings.from_env(**extra), sleep=lambda s: None)


def _files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file())


def test_a_scheduled_run_is_posted_and_mailed_without_leaking_credentials(
    make_scheduler, notebook, nb_dir, clock, webhook, mailbox, monkeypatch, caplog
):
    box, port = mailbox
    notifier = _notifier(monkeypatch, webhook.url, port)
    sched = make_scheduler(notifier=notifier)
    sched.pipelines.add_listener(notifier.on_update)
    s = sched.schedules.create(ScheduleRequest(notebook=str(notebook), cron="0 * * * *", parameters={"score": 1.5}))
    clock.set(T0 + timedelta(hours=1, seconds=3))
    caplog.set_level(logging.DEBUG)
    ((_, fire),) = sched.tick()
    run = sched.pipelines.wait(fire.run, 120)
    assert run.status == RunStatus.succeeded
    notifier.flush(30)

    ((path, post),) = webhook.posts
    assert path.endswith(WEBHOOK_SECRET)
    assert run.id in post["text"] and "succeeded" in post["text"]  # what Slack and Teams show
    detail = post["jupyter_kf"]
    assert (detail["event"], detail["status"], detail["run"], detail["schedule"]) == (
        "run.succeeded", "succeeded", run.id, s.id)
    assert detail["metrics"] == {"result": 3.0}
    assert detail["duration"] == pytest.approx(run.duration) and detail["duration"] > 0

    ((rcpt, mail),) = box.messages
    assert rcpt == ["ops@example.org", "ml@example.org"]
    assert box.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert run.id in mail["Subject"] and "succeeded" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert "status: succeeded" in body and "metric result: 3.0" in body and "duration:" in body

    leaks = _files_text(nb_dir / "kf-runs")
    for secret in (WEBHOOK_SECRET, "xoxwebhooksecret123", SMTP_PASSWORD):
        assert secret not in leaks
        assert secret not in caplog.text


def test_a_failing_webhook_is_retried_and_never_fails_the_run(
    make_scheduler, notebook, monkeypatch, caplog
):
    hook = Webhook(fail=2)
    try:
        notifier = _notifier(monkeypatch, hook.url, None, retries=3)
        sched = make_scheduler()
        sched.pipelines.add_listener(notifier.on_update)
        caplog.set_level(logging.INFO, logger="jupyter_kf.notify")
        run = sched.pipelines.run(RunRequest(notebook=str(notebook), parameters={"score": -1}))
        notifier.flush(30)
    finally:
        hook.close()
    assert run.status == RunStatus.failed  # an unscheduled run that fails is notified too
    ((_, post),) = hook.posts  # third attempt
    assert post["jupyter_kf"]["event"] == "run.failed" and post["jupyter_kf"]["error"]
    assert caplog.text.count("webhook notification for") == 2
    assert WEBHOOK_SECRET not in caplog.text and "127.0.0.1" in caplog.text


def test_an_unreachable_hook_is_logged_and_the_run_still_succeeds(make_scheduler, notebook, monkeypatch, caplog):
    url = f"http://127.0.0.1:{_free_port()}/hooks/{WEBHOOK_SECRET}"  # nothing listens there
    notifier = _notifier(monkeypatch, url, _free_port(), retries=1)
    sched = make_scheduler()
    sched.pipelines.add_listener(notifier.on_update)
    caplog.set_level(logging.INFO, logger="jupyter_kf.notify")
    run = sched.pipelines.run(RunRequest(notebook=str(notebook)))
    notifier.flush(60)
    assert run.status == RunStatus.succeeded
    assert "giving up" in caplog.text
    assert WEBHOOK_SECRET not in caplog.text and SMTP_PASSWORD not in caplog.text


def test_only_the_configured_events_are_sent(make_scheduler, notebook, webhook, monkeypatch):
    notifier = _notifier(monkeypatch, webhook.url, None, on="failed")
    sched = make_scheduler()
    sched.pipelines.add_listener(notifier.on_update)
    sched.pipelines.run(RunRequest(notebook=str(notebook)))
    notifier.flush(30)
    assert webhook.posts == []


def test_jupyter_kf_run_notifies_the_configured_webhook(notebook, nb_dir, webhook, settings):
    """An unscheduled run from the command line: hooks come from the environment."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "JUPYTER_KF_NOTIFY_WEBHOOK": webhook.url}
    kf = str(Path(sys.executable).with_name("jupyter-kf"))
    proc = subprocess.run([kf, "run", "train.ipynb", "-p", "score=-2"], cwd=nb_dir, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1  # the run failed (score < 0); the hook does not change that
    ((_, post),) = webhook.posts
    assert post["jupyter_kf"]["status"] == "failed" and "score must be >= 0" in post["jupyter_kf"]["error"]
    assert WEBHOOK_SECRET not in proc.stdout + proc.stderr
    assert WEBHOOK_SECRET not in _files_text(nb_dir / "kf-runs")
