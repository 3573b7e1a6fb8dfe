"""GET/POST snapshots through the API."""

from __future__ import annotations


async def test_snapshot_create_and_list(api, pipe_nb, root):
    (root / "data.csv").write_text("a,b\n1,2\n")
    status, snap = await api("POST", "snapshots", {"notebook": pipe_nb})
    assert status == 201, snap
    assert snap["files"] >= 2 and snap["bytes"] > 0 and snap["new_bytes"] > 0
    assert snap["notebook"] == pipe_nb

    status, again = await api("POST", "snapshots", {"notebook": pipe_nb})
    assert status == 201
    assert again["id"] == snap["id"] and again["new_bytes"] == 0  # nothing changed: nothing stored

    (root / "data.csv").write_text("a,b\n1,3\n")
    status, changed = await api("POST", "snapshots", {"notebook": pipe_nb})
    assert changed["id"] != snap["id"]

    status, listed = await api("GET", "snapshots", params={"notebook": pipe_nb})
    assert status == 200
    ids = [s["id"] for s in listed["snapshots"]]
    assert snap["id"] in ids and changed["id"] in ids


async def test_reads_create_no_store_folder(api, pipe_nb, root):
    def tree() -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*")}

    before = tree()
    assert (await api("GET", "backends"))[0] == 200
    assert (await api("GET", "runs"))[1]["runs"] == []
    assert (await api("GET", "runs", params={"notebook": pipe_nb}))[1]["runs"] == []
    assert (await api("GET", "runs", params={"notebook": "no/such/missing.ipynb"}))[1]["runs"] == []
    assert (await api("GET", "snapshots", params={"notebook": pipe_nb}))[1]["snapshots"] == []
    assert tree() == before
    status, snap = await api("POST", "snapshots", {"notebook": pipe_nb})  # a write creates the store
    assert status == 201 and (root / "kf-runs").is_dir()
    status, listed = await api("GET", "snapshots", params={"notebook": pipe_nb})
    assert [s["id"] for s in listed["snapshots"]] == [snap["id"]]
