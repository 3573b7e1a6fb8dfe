"""Writing a snapshot's files out (a run's working folder, ``snapshot restore``), and taking the
unchanged ones back once a run is over.

Every file written is an independent inode: a reflink of its object where the file system can
clone (btrfs, XFS, bcachefs, ZFS block cloning, APFS: no bytes copied, copy-on-write), else a copy
(``copy_file_range``). Never a hardlink: a step may do anything to a file of its working folder
(write in place, truncate, append, chmod, rename over it), as its owner or as root, and the object
in the store cannot change. ``Materialized.method`` says which way the bytes went, so surfaces can
tell the user that a run paid a copy.

``written`` records each file's (inode, size, mtime_ns, ctime_ns) right after it was written;
:func:`drop_unchanged` later removes the files whose inode still matches exactly (any write,
truncate, chmod or replacement changes ctime or the inode), so a finished run keeps what it
wrote, not a second copy of its inputs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Manifest, ProgressCallback
    from .objects import ObjectStore

FileStat = tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns
PROGRESS_EVERY = 0.2  # s between progress reports while writing


@dataclass
class Materialized:
    files: int = 0
    bytes: int = 0
    skipped_links: list[str] = field(default_factory=list)  # links pointing outside the folder
    method: str = "none"  # "reflink", "copy", "mixed" (some of each) or "none" (no file written)
    copied_bytes: int = 0  # bytes that really moved (0 with reflinks)
    seconds: float = 0.0
    written: dict[str, FileStat] = field(default_factory=dict)  # rel -> stat just after writing
    dirs: list[str] = field(default_factory=list)  # folders this created (children after parents)

    def summary(self) -> dict[str, Any]:
        """What ``<run>/materialized.json`` records (no per-file detail)."""
        return {
            "method": self.method,
            "files": self.files,
            "bytes": self.bytes,
            "copied_bytes": self.copied_bytes,
            "seconds": round(self.seconds, 3),
        }


def write_entries(
    objects: ObjectStore,
    m: Manifest,
    target: Path,
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    progress: ProgressCallback | None = None,
    damaged: Callable[[str], Exception],
) -> Materialized:
    """Write the entries of ``m`` under ``target`` (checked by the caller: safe relative paths).

    ``overwrite`` replaces paths that exist; ``skip_existing`` leaves them (a run's folder where
    cached steps already put back the files they wrote: theirs are newer than the snapshot's).
    """
    from . import Progress, SnapshotError, _link_inside

    t0 = time.monotonic()
    target.mkdir(parents=True, exist_ok=True)
    real_target = target.resolve()
    result = Materialized()
    dirs: list[tuple[Path, int]] = []
    methods: set[str] = set()
    files = [e for e in m.entries.values() if e["type"] == "file"]
    prog = Progress("materialize", files_total=len(files), bytes_total=sum(e.get("size", 0) for e in files))
    last = time.monotonic()
    for rel, e in m.entries.items():  # parents come before children (walk order)
        dst = target / rel
        # A folder of the target may be a symlink (restored from the snapshot, or already
        # there with overwrite): whatever the path resolves to must stay inside the target.
        if not Path(os.path.realpath(dst.parent)).is_relative_to(real_target):
            raise damaged(
                f"snapshot {m.snapshot.id[:12]}: {rel!r} would be written outside {target.name}/ "
                "(through a symlinked folder); nothing more is restored"
            )
        if e["type"] == "dir":
            if skip_existing and dst.is_dir() and not dst.is_symlink():
                continue
            if dst.is_symlink() or (dst.exists() and not dst.is_dir()):
                if skip_existing:
                    continue
                dst.unlink()
            if not dst.exists():
                result.dirs.append(rel)
            dst.mkdir(exist_ok=True)
            dirs.append((dst, e["mode"]))
            continue
        if os.path.lexists(dst):
            if skip_existing:
                continue
            if overwrite:
                if dst.is_dir() and not dst.is_symlink():
                    raise SnapshotError(f"cannot restore file {rel}: {dst} is a folder")
                dst.unlink()
        if e["type"] == "link":
            if _link_inside(rel, e["target"]):
                os.symlink(e["target"], dst)
            else:
                result.skipped_links.append(rel)
            continue
        if not objects.has(e["hash"]):
            raise SnapshotError(f"snapshot {m.snapshot.id[:12]} is damaged: object for {rel} is missing")
        how = objects.copy_out(e["hash"], dst) or "copy"
        methods.add(how)
        os.chmod(dst, e["mode"])
        os.utime(dst, ns=(e["mtime_ns"], e["mtime_ns"]))
        st = os.lstat(dst)
        result.written[rel] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        result.files += 1
        result.bytes += e["size"]
        if how != "reflink":
            result.copied_bytes += e["size"]
        if progress is not None:
            prog.files_done += 1
            prog.bytes_done += e["size"]
            prog.path = rel
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY or prog.files_done == prog.files_total:
                last = now
                progress(prog)
    for d, mode in reversed(dirs):
        os.chmod(d, mode | 0o700)  # keep run folders writable by their owner
    result.method = "mixed" if len(methods) > 1 else (methods.pop() if methods else "none")
    result.seconds = time.monotonic() - t0
    return result


def drop_unchanged(target: Path, written: dict[str, FileStat], dirs: list[str] = ()) -> tuple[int, int]:
    """Remove the files of ``written`` that are still exactly as they were written (same inode,
    size, mtime and ctime), then the folders of ``dirs`` left empty. Returns (files, bytes)."""
    n = size = 0
    for rel, sig in written.items():
        p = target / rel
        try:
            st = os.lstat(p)
        except OSError:
            continue
        if (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) == tuple(sig):
            try:
                os.unlink(p)
            except OSError:
                continue
            n += 1
            size += st.st_size
    for rel in reversed(list(dirs)):  # children before parents
        try:
            os.rmdir(target / rel)
        except OSError:  # not empty: the run wrote into it
            pass
    return n, size
