"""Sweeps over REST: start, watch, list, cancel; bad requests are 4xx naming the parameter."""

from __future__ import annotations

import asyncio
import time

import pytest

CELLS = [
    ("import time", ["imports"]),
    ("n = 1\nmodel = 'a'\nnap = 0.0", ["pipeline-parameters"]),
    ("base = 10", ["step:load"]),
    ("time.sleep(nap)\nscore = base + n * (2 if model == 'b' else 1)", ["step:train"]),
    ("score", ["pipeline-metrics"]),
]


async def wait_sweep(api, sweep_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, sweep = await api("GET", f"sweeps/{sweep_id}")
        assert status == 200, sweep
        if sweep["status"] not in ("queued", "running"):
            return sweep
        assert time.monotonic() < deadline, sweep
        await asyncio.sleep(0.2)


async def test_start_watch_and_list_a_sweep(api, write_nb):
    nb = write_nb(CELLS, "toy.ipynb")
    body = {
        "notebook": nb,
        "space": [{"name": "n", "low": 1, "high": 3}, {"name": "model", "choices": ["a", "b"]}],
        "objective": "score",
        "algorithm": "grid",
        "parallel": 2,
    }
    status, sweep = await api("POST", "sweeps", body)
    assert status == 201, sweep
    assert sweep["budget"] == 6 and sweep["notebook"] == nb
    done = await wait_sweep(api, sweep["id"])
    assert done["status"] == "succeeded" and done["best_value"] == 16
    assert sorted(t["status"] for t in done["trials"]) == ["succeeded"] * 6
    status, run = await api("GET", f"runs/{done['trials'][0]['run']}")
    assert status == 200 and run["sweep"] == sweep["id"]
    status, listed = await api("GET", "sweeps", params={"notebook": nb})
    assert status == 200 and [s["id"] for s in listed["sweeps"]] == [sweep["id"]]


async def test_cancel_over_rest(api, write_nb):
    nb = write_nb(CELLS, "toy.ipynb")
    status, sweep = await api("POST", "sweeps", {
        "notebook": nb, "space": [{"name": "n", "low": 1, "high": 100}], "objective": "score",
        "algorithm": "random", "trials": 50, "parallel": 2, "parameters": {"nap": 30.0},
    })
    assert status == 201, sweep
    status, cancelled = await api("POST", f"sweeps/{sweep['id']}/cancel")
    assert status == 200
    done = await wait_sweep(api, sweep["id"], 90)
    assert done["status"] == "cancelled" and len(done["trials"]) <= 2


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"space": [{"name": "nope", "choices": [1]}]}, 422, "unknown parameter 'nope'"),
        ({"space": [{"name": "model", "low": 1, "high": 2}]}, 422, "a range needs an int or float"),
        ({"objective": "base"}, 422, "is not a metric"),
        ({"space": []}, 422, "search space is empty"),
        ({"trials": 0}, 422, "a budget of 0 trials"),
        ({"algorithm": "annealing"}, 400, "algorithm"),
        ({"notebook": "../outside.ipynb"}, 400, "notebook"),
    ],
)
async def test_bad_sweeps_are_refused(api, write_nb, root, change, status, words):
    nb = write_nb(CELLS, "toy.ipynb")
    body = {"notebook": nb, "space": [{"name": "n", "low": 1, "high": 3}], "objective": "score", "trials": 3, **change}
    got, answer = await api("POST", "sweeps", body)
    assert got == status, answer
    assert words in answer["message"]
    assert not (root / "kf-runs" / "sweeps").exists()


async def test_unknown_sweep_is_a_404(api):
    for sid in ("sw-20990101-000000-abcdef", "..%2F..%2Fetc"):
        status, body = await api("GET", f"sweeps/{sid}")
        assert status == 404, body
