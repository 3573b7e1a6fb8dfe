"""Reading creates nothing: only a run or a snapshot creates a notebook folder's run store."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from jupyter_kf.models import Run
from jupyter_kf.service import PipelineService
from jupyter_kf.store import RunStore, UnknownRun


def tree(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, n), root) for d, dirs, files in os.walk(root) for n in dirs + files}


def test_reading_a_store_that_was_never_written_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nb" / "kf-runs"
    registry = Path(os.environ["JUPYTER_KF_REGISTRY"])
    with RunStore(path) as store:
        assert not store.exists and store.interrupted == []
        assert store.list_runs() == [] and store.list_runs("pipeline.ipynb") == []
        assert store.find_cached("0" * 64) is None and store.snapshot_refs() == set()
        assert store.recover_interrupted() == [] and not store.has_run("20260101-000000-abcd")
        with pytest.raises(UnknownRun):
            store.get_run("20260101-000000-abcd")
    assert not (tmp_path / "nb").exists()
    assert not registry.exists()  # nothing to register either


def test_the_first_write_creates_the_store_and_other_readers_see_it(tmp_path: Path) -> None:
    path = tmp_path / "kf-runs"
    reader = RunStore(path)
    assert reader.list_runs() == []
    writer = RunStore(path)
    run_id = writer.new_run_id()
    assert (path / "runs.sqlite").is_file() and (path / run_id).is_dir() and writer.exists
    writer.create_run(Run(id=run_id, pipeline="p", notebook="p.ipynb", created_at=datetime.now(timezone.utc)))
    assert [r.id for r in reader.list_runs()] == [run_id]  # opened the file once it existed
    assert reader.get_run(run_id).notebook == "p.ipynb"
    assert str(path.resolve()) in Path(os.environ["JUPYTER_KF_REGISTRY"]).read_text()
    reader.close()
    writer.close()


def test_service_reads_create_no_folder_in_the_users_tree(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "pipe.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    before = tree(root)
    service = PipelineService(root)
    try:
        assert any(b.name == "local" and b.available for b in service.backends())
        assert service.list_runs() == []
        assert service.list_runs("sub/pipe.ipynb") == []
        assert service.list_runs("no/such/folder/missing.ipynb") == []
        assert service.list_snapshots("sub/pipe.ipynb") == []
        assert service.list_snapshots("no/such/folder/missing.ipynb") == []
        with pytest.raises(UnknownRun):
            service.get_run("20260101-000000-abcd")
        assert tree(root) == before
        # a snapshot is a write: it creates the store, and is listed even before any run
        snap = service.create_snapshot("sub/pipe.ipynb")
        assert (root / "sub" / "kf-runs").is_dir()
        assert [s.id for s in service.list_snapshots("sub/pipe.ipynb")] == [snap.id]
        assert service.list_runs("sub/pipe.ipynb") == []
    finally:
        service.close()
