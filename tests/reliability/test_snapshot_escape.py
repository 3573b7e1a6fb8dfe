"""Item 1: the `snapshot` field of `POST runs`, and manifests, never lead outside the root."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from jupyter_kf.snapshots import DamagedSnapshot, SnapshotStore

from .conftest import TWO_STEPS, tree


def _forge(store: Path, entries: dict) -> str:
    """Write a manifest into ``store/.snapshots`` as an attacker with write access to it would."""
    snaps = SnapshotStore(store)
    obj = store / "payload.txt"
    obj.write_text("owned\n")
    digest, size, _ = snaps.objects.add_file(obj)
    obj.unlink()
    entries = {
        k: ({**v, "hash": digest, "size": size} if v["type"] == "file" else v) for k, v in entries.items()
    }
    sid = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()
    doc = {
        "version": 1,
        "snapshot": {"id": sid, "created_at": "2026-01-01T00:00:00Z", "root": str(store.parent)},
        "entries": entries,
    }
    snaps.dir.mkdir(parents=True, exist_ok=True)
    (snaps.dir / f"{sid}.json").write_text(json.dumps(doc))
    return sid


FILE = {"type": "file", "mode": 0o644, "mtime_ns": 0}
ESCAPES = ["../../../../../outside/x", "{tmp}/abs-escape", "ok/../../../../../outside/y"]


@pytest.mark.parametrize("path", ESCAPES)
def test_a_manifest_path_outside_the_target_writes_nothing(tmp_path, path):
    store = tmp_path / "root" / "kf-runs"
    store.mkdir(parents=True)
    sid = _forge(store, {path.format(tmp=tmp_path): FILE})
    target = store / "run" / "work"
    before = tree(tmp_path)
    with pytest.raises(DamagedSnapshot, match="unsafe path"):
        SnapshotStore(store).materialize(sid, target)
    assert tree(tmp_path) - {"root/kf-runs/.snapshots/.lock"} == before  # not even the target folder


def test_restore_does_not_follow_a_symlinked_folder_out(tmp_path):
    store = tmp_path / "root" / "kf-runs"
    store.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "root" / "work"
    target.mkdir()
    os.symlink(outside, target / "d")  # already there; restored over with overwrite
    sid = _forge(store, {"d/x": FILE})
    with pytest.raises(DamagedSnapshot, match="outside"):
        SnapshotStore(store).restore(sid, target, overwrite=True)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("ref", ["../../../../outside/" + "e" * 45, "not-hex!", "a/b", "ABC/" + "0" * 60, ""])
def test_store_refuses_refs_that_are_not_hex_ids(tmp_path, ref):
    from jupyter_kf.snapshots import BadSnapshotRef

    with pytest.raises(BadSnapshotRef):
        SnapshotStore(tmp_path / "kf-runs").resolve(ref)


async def test_post_runs_refuses_bad_unknown_and_forged_snapshots(api, root, make_notebook):
    make_notebook(TWO_STEPS, name="pipe.ipynb", folder=root)
    status, snap = await api("POST", "snapshots", {"notebook": "pipe.ipynb"})
    assert status == 201, snap
    store = root / "kf-runs"
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    # A JSON file outside the store that the old code read as a manifest.
    (outside / ("e" * 64 + ".json")).write_text(json.dumps({"snapshot": {}, "entries": {}}))
    forged = _forge(store, {"../../../../../outside/x": FILE, "../../../../../../outside/x": FILE})
    before = tree(root.parent, skip=root)

    cases = [
        ("../../../../outside/" + "e" * 45, 422),
        ("x" * 64, 422),
        ("ab", 404),  # hex, but too short to be a prefix
        ("0" * 64, 404),
        ("deadbeef", 404),
        (forged, 422),
    ]
    for ref, want in cases:
        status, body = await api("POST", "runs", {"notebook": "pipe.ipynb", "snapshot": ref})
        assert status == want, (ref, status, body)
        assert body["field"] == "snapshot", body
        assert str(root) not in body["message"] and str(store) not in body["message"], body

    status, runs = await api("GET", "runs")
    assert runs["runs"] == []  # refused before a run was created
    assert tree(root.parent, skip=root) == before
    assert not (outside / "x").exists()

    # A real snapshot, by its id or a prefix, still runs.
    status, run = await api("POST", "runs", {"notebook": "pipe.ipynb", "snapshot": snap["id"][:10]})
    assert status == 202, run
    assert run["snapshot"] == snap["id"]
