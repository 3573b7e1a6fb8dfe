"""Export a run as one self-contained zip, and import it into another folder to inspect or rerun.

Layout of the archive::

    kf-export.json          format version, the run record (parameters, metrics, steps), what is inside
    pipeline.json env.json  as recorded; env-lock.txt: the installed packages as name==version
    notebook/<name>.ipynb   the notebook as the run saw it (from its snapshot)
    steps/<step>.ipynb|.log executed step notebooks and logs
    values/<step>/...       values with manifest.json (sha256 per value) and metrics.json
    snapshot.json           the snapshot's manifest: every file with its hash, size and mode
    objects/<sha256>        file contents: the notebook's always, every file's with --with-data

Importing trusts nothing in the archive: every member name must be a plain relative path (no
absolute path, no ``..``, no symlink), every path in the snapshot manifest too, every object must
match its hash, and run and step names must be plain names; otherwise nothing is written.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .models import Run

if TYPE_CHECKING:
    from .store import RunStore

FORMAT = 1
_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4,}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HASH = re.compile(r"^[0-9a-f]{64}$")


class ArchiveError(ValueError):
    """An archive that cannot be exported or imported (says which member and why)."""


# -- export --------------------------------------------------------------------------------------
def export_run(store: RunStore, run_id: str, out: Path, *, with_data: bool = False) -> dict[str, Any]:
    """Write run ``run_id`` of ``store`` to the zip ``out``; return what was written (counts)."""
    run = store.get_run(run_id)
    if not run.status.finished:
        raise ArchiveError(f"run {run_id} is still {run.status.value}; export it once it has finished")
    run_dir = store.run_path(run_id)
    snap = store.snapshots.show(run.snapshot) if run.snapshot else None
    nb_rel = snap.snapshot.notebook if snap else None
    counts = {"values": 0, "objects": 0, "bytes": 0}
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        for name in ("pipeline.json", "env.json"):
            if (run_dir / name).is_file():
                z.write(run_dir / name, name)
        env = _read_json(run_dir / "env.json")
        lock = "".join(f"{n}=={v}\n" for n, v in sorted((env.get("packages") or {}).items()))
        z.writestr("env-lock.txt", lock)
        for s in run.steps:
            for p in (store.step_notebook_path(run_id, s.name), store.step_log_path(run_id, s.name)):
                if p.is_file():
                    z.write(p, f"steps/{p.name}")
        values = store.values_dir(run_id)
        if values.is_dir():
            for p in sorted(values.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    z.write(p, "values/" + p.relative_to(values).as_posix(), compress_type=zipfile.ZIP_STORED)
                    counts["values"] += 1
        if snap is not None:
            z.writestr("snapshot.json", json.dumps({"snapshot": snap.snapshot.model_dump(mode="json"), "entries": snap.entries}))
            for rel, e in snap.entries.items():
                if e["type"] != "file" or not (with_data or rel == nb_rel):
                    continue
                src = store.snapshots.objects.path(e["hash"])
                if f"objects/{e['hash']}" not in z.NameToInfo:
                    z.write(src, f"objects/{e['hash']}")
                    counts["objects"] += 1
                    counts["bytes"] += e["size"]
                if rel == nb_rel:
                    z.write(src, f"notebook/{PurePosixPath(rel).name}")
        meta = {
            "format": FORMAT,
            "run": run.model_dump(mode="json"),
            "notebook": nb_rel,
            "with_data": with_data,
        }
        z.writestr("kf-export.json", json.dumps(meta, indent=1))
    tmp.replace(out)
    return counts


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


# -- import --------------------------------------------------------------------------------------
def safe_relative(name: str, what: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside its root, or ArchiveError."""
    p = PurePosixPath(name)
    if not name or "\\" in name or "\x00" in name or p.is_absolute() or re.match(r"^[A-Za-z]:", name):
        raise ArchiveError(f"{what} {name!r} is not a relative path")
    if any(part in ("..", "") for part in name.rstrip("/").split("/")):
        raise ArchiveError(f"{what} {name!r} leads outside its folder")
    return p


def _check_members(z: zipfile.ZipFile) -> None:
    for info in z.infolist():
        safe_relative(info.filename, "archive member")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ArchiveError(f"archive member {info.filename!r} is a symbolic link")


def _check_run(meta: dict[str, Any]) -> Run:
    if meta.get("format") != FORMAT:
        raise ArchiveError(f"unsupported export format {meta.get('format')!r} (expected {FORMAT})")
    run = Run.model_validate(meta["run"])
    if not _RUN_ID.match(run.id):
        raise ArchiveError(f"run id {run.id!r} is not a run id")
    for s in run.steps:
        if not _NAME.match(s.name):
            raise ArchiveError(f"step name {s.name!r} is not a plain name")
    return run


