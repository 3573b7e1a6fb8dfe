"""Content-addressed, deduplicated snapshots of a notebook's folder (its "data volume").

Under the store folder::

    .objects/ab/cdef...          file contents by sha256, stored once, read-only, never modified
    .snapshots/<id>.json         a manifest: path -> {type, hash, size, mode, mtime_ns} (or link target)
    .snapshots/statcache/<k>.json  per snapshotted folder: path -> [size, mtime_ns, inode, hash]

A snapshot's id is the sha256 of its entries, so an identical folder gives the same id. Files
whose size, mtime_ns and inode match the stat cache are not read again. Symlinks are recorded,
never followed; on materialize only links that stay inside the folder are recreated. Runs get
copies of the objects (reflink or copy_file_range where possible), never hardlinks, so nothing a
step writes can change a snapshot (``materialize.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._fsutil import atomic_write_text, file_lock
from ..models import Snapshot
from .materialize import Materialized, drop_unchanged, write_entries
from .objects import ObjectStore
from .walk import walk

MANIFEST_VERSION = 1
HASH_THREADS = min(4, os.cpu_count() or 1)
_RACY_NS = 100_000_000  # files modified this close to the scan may change unseen: not cached


class SnapshotError(Exception):
    """A snapshot operation that cannot proceed (the message says what and where)."""


class UnknownSnapshot(SnapshotError, LookupError):
    """No snapshot with that id (or prefix) in the store (REST: 404)."""


class BadSnapshotRef(SnapshotError, ValueError):
    """A snapshot reference that is not a hex id or prefix (REST: 422)."""


class DamagedSnapshot(SnapshotError, ValueError):
    """A manifest that does not describe a snapshot (unsafe paths, bad hashes): nothing is read or
    written from it."""


_HEX_REF = re.compile(r"[0-9a-f]{4,64}")  # an id or a unique prefix
_HEX_ID = re.compile(r"[0-9a-f]{64}")
_ENTRY_TYPES = {"file", "link", "dir"}


@dataclass
class Progress:
    """Reported while a snapshot is taken (``phase``: 'scan' then 'hash') or written out
    (``phase``: 'materialize')."""

    phase: str
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    path: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class Manifest:
    snapshot: Snapshot
    entries: dict[str, dict[str, Any]]  # path -> {"type": "file"|"link"|"dir", ...}


@dataclass
class SnapshotDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass
class GcReport:
    snapshots_removed: list[str] = field(default_factory=list)
    objects_removed: int = 0
    bytes_freed: int = 0


def entries_id(entries: dict[str, dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class SnapshotStore:
    """Snapshots kept in a run store folder (``<store>/.objects``, ``<store>/.snapshots``)."""

    def __init__(self, store: Path | str) -> None:
        self.store = Path(store).resolve()
        self.objects = ObjectStore(self.store / ".objects")
        self.dir = self.store / ".snapshots"
        self._lock = self.dir / ".lock"

    # -- create -----------------------------------------------------------------------------
    def create(
        self, folder: Path | str, *, notebook: str | None = None, progress: ProgressCallback | None = None
    ) -> Snapshot:
        """Snapshot ``folder`` (minus the store and ignored paths) and return its record."""
        root = Path(folder).resolve()
        if not root.is_dir():
            raise SnapshotError(f"cannot snapshot {root}: not a folder")
        with file_lock(self._lock, shared=True):
            return self._create(root, notebook, progress)

    def _create(self, root: Path, notebook: str | None, progress: ProgressCallback | None) -> Snapshot:
        scan_ns = time.time_ns()
        found = list(walk(root, exclude={self.store}))
        files = [f for f in found if f.kind == "file"]
        total = sum(f.st.st_size for f in files)
        prog = Progress("hash", files_total=len(files), bytes_total=total)
        if progress:
            progress(Progress("scan", files_total=len(files), bytes_total=total))
        cache_file = self.dir / "statcache" / (hashlib.sha256(str(root).encode()).hexdigest()[:24] + ".json")
        cache = _read_json(cache_file, {})
        known: dict[str, tuple[str, int]] = {}  # rel -> (digest, size) from the stat cache
        todo = []
        for f in files:
            hit = cache.get(f.rel)
            if hit and hit[:3] == _stat_key(f.st) and self.objects.has(hit[3]):
                known[f.rel] = (hit[3], f.st.st_size)
                prog.files_done += 1
                prog.bytes_done += f.st.st_size
            else:
                todo.append(f)
        if progress and known:
            progress(prog)
        new_bytes = 0
        stored: set[str] = set()
        for f, result in self._ingest(root, todo):
            if result is None:  # removed since the scan
                continue
            digest, size, added = result
            known[f.rel] = (digest, size)
            if added and digest not in stored:  # identical new files hashed at once count once
                stored.add(digest)
                new_bytes += added
            if progress:
                prog.files_done += 1
                prog.bytes_done += f.st.st_size
                prog.path = f.rel
                progress(prog)
        new_cache: dict[str, list] = {}
        entries: dict[str, dict[str, Any]] = {}
        for f in found:  # walk order: folders before what they hold
            mode = f.st.st_mode & 0o7777
            if f.kind == "dir":
                entries[f.rel] = {"type": "dir", "mode": mode}
            elif f.kind == "link":
                entries[f.rel] = {"type": "link", "target": os.readlink(root / f.rel)}
            elif f.rel in known:
                digest, size = known[f.rel]
                entries[f.rel] = {"type": "file", "hash": digest, "size": size, "mode": mode,
                                  "mtime_ns": f.st.st_mtime_ns}
                if size == f.st.st_size and scan_ns - f.st.st_mtime_ns > _racy_margin(f.st.st_mtime_ns):
                    new_cache[f.rel] = [*_stat_key(f.st), digest]
        snap_id = entries_id(entries)
        path = self._manifest_path(snap_id)
        if path.exists():
            os.utime(path)  # "last used": gc keeps the newest
            snap = self._load(snap_id).snapshot
            snap = snap.model_copy(update={"new_bytes": new_bytes})
        else:
            snap = Snapshot(
                id=snap_id,
                created_at=datetime.now(timezone.utc),
                root=str(root),
                notebook=notebook,
                files=len([e for e in entries.values() if e["type"] == "file"]),
                bytes=sum(e.get("size", 0) for e in entries.values()),
                new_bytes=new_bytes,
            )
            doc = {"version": MANIFEST_VERSION, "snapshot": snap.model_dump(mode="json"), "entries": entries}
            atomic_write_text(path, json.dumps(doc, separators=(",", ":")))
        if new_cache != cache:
            atomic_write_text(cache_file, json.dumps(new_cache, separators=(",", ":")))
        return snap

    def _ingest(self, root: Path, todo: list) -> Iterator[tuple[Any, tuple[str, int, int] | None]]:
        """Hash and store files on a few threads (hashlib and file I/O release the GIL)."""

        def one(f) -> tuple[str, int, int] | None:
            try:
                return self.objects.add_file(root / f.rel, f.st.st_mode & 0o7777)
            except FileNotFoundError:
                return None
            except OSError as e:
                raise SnapshotError(f"cannot read {root / f.rel}: {e.strerror}") from None

        if len(todo) < 2 or HASH_THREADS < 2:
            yield from ((f, one(f)) for f in todo)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(HASH_THREADS, thread_name_prefix="kf-snapshot") as pool:
            yield from zip(todo, pool.map(one, todo))

    # -- read -------------------------------------------------------------------------------
    def _manifest_path(self, snap_id: str) -> Path:
        return self.dir / f"{snap_id}.json"

    def _ids(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return [
            p.name[:-5] for p in self.dir.iterdir() if p.suffix == ".json" and _HEX_ID.fullmatch(p.name[:-5])
        ]

    def resolve(self, ref: str) -> str:
        """A full snapshot id from an id or a unique prefix of at least 4 hex digits.

        Anything else (a path, too short, not hex) is :class:`BadSnapshotRef`; a well-formed ref
        that names no snapshot here is :class:`UnknownSnapshot`. Messages name the store folder by
        its name only, never by its absolute path (they reach REST clients)."""
        ref = ref.strip().lower() if isinstance(ref, str) else ""
        if not _HEX_REF.fullmatch(ref):
            if re.fullmatch(r"[0-9a-f]{1,3}", ref):
                raise UnknownSnapshot(f"snapshot prefix {ref!r} is too short (4 hex digits at least)")
            raise BadSnapshotRef(f"{ref[:80]!r} is not a snapshot id (4 to 64 hex digits)")
        if len(ref) == 64 and self._manifest_path(ref).is_file():
            return ref
        matches = [i for i in self._ids() if i.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UnknownSnapshot(f"no snapshot {ref!r} in {self.store.name}")
        raise UnknownSnapshot(f"snapshot prefix {ref!r} is ambiguous ({len(matches)} snapshots match)")

    def _load(self, snap_id: str) -> Manifest:
        if not _HEX_ID.fullmatch(snap_id):  # never a path: ids are file names in .snapshots/
            raise BadSnapshotRef(f"{snap_id[:80]!r} is not a snapshot id")
        try:
            doc = json.loads(self._manifest_path(snap_id).read_text())
        except FileNotFoundError:
            raise UnknownSnapshot(f"no snapshot {snap_id!r} in {self.store.name}") from None
        except (OSError, ValueError) as exc:
            raise DamagedSnapshot(f"snapshot {snap_id[:12]} cannot be read: {exc}") from None
        try:
            return Manifest(Snapshot.model_validate(doc["snapshot"]), doc["entries"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedSnapshot(f"snapshot {snap_id[:12]} has a damaged manifest: {exc}") from None

    def show(self, ref: str) -> Manifest:
        """A snapshot's record and entries."""
        return self._load(self.resolve(ref))

    def get(self, ref: str) -> Snapshot:
        return self.show(ref).snapshot

    def list(self, root: Path | str | None = None) -> list[Snapshot]:
        """Snapshots (of ``root`` only, if given), newest first."""
        want = str(Path(root).resolve()) if root is not None else None
        snaps = [self._load(i).snapshot for i in self._ids()]
        return sorted((s for s in snaps if want is None or s.root == want), key=lambda s: s.created_at, reverse=True)

    def data_key(self, ref: str, exclude: Iterable[str] = ()) -> str:
        """A content-only digest of a snapshot for cache keys: paths, contents, modes and link
        targets, without mtimes and without the ``exclude`` paths (pass the pipeline's own
        notebook: its code is keyed per step, and editing one step must not invalidate all)."""
        skip = set(exclude)
        items = sorted((p, _content(e)) for p, e in self.show(ref).entries.items() if p not in skip)
        return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).hexdigest()

    def diff(self, a: str, b: str) -> SnapshotDiff:
        """Paths added, removed and changed (content, mode or link target) from ``a`` to ``b``."""
        ea = {p: e for p, e in self.show(a).entries.items() if e["type"] != "dir"}
        eb = {p: e for p, e in self.show(b).entries.items() if e["type"] != "dir"}
        d = SnapshotDiff(
            added=sorted(eb.keys() - ea.keys()),
            removed=sorted(ea.keys() - eb.keys()),
            changed=sorted(p for p in ea.keys() & eb.keys() if _content(ea[p]) != _content(eb[p])),
        )
        return d

    # -- write out --------------------------------------------------------------------------
    def materialize(
        self,
        ref: str,
        target: Path | str,
        *,
        skip_existing: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Materialized:
        """Write a snapshot into a new (or empty) folder, e.g. a run's working folder.

        ``skip_existing`` writes into a folder that already has files and keeps those (a run's
        folder where cached steps put back what they wrote). See ``materialize.py`` for how."""
        if skip_existing:
            with file_lock(self._lock, shared=True):
                m = self.show(ref)
                check_entries(m)
                return write_entries(self.objects, m, Path(target), skip_existing=True,
                                     progress=progress, damaged=DamagedSnapshot)
        return self.restore(ref, target, overwrite=False, progress=progress)

    def restore(
        self, ref: str, target: Path | str, *, overwrite: bool = False, progress: ProgressCallback | None = None
    ) -> Materialized:
        """Write a snapshot's files into ``target``.

        A non-empty ``target`` is refused unless ``overwrite``; then the snapshot's files replace
        the ones there and files that the snapshot does not have are left alone.
        """
        with file_lock(self._lock, shared=True):  # gc waits: no object vanishes mid-copy
            return self._restore(self.show(ref), Path(target), overwrite, progress)

    def _restore(self, m: Manifest, target: Path, overwrite: bool, progress: ProgressCallback | None = None) -> Materialized:
        if target.exists() and not target.is_dir():
            raise SnapshotError(f"cannot restore into {target}: not a folder")
        if target.is_dir() and any(target.iterdir()) and not overwrite:
            raise SnapshotError(f"{target} is not empty (restore over its files with overwrite, `--force` on the command line)")
        check_entries(m)  # before anything is written: a bad manifest writes nothing
        return write_entries(self.objects, m, target, overwrite=overwrite, progress=progress, damaged=DamagedSnapshot)

    # -- garbage collection -----------------------------------------------------------------
    def gc(
        self,
        keep: int = 10,
        referenced: Iterable[str] | None = None,
        *,
        grace: float = 0.0,
        dry_run: bool = False,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> GcReport:
        """Remove snapshots that no run references, except the ``keep`` most recently used and
        any used in the last ``grace`` seconds, then every object no remaining snapshot
        references. ``referenced`` defaults to the snapshot ids of the runs in this store's
        ``runs.sqlite``. ``dry_run`` reports without removing; ``progress(phase, done, total)``."""
        if referenced is None:
            referenced = self._run_refs()
        refs = set(referenced)
        report = GcReport()
        now = time.time()
        with file_lock(self._lock):  # no snapshot is taken or written out meanwhile
            mtimes = {i: self._manifest_path(i).stat().st_mtime for i in self._ids()}
            ids = sorted(mtimes, key=lambda i: mtimes[i], reverse=True)
            keep_ids = set(ids[:keep]) | (refs & set(ids)) | {i for i in ids if now - mtimes[i] < grace}
            live: set[str] = set()
            for i in ids:
                if i in keep_ids:
                    live.update(e["hash"] for e in self._load(i).entries.values() if e["type"] == "file")
                else:
                    if not dry_run:
                        from .tree import remove_tree

                        remove_tree(self, i)  # its hardlinks first: they keep objects' bytes alive
                        self._manifest_path(i).unlink()
                    report.snapshots_removed.append(i)
            trees = self.dir / "trees"
            if trees.is_dir() and not dry_run:  # trees of removed snapshots, half-built ones
                from .tree import remove_tree

                for t in trees.iterdir():
                    if t.name not in keep_ids:
                        remove_tree(self, t.name)
            objects = list(self.objects.all())
            for n, (digest, path) in enumerate(objects, 1):
                if digest not in live:
                    report.bytes_freed += path.stat().st_size
                    if not dry_run:
                        path.unlink()
                    report.objects_removed += 1
                if progress is not None and (n % 500 == 0 or n == len(objects)):
                    progress("gc", n, len(objects))
            if self.objects.tmp.is_dir():  # leftovers of killed snapshots (no create runs now)
                for p in self.objects.tmp.iterdir():
                    report.bytes_freed += p.stat().st_size
                    if not dry_run:
                        p.unlink()
        return report

    def _run_refs(self) -> set[str]:
        if not (self.store / "runs.sqlite").is_file():
            return set()
        from ..store import RunStore

        with RunStore(self.store, register=False) as rs:
            return rs.snapshot_refs()


def check_entries(m: Manifest) -> None:
    """Refuse a manifest whose entries could lead outside the folder they are restored into:
    every path relative, `/`-separated, without `..` or empty parts; known entry types; file
    hashes that are sha256 hex digests (they name files in the object store)."""
    sid = m.snapshot.id[:12]
    if not isinstance(m.entries, dict):
        raise DamagedSnapshot(f"snapshot {sid}: its entries are not a mapping")
    for rel, e in m.entries.items():
        parts = rel.split("/") if isinstance(rel, str) else []
        if (
            not parts
            or rel.startswith("/")
            or os.path.isabs(rel)
            or "\x00" in rel
            or any(p in ("", ".", "..") for p in parts)
        ):
            raise DamagedSnapshot(
                f"snapshot {sid}: unsafe path {str(rel)[:200]!r} in its manifest; nothing was restored"
            )
        if not isinstance(e, dict) or e.get("type") not in _ENTRY_TYPES:
            raise DamagedSnapshot(f"snapshot {sid}: entry {rel!r} has no known type; nothing was restored")
        if e["type"] == "file" and not (isinstance(e.get("hash"), str) and _HEX_ID.fullmatch(e["hash"])):
            raise DamagedSnapshot(
                f"snapshot {sid}: entry {rel!r} has no valid content hash; nothing was restored"
            )
        if e["type"] == "link" and not isinstance(e.get("target"), str):
            raise DamagedSnapshot(f"snapshot {sid}: link {rel!r} has no target; nothing was restored")


def _content(e: dict[str, Any]) -> tuple:
    return (e["type"], e.get("hash"), e.get("mode"), e.get("target"))


def _link_inside(rel: str, target: str) -> bool:
    if os.path.isabs(target):
        return False
    norm = os.path.normpath(os.path.join(os.path.dirname(rel), target))
    return not (norm == ".." or norm.startswith("../"))


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _racy_margin(mtime_ns: int) -> int:
    # Whole-second timestamps mean a coarse file system (FAT, some network mounts): wider margin.
    return 2_000_000_000 if mtime_ns % 1_000_000_000 == 0 else _RACY_NS


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


__all__ = [
    "GcReport",
    "BadSnapshotRef",
    "check_entries",
    "DamagedSnapshot",
    "drop_unchanged",
    "Manifest",
    "Materialized",
    "Progress",
    "Snapshot",
    "SnapshotDiff",
    "SnapshotError",
    "SnapshotStore",
    "UnknownSnapshot",
]
