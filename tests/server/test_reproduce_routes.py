"""Reruns and runs from a step through the REST API (POST /runs with `reproduces`, `from_step`)."""

from __future__ import annotations

import nbformat

CHAIN = [
    ("base = 2", ["step:a"]),
    ("doubled = base * 2", ["step:b"]),
    ("total = doubled + 1", ["step:c"]),
    ("total", ["pipeline-metrics"]),
]


async def test_rerun_and_run_from_a_step_over_rest(api, write_nb, root, wait_run):
    nb = write_nb(CHAIN, "chain.ipynb")
    status, first = await api("POST", "runs", {"notebook": nb})
    assert status == 202, first
    first = await wait_run(first["id"])
    assert first["status"] == "succeeded" and first["metrics"] == {"total": 5}

    path = root / nb
    doc = nbformat.read(path, as_version=4)
    doc.cells[2].source = "total = doubled + 100"
    nbformat.write(doc, path)

    status, again = await api("POST", "runs", {"notebook": nb, "reproduces": first["id"], "cache": False})
    assert status == 202, again
    again = await wait_run(again["id"])
    assert again["reproduces"] == first["id"] and again["snapshot"] == first["snapshot"]
    assert again["status"] == "succeeded" and again["metrics"] == {"total": 5}  # the snapshot's code

    status, part = await api("POST", "runs", {"notebook": nb, "from_step": "c", "inputs_from": first["id"]})
    assert status == 202, part
    part = await wait_run(part["id"])
    assert part["status"] == "succeeded" and part["metrics"] == {"total": 104}
    assert {s["name"]: s["status"] for s in part["steps"]} == {"a": "cached", "b": "cached", "c": "succeeded"}

    status, diff = await api("GET", f"runs/{first['id']}/diff/{part['id']}")
    assert status == 200, diff
    assert diff["metrics"] == {"total": [5, 104]} and list(diff["code"]) == ["c"]
    assert "+total = doubled + 100" in diff["code"]["c"] and diff["parameters"] == {}
    status, err = await api("GET", f"runs/{first['id']}/diff/20200101-000000-abcd")
    assert status == 404, err

    status, err = await api("POST", "runs", {"notebook": nb, "from_step": "nope"})
    assert status == 422 and "has no step 'nope'" in err["message"], err
    status, err = await api("POST", "runs", {"notebook": nb, "reproduces": "20200101-000000-abcd"})
    assert status == 422 and err["field"] == "reproduces", err