def _check_snapshot(doc: dict[str, Any]) -> tuple[str, dict[str, dict[str, Any]]]:
    from .snapshots import entries_id

    entries = doc["entries"]
    for rel, e in entries.items():
        safe_relative(rel, "snapshot path")
        if e.get("type") == "file" and not _HASH.match(str(e.get("hash"))):
            raise ArchiveError(f"snapshot path {rel!r} has no valid hash")
        if e.get("type") == "link":  # links are only recreated when they stay inside (snapshots)
            target = str(e.get("target", ""))
            if target.startswith("/"):
                raise ArchiveError(f"snapshot link {rel!r} points outside the folder")
    snap_id = doc["snapshot"]["id"]
    if snap_id != entries_id(entries):
        raise ArchiveError(f"snapshot.json does not match its id {snap_id[:12]}: the archive was altered")
    return snap_id, entries


def _check_values_manifest(member: str, data: bytes) -> None:
    """Value names are Python identifiers in a known format (a name is part of a file path)."""
    try:
        manifest = json.loads(data)
    except ValueError:
        raise ArchiveError(f"archive member {member!r} is not JSON") from None
    if not isinstance(manifest, dict):
        raise ArchiveError(f"archive member {member!r} is not a values manifest")
    for name, entry in manifest.items():
        if not (isinstance(name, str) and name.isidentifier()) or not isinstance(entry, dict):
            raise ArchiveError(f"archive member {member!r} lists a value {name!r} that is not a Python name")


def import_run(archive: Path, folder: Path, store: RunStore) -> Run:
    """Import an exported run into ``store`` (the run store of ``folder``); the notebook is put in
    ``folder`` when no file of that name is there. Nothing is written when any check fails."""
    from .models import Snapshot
    from .store import StoreError

    folder = folder.resolve()
    try:
        z = zipfile.ZipFile(archive)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ArchiveError(f"{archive}: not a jupyter-kf export ({exc})") from None
    with z:
        _check_members(z)
        try:
            meta = json.loads(z.read("kf-export.json"))
        except KeyError:
            raise ArchiveError(f"{archive}: not a jupyter-kf export (no kf-export.json)") from None
        run = _check_run(meta)
        names = set(z.namelist())
        snap = _check_snapshot(json.loads(z.read("snapshot.json"))) if "snapshot.json" in names else None
        for n in names:
            if n.startswith("objects/") and not _HASH.match(n[len("objects/"):]):
                raise ArchiveError(f"archive member {n!r} is not an object")
            if n.startswith("steps/") and not _NAME.match(n[len("steps/"):]):
                raise ArchiveError(f"archive member {n!r} is not a step file")
        for n in names:
            if n.startswith("values/") and n.endswith("/manifest.json"):
                _check_values_manifest(n, z.read(n))
        if store.has_run(run.id):
            raise StoreError(f"run {run.id} is already in {store.path}")

        with tempfile.TemporaryDirectory(prefix="kf-import-") as tmpdir:
            tmp = Path(tmpdir)
            objects = store.snapshots.objects
            for n in sorted(x for x in names if x.startswith("objects/")):
                digest = n[len("objects/"):]
                src = tmp / digest
                with z.open(n) as fs, open(src, "wb") as fd:
                    shutil.copyfileobj(fs, fd)
                real, _, _ = objects.add_file(src)
                if real != digest:
                    raise ArchiveError(f"archive member {n!r} does not match its hash")
                src.unlink()

        nb_name = PurePosixPath(meta.get("notebook") or run.notebook).name
        safe_relative(nb_name, "notebook name")
        if snap is not None:
            snap_id, entries = snap
            doc = json.loads(z.read("snapshot.json"))
            manifest = store.snapshots.dir / f"{snap_id}.json"
            if not manifest.is_file():
                manifest.parent.mkdir(parents=True, exist_ok=True)
                record = Snapshot.model_validate(doc["snapshot"])
                manifest.write_text(json.dumps({"snapshot": record.model_dump(mode="json"), "entries": entries}))
        run_dir = store.run_path(run.id)
        run_dir.mkdir(parents=True, exist_ok=False)
        for n in names:
            if n in ("pipeline.json", "env.json") or n.startswith(("steps/", "values/")):
                rel = n if not n.startswith("values/") else "work/kf-values/" + n[len("values/"):]
                dst = run_dir / safe_relative(rel, "archive member")
                if not dst.resolve().is_relative_to(run_dir.resolve()):
                    raise ArchiveError(f"archive member {n!r} leads outside the run folder")
                dst.parent.mkdir(parents=True, exist_ok=True)
                with z.open(n) as fs, open(dst, "wb") as fd:
                    shutil.copyfileobj(fs, fd)
        nb_member = f"notebook/{nb_name}"
        if nb_member in names and not (folder / nb_name).exists():
            (folder / nb_name).write_bytes(z.read(nb_member))
    imported = run.model_copy(
        update={
            "notebook": nb_name,
            "run_dir": None,
            "steps": [s.model_copy(update={"notebook": None, "log": None}) for s in run.steps],
        }
    )
    return store.create_run(imported, None, capture_env=False)
