"""Malformed bodies, unknown fields, wrong types, bad queries, unknown runs: 4xx JSON, never 500."""

from __future__ import annotations

import pytest

POSTS = ["compile", "runs", "snapshots", "runs/20260101-000000-abcd/retry"]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "JSON object"),
        ('"text"', "JSON object"),
        (b"\xff\xfe{", "invalid JSON"),
    ],
)
async def test_malformed_json_is_400(api, path, raw, needle):
    status, body = await api("POST", path, raw=raw)
    assert status == 400, body
    assert needle in body["message"]


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("compile", {"notebook": "pipe.ipynb", "colour": "red"}, "colour"),
        ("compile", {"notebook": 3}, "notebook"),
        ("compile", {}, "notebook"),
        ("compile", {"content": "not a notebook"}, "content"),
        ("runs", {"notebook": "pipe.ipynb", "backend": "local", "extra": 1}, "extra"),
        ("runs", {"notebook": "pipe.ipynb", "parameters": [1, 2]}, "parameters"),
        ("runs", {"notebook": "pipe.ipynb", "cache": "sometimes"}, "cache"),
        ("runs", {"notebook": "pipe.ipynb", "max_parallel": 0}, "max_parallel"),
        ("runs", {"notebook": "pipe.ipynb", "timeout": -1}, "timeout"),
        ("runs", {"backend": "local"}, "notebook"),
        ("snapshots", {"notebook": None}, "notebook"),
        ("snapshots", {"notebook": "pipe.ipynb", "x": 1}, "x"),
    ],
)
async def test_wrong_fields_are_400_naming_the_field(api, pipe_nb, path, payload, field):
    status, body = await api("POST", path, payload)
    assert status == 400, body
    assert body["field"] == field
    assert field in body["message"]


async def test_an_empty_post_body_is_400(api):
    status, body = await api("POST", "runs", raw="")
    assert status == 400
    assert "body" in body["message"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "many"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"wait": "nan"}, "wait"),
        ({"wait": "-1"}, "wait"),
        ({"wait": "31"}, "wait"),
        ({"since": "garbage"}, "since"),
    ],
)
async def test_bad_queries_are_400(api, params, field):
    status, body = await api("GET", "runs", params=params)
    assert status == 400, body
    assert body["field"] == field


async def test_snapshots_list_needs_a_notebook(api):
    status, body = await api("GET", "snapshots")
    assert status == 400
    assert body["field"] == "notebook"


async def test_unknown_routes_are_404(api):
    status, _ = await api("GET", "nothing-here")
    assert status == 404


async def test_reads_create_no_folders(api, pipe_nb, root):
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    for params in ({"notebook": "deep/er/x.ipynb"}, {"notebook": pipe_nb}):
        status, body = await api("GET", "runs", params=params)
        assert status == 200 and body["runs"] == []
    status, body = await api("GET", "snapshots", params={"notebook": pipe_nb})
    assert status == 200 and body["snapshots"] == []
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


async def test_odd_run_and_step_names_are_404(api, pipe_nb, wait_run):
    status, run = await api("POST", "runs", {"notebook": pipe_nb})
    await wait_run(run["id"])
    for bad in ("..", ".", "%00", "a%00b", "..%2F..%2Fetc", "%2e%2e", "x" * 300):
        for path in (f"runs/{bad}", f"runs/{bad}/steps/make/log", f"runs/{run['id']}/steps/{bad}/log",
                     f"runs/{run['id']}/steps/{bad}/notebook", f"runs/{bad}/events"):
            status, body = await api("GET", path)
            assert status in (400, 404), (path, status, body)
            assert body["message"]
