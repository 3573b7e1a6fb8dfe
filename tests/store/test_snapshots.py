"""Snapshots: immutability, dedupe, ignore rules, stat cache, diff/restore/materialize/gc."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storetest_util import write

from jupyter_kf.snapshots import SnapshotError, SnapshotStore, UnknownSnapshot


def files_of(folder: Path) -> dict[str, bytes]:
    """Regular files under ``folder`` (its run store left out)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink() and "kf-runs" not in p.relative_to(folder).parts
    }


def object_files(store: SnapshotStore) -> dict[str, bytes]:
    return {d: p.read_bytes() for d, p in store.objects.all()}


@pytest.fixture
def snaps(project: Path) -> SnapshotStore:
    return SnapshotStore(project / "kf-runs")


def test_snapshot_records_every_file_and_restores_them(project: Path, snaps: SnapshotStore, tmp_path: Path) -> None:
    snap = snaps.create(project, notebook="pipeline.ipynb")
    entries = snaps.show(snap.id).entries
    assert {p for p, e in entries.items() if e["type"] == "file"} == {
        "pipeline.ipynb", "data/train.csv", "data/labels.txt", "model.bin"}
    assert snap.files == 4 and snap.bytes == sum(len(b) for b in files_of(project).values())
    assert snap.new_bytes == snap.bytes and snap.notebook == "pipeline.ipynb"
    out = tmp_path / "restored"
    snaps.restore(snap.id[:8], out)
    assert files_of(out) == files_of(project)
    assert os.stat(out / "model.bin").st_mtime_ns == os.stat(project / "model.bin").st_mtime_ns


def test_snapshot_is_immutable_when_live_files_change(project: Path, snaps: SnapshotStore, tmp_path: Path) -> None:
    snap = snaps.create(project)
    before_manifest = snaps.show(snap.id).entries
    before_objects = object_files(snaps)
    expected = files_of(project)
    # edit in place (same inode), replace, delete and add live files
    with open(project / "data" / "train.csv", "r+") as f:
        f.write("CHANGED")
    (project / "model.bin").write_bytes(b"new content")
    (project / "data" / "labels.txt").unlink()
    write(project / "new.txt", "new")
    assert object_files(snaps) == before_objects
    assert snaps.show(snap.id).entries == before_manifest
    snaps.materialize(snap.id, tmp_path / "m")
    got = files_of(tmp_path / "m")
    assert got == expected


def test_writing_into_a_materialized_folder_never_changes_the_snapshot(
    project: Path, snaps: SnapshotStore, tmp_path: Path
) -> None:
    snap = snaps.create(project)
    before = object_files(snaps)
    work = tmp_path / "run" / "work"
    snaps.materialize(snap.id, work)
    for p in [work / "data" / "train.csv", work / "model.bin"]:
        assert os.stat(p).st_nlink == 1  # copies, never hardlinks to objects
        with open(p, "r+b") as f:  # overwrite in place, as a step would
            f.write(b"step output")
        os.chmod(p, 0o600)
    write(work / "data" / "extra.csv", "made by a step")
    assert object_files(snaps) == before
    again = tmp_path / "again"
    snaps.materialize(snap.id, again)
    assert files_of(again)["data/train.csv"] == b"x,y\n1,2\n3,4\n"
    for digest, path in snaps.objects.all():  # objects are read-only and match their address
        import hashlib

        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert not os.stat(path).st_mode & 0o222


def test_unchanged_resnapshot_stores_nothing_and_changed_file_stores_only_it(
    project: Path, snaps: SnapshotStore
) -> None:
    first = snaps.create(project)
    objs = object_files(snaps)
    second = snaps.create(project)
    assert second.id == first.id and second.new_bytes == 0
    assert object_files(snaps) == objs
    write(project / "data" / "labels.txt", "a\nb\nc\n")
    third = snaps.create(project)
    assert third.id != first.id and third.new_bytes == len("a\nb\nc\n")
    added = set(object_files(snaps)) - set(objs)
    assert len(added) == 1
    assert snaps.diff(first.id, third.id).changed == ["data/labels.txt"]


