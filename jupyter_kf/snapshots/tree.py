"""A snapshot as a folder tree of hardlinks to its objects: the read-only lower layer of the
overlay a run's step kernels see its working folder through (``kernels/zygote.enter_overlay``).

``<store>/.snapshots/trees/<id>/`` is built once per snapshot (metadata only: no file content is
copied, except for the rare file whose mode differs from its object's beyond the owner's write
bit) and shared by every run of the snapshot. Nothing ever writes through it: the kernels see it
only as an overlay's lower layer, which the kernel copies up before any change. ``gc`` removes
the trees of the snapshots it removes (before their objects: a hardlink keeps the bytes alive).

:func:`overlay_available` probes once per store whether this machine can mount such an overlay
(as root: a mount namespace; as an ordinary user: an unprivileged user namespace too).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .._fsutil import file_lock, rmtree_force

if TYPE_CHECKING:
    from . import SnapshotStore

_probed: dict[str, bool] = {}
_UNSAFE_IN_OPTIONS = (",", ":", "\\", "\n")  # overlay mount options cannot carry these in paths


def tree_path(snaps: SnapshotStore, snap_id: str) -> Path:
    return snaps.dir / "trees" / snap_id


def build_tree(snaps: SnapshotStore, snap_id: str) -> Path:
    """The snapshot's tree (built if missing); returns its path."""
    from . import check_entries

    final = tree_path(snaps, snap_id)
    if final.is_dir():
        return final
    with file_lock(snaps._lock, shared=True):  # gc waits: no object vanishes while linked
        if final.is_dir():
            return final
        m = snaps.show(snap_id)
        check_entries(m)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{snap_id[:12]}-", dir=final.parent))
        try:
            dirs: list[tuple[Path, int]] = []
            for rel, e in m.entries.items():  # parents before children
                dst = tmp / rel
                if e["type"] == "dir":
                    dst.mkdir()
                    dirs.append((dst, e["mode"]))
                elif e["type"] == "link":
                    from . import _link_inside

                    if _link_inside(rel, e["target"]):
                        os.symlink(e["target"], dst)
                else:
                    _link_object(snaps, e, dst)
            for d, mode in reversed(dirs):
                os.chmod(d, mode | 0o700)
            os.chmod(tmp, 0o755)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def _link_object(snaps: SnapshotStore, e: dict, dst: Path) -> None:
    """Hardlink the entry's object at ``dst`` when its mode can be the entry's, else copy it."""
    obj = snaps.objects.path(e["hash"])
    want = e["mode"] & 0o7777
    have = os.stat(obj).st_mode & 0o7777
    if have != want and have | (want & 0o200) == want:
        os.chmod(obj, want)  # objects are stored without the owner's write bit: the entry has it
        have = want
    if have == want:
        os.link(obj, dst)
    else:  # e.g. an executable script whose content another, plain file shares
        snaps.objects.copy_out(e["hash"], dst)
        os.chmod(dst, want)
        os.utime(dst, ns=(e["mtime_ns"], e["mtime_ns"]))


def remove_tree(snaps: SnapshotStore, name: str) -> None:
    """Remove the tree ``name`` (a snapshot id, or a half-built ``.<id>-...`` folder)."""
    rmtree_force(snaps.dir / "trees" / name)


def overlay_spec(tree: Path, upper: Path, work: Path) -> dict[str, str] | None:
    """The overlay a kernel mounts (None when a path cannot be written in mount options)."""
    paths = {"lower": str(tree), "upper": str(upper), "work": str(work)}
    if any(c in p for p in paths.values() for c in _UNSAFE_IN_OPTIONS):
        return None
    return paths


def overlay_available(store: Path) -> bool:
    """Whether a forked process can mount a run folder's overlay here (probed once per store
    folder in this process: a child mounts one over a scratch folder and writes through it)."""
    key = str(store)
    if key not in _probed:
        _probed[key] = _probe(store)
    return _probed[key]


def _wait(pid: int, timeout: float) -> bool:
    """Whether the child exited 0 in time (a child forked from a threaded process could hang
    on a lock another thread held: it is killed, and the answer is no)."""
    import signal
    import time

    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status) == 0
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return False
        time.sleep(0.005)


def _probe(store: Path) -> bool:
    from ..kernels.zygote import enter_overlay

    store.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix=".overlay-probe-", dir=store))
    try:
        lower, upper, work = base / "lower", base / "upper", base / "work"
        for d in (lower, upper, work):
            d.mkdir()
        (lower / "f").write_bytes(b"lower")
        spec = overlay_spec(lower, upper, work)
        if spec is None:
            return False
        pid = os.fork()
        if pid == 0:  # the child: only system calls, then _exit (the parent has threads)
            code = 1
            try:
                enter_overlay(spec)
                with open(upper / "f", "ab") as f:
                    f.write(b"+")
                os.chmod(upper / "f", 0o600)
                code = 0
            except BaseException:
                pass
            finally:
                os._exit(code)
        ok = _wait(pid, timeout=10.0)
        return ok and (lower / "f").read_bytes() == b"lower" and (upper / "f").read_bytes() == b"lower+"
    except OSError:
        return False
    finally:
        rmtree_force(base)
