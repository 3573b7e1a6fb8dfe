"""Schedules over REST, and the server extension starting the runs of due schedules while it is up."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest


@pytest.fixture
def jp_server_config():
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_kf": True}},
        "KfConfig": {"poll_interval": 0.1, "schedule_interval": 0.2},
    }


async def test_create_list_edit_pause_resume_delete(api, pipe_nb):
    status, s = await api("POST", "schedules", {"notebook": pipe_nb, "cron": "0 6 * * 1-5",
                                                 "timezone": "America/New_York", "parameters": {"n": 4}})
    assert status == 201, s
    assert (s["notebook"], s["cron"], s["timezone"], s["parameters"]) == (pipe_nb, "0 6 * * 1-5", "America/New_York", {"n": 4})
    nxt = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in s["next_due"]]
    assert len(nxt) == 3 and all(t.hour in (10, 11) and t.weekday() < 5 for t in nxt)  # 06:00 in New York
    status, listed = await api("GET", "schedules", params={"notebook": pipe_nb})
    assert status == 200 and [x["id"] for x in listed["schedules"]] == [s["id"]]
    status, edited = await api("PATCH", f"schedules/{s['id']}", {"interval": 3600, "overlap": "queue"})
    assert status == 200 and (edited["cron"], edited["interval"], edited["overlap"]) == (None, 3600, "queue")
    status, paused = await api("POST", f"schedules/{s['id']}/pause")
    assert status == 200 and paused["paused"] and paused["next_due"] == []
    status, resumed = await api("POST", f"schedules/{s['id']}/resume")
    assert status == 200 and not resumed["paused"] and resumed["next_due"]
    status, _ = await api("DELETE", f"schedules/{s['id']}")
    assert status == 204
    status, body = await api("GET", f"schedules/{s['id']}")
    assert status == 404 and s["id"] in body["message"]


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"cron": "0 0 31 2 *x"}, 400, "cron", "cron"),
        ({"cron": "0 3 * * *", "timezone": "Nowhere/Land"}, 400, "timezone", "unknown time zone"),
        ({}, 400, "cron", "exactly one"),
        ({"cron": "0 3 * * *", "interval": 600}, 400, "cron", "exactly one"),
        ({"interval": 10}, 400, "interval", "greater than or equal to 60"),
        ({"cron": "0 3 * * *", "parameters": {"nope": 1}}, 422, "parameters", "nope"),
        ({"cron": "0 3 * * *", "overlap": "sometimes"}, 400, "overlap", ""),
        ({"cron": "0 3 * * *", "notebook": "../x.ipynb"}, 400, "notebook", ""),
        ({"cron": "0 3 * * *", "notebook": "missing.ipynb"}, 404, "notebook", "missing.ipynb"),
    ],
)
async def test_bad_schedules_get_a_4xx_naming_the_field(api, pipe_nb, body, status, field, words):
    got, answer = await api("POST", "schedules", {"notebook": pipe_nb, **body})
    assert got == status, answer
    assert answer["field"] == field and words in answer["message"]
    assert (await api("GET", "schedules"))[1]["schedules"] == []


async def test_unknown_and_path_like_schedule_ids_are_404(api):
    for sid in ("sch-00000000", "..%2F..%2Fetc"):
        status, body = await api("GET", f"schedules/{sid}")
        assert status == 404, body
    status, body = await api("PATCH", "schedules/sch-00000000", {"paused": True})
    assert status == 404


async def test_the_server_runs_a_due_schedule_and_the_run_records_it(api, pipe_nb, jp_serverapp, wait_run):
    status, s = await api("POST", "schedules", {"notebook": pipe_nb, "interval": 3600, "parameters": {"n": 5}})
    assert status == 201
    due = datetime.fromisoformat(s["next_due"][0].replace("Z", "+00:00"))
    scheduler = jp_serverapp.web_app.settings["jupyter_kf"].scheduler
    scheduler.clock = lambda: due + timedelta(seconds=2)  # an hour passes; the server's thread notices
    deadline = time.monotonic() + 60
    while True:
        _, shown = await api("GET", f"schedules/{s['id']}")
        if shown["last"] and shown["last"]["run"]:
            break
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.2)
    run = await wait_run(shown["last"]["run"])
    assert run["status"] == "succeeded" and run["metrics"] == {"total": 10}
    assert (run["schedule"], run["scheduled_for"].replace("Z", "+00:00")) == (s["id"], due.isoformat())
    await asyncio.sleep(0.6)  # a few more passes at the same time: still one run
    _, runs = await api("GET", "runs", params={"notebook": pipe_nb})
    assert [r["id"] for r in runs["runs"] if r["schedule"] == s["id"]] == [run["id"]]
    _, shown = await api("GET", f"schedules/{s['id']}")
    assert shown["last"]["run_status"] == "succeeded"