def test_identical_content_is_stored_once(project: Path, snaps: SnapshotStore) -> None:
    write(project / "copy-of-model.bin", (project / "model.bin").read_bytes())
    snap = snaps.create(project)
    size = (project / "model.bin").stat().st_size
    assert snap.bytes - snap.new_bytes == size
    hashes = [e["hash"] for e in snaps.show(snap.id).entries.values() if e["type"] == "file"]
    assert len(hashes) == len(set(hashes)) + 1


def test_unchanged_resnapshot_does_not_read_files(project: Path, snaps: SnapshotStore) -> None:
    snaps.create(project)
    reads: list[int] = []
    store2 = SnapshotStore(project / "kf-runs")
    store2.objects.on_read = reads.append
    store2.create(project)
    assert reads == []
    write(project / "data" / "train.csv", "x,y\n9,9\n")  # same mtime as before, other size
    store2.create(project)
    assert sum(reads) == len("x,y\n9,9\n")


def test_same_size_and_old_mtime_but_new_inode_is_rehashed(project: Path, snaps: SnapshotStore) -> None:
    first = snaps.create(project)
    st = os.stat(project / "data" / "labels.txt")
    tmp = project / "data" / "labels.tmp"
    write(tmp, "X\nY\n")  # same size, then restore the old mtime: only the inode differs
    os.replace(tmp, project / "data" / "labels.txt")
    os.utime(project / "data" / "labels.txt", ns=(st.st_mtime_ns, st.st_mtime_ns))
    second = snaps.create(project)
    assert snaps.diff(first.id, second.id).changed == ["data/labels.txt"]


def test_recently_modified_files_are_not_trusted_by_the_stat_cache(project: Path, snaps: SnapshotStore) -> None:
    write(project / "fresh.txt", "v1", mtime=None)  # modified "now": racily clean
    snaps.create(project)
    reads: list[int] = []
    snaps.objects.on_read = reads.append
    snaps.create(project)
    assert sum(reads) == 2  # fresh.txt re-read, the old files not


def test_ignore_rules(project: Path, snaps: SnapshotStore) -> None:
    for rel in [".git/HEAD", ".hg/x", ".svn/x", ".ipynb_checkpoints/pipeline-checkpoint.ipynb",
                "data/__pycache__/m.pyc", "scratch/tmp.dat", "logs/a.log", "keep.log", "sub/kf-runs/.objects/ab/cd",
                "notes/x.log"]:
        write(project / rel, "ignored?")
    write(project / ".kfignore", "scratch/\n*.log\n!keep.log\n")
    (project / "kf-runs").mkdir(exist_ok=True)
    write(project / "kf-runs" / "20260101-000000-abcd" / "work" / "out.txt", "run output")
    paths = set(snaps.show(snaps.create(project).id).entries)
    assert "keep.log" in paths and ".kfignore" in paths
    for rel in [".git", ".hg", ".svn", ".ipynb_checkpoints", "data/__pycache__", "scratch", "logs/a.log",
                "notes/x.log", "sub/kf-runs", "kf-runs"]:
        assert not any(p == rel or p.startswith(rel + "/") for p in paths), rel


def test_store_outside_the_folder_and_an_unrelated_kf_runs_folder(tmp_path: Path, project: Path) -> None:
    write(project / "kf-runs" / "notes.txt", "just a folder with that name")
    store = SnapshotStore(tmp_path / "elsewhere")
    entries = store.show(store.create(project).id).entries
    assert "kf-runs/notes.txt" in entries


