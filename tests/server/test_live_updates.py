"""Live updates: long polling with `GET runs?since=&wait=` and server-sent events."""

from __future__ import annotations

import asyncio
import json
import time

import pytest


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln and not ln.startswith(":")]
        if not lines:
            continue
        fields = dict(ln.split(": ", 1) for ln in lines)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_long_poll_returns_changed_runs_only(api, pipe_nb, wait_run):
    status, first = await api("GET", "runs")
    assert status == 200 and first["runs"] == []
    cursor = first["cursor"]

    # nothing changes: the poll holds for `wait` seconds, then answers an empty list
    t0 = time.monotonic()
    status, idle = await api("GET", "runs", params={"since": cursor, "wait": 0.5})
    assert status == 200 and idle["runs"] == [] and time.monotonic() - t0 >= 0.45

    # a run starts while a poll waits: the poll answers early with it
    poll = asyncio.ensure_future(api("GET", "runs", params={"since": cursor, "wait": 20}))
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    status, run = await api("POST", "runs", {"notebook": pipe_nb})
    assert status == 202
    status, changed = await poll
    assert status == 200 and time.monotonic() - t0 < 10
    assert [r["id"] for r in changed["runs"]] == [run["id"]]

    final = await wait_run(run["id"])
    status, after = await api("GET", "runs", params={"since": changed["cursor"]})
    assert status == 200 and [r["status"] for r in after["runs"]] == [final["status"]]
    status, again = await api("GET", "runs", params={"since": after["cursor"]})
    assert again["runs"] == []  # no change since


async def test_a_cursor_from_another_server_lists_everything(api, pipe_nb, wait_run):
    status, run = await api("POST", "runs", {"notebook": pipe_nb})
    await wait_run(run["id"])
    status, body = await api("GET", "runs", params={"since": "0000.99"})
    assert status == 200 and [r["id"] for r in body["runs"]] == [run["id"]]


async def test_server_sent_events_follow_a_run_to_its_end(api, pipe_nb):
    status, run = await api("POST", "runs", {"notebook": pipe_nb})
    assert status == 202
    status, text = await api("GET", f"runs/{run['id']}/events", timeout=120)
    assert status == 200
    events = parse_sse(text)
    assert len(events) >= 2 and {e for e, _ in events} == {"run"}
    assert events[-1][1]["status"] == "succeeded"
    assert all(r["id"] == run["id"] for _, r in events)
    seen = {(s["name"], s["status"]) for _, r in events for s in r["steps"]}
    assert ("make", "succeeded") in seen and ("add", "succeeded") in seen


async def test_events_of_a_finished_run_end_at_once(api, pipe_nb, wait_run):
    status, run = await api("POST", "runs", {"notebook": pipe_nb})
    await wait_run(run["id"])
    t0 = time.monotonic()
    status, text = await api("GET", f"runs/{run['id']}/events")
    assert status == 200 and time.monotonic() - t0 < 5
    assert [r["status"] for _, r in parse_sse(text)] == ["succeeded"]


async def test_an_abandoned_long_poll_stops_polling(api, jp_serverapp):
    state = jp_serverapp.web_app.settings["jupyter_kf"]
    real, calls = state.service.list_runs, []

    def counting(*args, **kwargs):
        calls.append(time.monotonic())
        return real(*args, **kwargs)

    state.service.list_runs = counting
    try:
        _, first = await api("GET", "runs")
        # the client gives up after 0.5 s on a poll the server would hold for 30 s
        from tornado.simple_httpclient import HTTPTimeoutError

        with pytest.raises(HTTPTimeoutError):
            await api("GET", "runs", params={"since": first["cursor"], "wait": 30}, timeout=0.5)
        await asyncio.sleep(1.0)
        seen = len(calls)
        await asyncio.sleep(1.5)
        assert len(calls) == seen, "the server kept polling the store for a client that left"
    finally:
        state.service.list_runs = real
