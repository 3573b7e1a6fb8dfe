"""The run store over REST: its size, and pruning (dry run first) that keeps what must stay."""

from __future__ import annotations


async def test_store_size_and_prune(api, pipe_nb, root, wait_run):
    status, usage = await api("GET", "store", params={"notebook": pipe_nb})
    assert status == 200 and usage == {"runs": 0, "runs_bytes": 0, "snapshots": 0, "objects_bytes": 0, "bytes": 0}
    assert not (root / "kf-runs").exists()  # reading made no store

    (root / "data.bin").write_bytes(b"x" * 100_000)
    ids = []
    for params in ({"n": 4}, {"n": 5}):
        status, run = await api("POST", "runs", {"notebook": pipe_nb, "parameters": params, "cache": False})
        assert status in (200, 201, 202), run
        ids.append((await wait_run(run["id"]))["id"])
    status, usage = await api("GET", "store", params={"notebook": pipe_nb})
    assert usage["runs"] == 2 and usage["snapshots"] == 1
    assert usage["objects_bytes"] >= 100_000 and usage["bytes"] >= usage["objects_bytes"] + usage["runs_bytes"]

    status, body = await api("POST", "store/prune", {"notebook": pipe_nb})
    assert status == 422, body  # no criterion: nothing is removed by accident
    status, plan = await api("POST", "store/prune", {"notebook": pipe_nb, "keep": 0, "dry_run": True})
    assert status == 200, plan
    assert plan["removed"] == [ids[0]] and plan["bytes"] > 0 and ids[1] in plan["kept"]  # the latest success stays
    assert (await api("GET", f"runs/{ids[0]}"))[0] == 200  # a dry run removes nothing
    status, done = await api("POST", "store/prune", {"notebook": pipe_nb, "keep": 0})
    assert status == 200 and done["removed"] == [ids[0]] and not done["dry_run"]
    assert (await api("GET", f"runs/{ids[0]}"))[0] == 404
    assert (await api("GET", f"runs/{ids[1]}"))[0] == 200
    status, body = await api("POST", "store/prune", {"notebook": "../outside.ipynb", "keep": 0})
    assert status == 400 and body["field"] == "notebook", body