def test_symlinks_are_recorded_not_followed(project: Path, snaps: SnapshotStore, tmp_path: Path) -> None:
    outside = write(tmp_path / "secret.txt", "outside")
    os.symlink("data/train.csv", project / "inside-link")
    os.symlink(outside, project / "outside-link")
    os.symlink(tmp_path, project / "outside-dir")
    snap = snaps.create(project)
    entries = snaps.show(snap.id).entries
    assert entries["inside-link"] == {"type": "link", "target": "data/train.csv"}
    assert entries["outside-link"]["type"] == "link" and not any(p.startswith("outside-dir/") for p in entries)
    assert all(e.get("hash") != __import__("hashlib").sha256(b"outside").hexdigest() for e in entries.values())
    result = snaps.materialize(snap.id, tmp_path / "m")
    assert sorted(result.skipped_links) == ["outside-dir", "outside-link"]
    assert os.readlink(tmp_path / "m" / "inside-link") == "data/train.csv"
    assert not (tmp_path / "m" / "outside-link").exists()


def test_empty_folders_and_modes_survive(project: Path, snaps: SnapshotStore, tmp_path: Path) -> None:
    (project / "empty").mkdir()
    script = write(project / "run.sh", "#!/bin/sh\n")
    os.chmod(script, 0o755)
    snap = snaps.create(project)
    snaps.restore(snap.id, tmp_path / "r")
    assert (tmp_path / "r" / "empty").is_dir()
    assert os.stat(tmp_path / "r" / "run.sh").st_mode & 0o777 == 0o755


def test_diff(project: Path, snaps: SnapshotStore) -> None:
    a = snaps.create(project)
    write(project / "data" / "train.csv", "x,y\n")
    (project / "data" / "labels.txt").unlink()
    write(project / "added.txt", "+")
    os.chmod(project / "model.bin", 0o600)
    b = snaps.create(project)
    d = snaps.diff(a.id, b.id)
    assert (d.added, d.removed, d.changed) == (["added.txt"], ["data/labels.txt"], ["data/train.csv", "model.bin"])
    assert not snaps.diff(a.id, a.id)


def test_restore_refuses_a_non_empty_folder_unless_asked(project: Path, snaps: SnapshotStore, tmp_path: Path) -> None:
    snap = snaps.create(project)
    target = tmp_path / "t"
    write(target / "data" / "train.csv", "mine")
    write(target / "other.txt", "keep me")
    with pytest.raises(SnapshotError, match="not empty"):
        snaps.restore(snap.id, target)
    assert (target / "data" / "train.csv").read_text() == "mine"
    snaps.restore(snap.id, target, overwrite=True)
    assert (target / "data" / "train.csv").read_text() == "x,y\n1,2\n3,4\n"
    assert (target / "other.txt").read_text() == "keep me"


def test_unknown_and_ambiguous_ids(snaps: SnapshotStore, project: Path) -> None:
    with pytest.raises(UnknownSnapshot, match="no snapshot 'abcdef'"):
        snaps.show("abcdef")
    snap = snaps.create(project)
    with pytest.raises(UnknownSnapshot):
        snaps.show(snap.id[:3])  # too short to be a prefix
    assert snaps.get(snap.id[:4]).id == snap.id


def test_gc_keeps_referenced_and_newest_and_frees_the_rest(project: Path, snaps: SnapshotStore) -> None:
    ids = []
    for i in range(4):
        write(project / "data" / "labels.txt", f"version {i}\n" * (i + 1))
        ids.append(snaps.create(project).id)
        os.utime(snaps._manifest_path(ids[-1]), (1000 + i, 1000 + i))  # creation order, whatever the clock
    report = snaps.gc(keep=1, referenced=[ids[0]])
    assert sorted(report.snapshots_removed) == sorted(ids[1:3])
    assert report.objects_removed == 2
    assert report.bytes_freed == len("version 1\n" * 2) + len("version 2\n" * 3)
    assert {s.id for s in snaps.list()} == {ids[0], ids[3]}
    for keep_id in (ids[0], ids[3]):  # the kept snapshots are whole
        snaps.materialize(keep_id, project.parent / f"m-{keep_id[:6]}")
    assert snaps.gc(keep=1, referenced=[ids[0]]).bytes_freed == 0


def test_gc_reads_run_references_from_the_store(project: Path) -> None:
    from datetime import datetime, timezone

    from jupyter_kf.models import Run
    from jupyter_kf.store import RunStore

    store = RunStore.for_folder(project)
    old = store.snapshots.create(project).id
    write(project / "new.txt", "n")
    store.snapshots.create(project)
    run_id = store.new_run_id()
    store.create_run(Run(id=run_id, pipeline="p", notebook="pipeline.ipynb", snapshot=old,
                         created_at=datetime.now(timezone.utc)))
    report = store.snapshots.gc(keep=0)
    assert [s.id for s in store.snapshots.list()] == [old] and len(report.snapshots_removed) == 1


def test_progress_is_reported(project: Path, snaps: SnapshotStore) -> None:
    seen = []
    snaps.create(project, progress=lambda p: seen.append((p.phase, p.files_done, p.bytes_done)))
    assert seen[0][0] == "scan" and seen[-1][1] == 4
    assert seen[-1][2] == sum(p.stat().st_size for p in project.rglob("*") if p.is_file() and "kf-runs" not in p.parts)


def test_data_key_ignores_mtimes_and_the_notebook(project: Path, snaps: SnapshotStore) -> None:
    a = snaps.create(project)
    os.utime(project / "data" / "train.csv", (1000, 1000))
    write(project / "pipeline.ipynb", '{"cells": [1]}')
    b = snaps.create(project)
    assert a.id != b.id
    assert snaps.data_key(a.id, exclude=["pipeline.ipynb"]) == snaps.data_key(b.id, exclude=["pipeline.ipynb"])
    assert snaps.data_key(a.id) != snaps.data_key(b.id)
    write(project / "data" / "train.csv", "other")
    c = snaps.create(project)
    assert snaps.data_key(c.id, exclude=["pipeline.ipynb"]) != snaps.data_key(a.id, exclude=["pipeline.ipynb"])


def test_private_files_stay_private_in_the_store(project: Path, snaps: SnapshotStore, tmp_path: Path) -> None:
    secret = write(project / "private.key", "only for the owner")
    os.chmod(secret, 0o600)
    snap = snaps.create(project)
    digest = snaps.show(snap.id).entries["private.key"]["hash"]
    assert os.stat(snaps.objects.path(digest)).st_mode & 0o777 == 0o400
    public = snaps.show(snap.id).entries["data/train.csv"]["hash"]
    assert os.stat(snaps.objects.path(public)).st_mode & 0o777 == 0o444
    snaps.materialize(snap.id, tmp_path / "m")
    assert os.stat(tmp_path / "m" / "private.key").st_mode & 0o777 == 0o600


def test_gc_waits_for_a_restore_in_progress(project: Path, snaps: SnapshotStore, tmp_path: Path) -> None:
    import threading

    snap = snaps.create(project)
    started, release = threading.Event(), threading.Event()
    original = snaps.objects.copy_out

    def slow_copy(digest: str, dst: Path) -> None:
        started.set()
        release.wait(10)
        original(digest, dst)

    snaps.objects.copy_out = slow_copy
    t = threading.Thread(target=snaps.materialize, args=(snap.id, tmp_path / "m"))
    t.start()
    started.wait(10)
    report: list = []
    g = threading.Thread(target=lambda: report.append(SnapshotStore(snaps.store).gc(keep=0, referenced=[])))
    g.start()
    g.join(0.5)
    assert g.is_alive() and not report  # blocked behind the restore's shared lock
    release.set()
    t.join(10)
    g.join(10)
    assert files_of(tmp_path / "m") == files_of(project)
    assert report[0].snapshots_removed == [snap.id]
