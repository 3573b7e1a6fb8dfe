"""Small file-system helpers shared by the store and snapshots: atomic writes, locks, fast copies."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHUNK = 1 << 20  # 1 MiB: large files are hashed and copied in chunks, never read whole

try:  # Linux FICLONE ioctl (reflink on btrfs/xfs/...); absent elsewhere
    import fcntl

    _FICLONE = 0x40049409
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is a lack of space: ENOSPC/EDQUOT, or sqlite's
    "database or disk is full"."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if type(exc).__name__ in ("OperationalError", "DiskFullError") and "full" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new content, never a part."""
    atomic_write_bytes(path, text.encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


@contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """An advisory lock (flock) on ``path`` held for the block; a no-op without fcntl."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


_reflink_ok = True


def try_reflink(src_fd: int, dst_fd: int) -> bool:
    """Clone ``src`` into ``dst`` sharing blocks (copy-on-write) if the file system can."""
    global _reflink_ok
    if not _reflink_ok or fcntl is None:
        return False
    try:
        fcntl.ioctl(dst_fd, _FICLONE, src_fd)
        return True
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.ENOSYS, errno.EPERM):
            _reflink_ok = False  # this file system cannot: stop asking
        return False


def copy_file(src: Path, dst: Path) -> str:
    """Copy file contents: reflink, else copy_file_range, else a streamed copy. Never a hardlink.

    ``dst`` must not exist. The copy is an independent file: writing it never changes ``src``.
    Returns ``"reflink"`` when the copy shares blocks with ``src`` (no bytes copied), else ``"copy"``.
    """
    with open(src, "rb") as fs, open(dst, "xb") as fd:
        if try_reflink(fs.fileno(), fd.fileno()):
            return "reflink"
        size = os.fstat(fs.fileno()).st_size
        if hasattr(os, "copy_file_range") and size:
            try:
                done = 0
                while done < size:
                    n = os.copy_file_range(fs.fileno(), fd.fileno(), size - done)
                    if n == 0:
                        break
                    done += n
                if done == size:
                    return "copy"
            except OSError:
                pass
            fs.seek(0)
            fd.seek(0)
            fd.truncate()
        shutil.copyfileobj(fs, fd, CHUNK)
    return "copy"


def rmtree_force(path: Path) -> None:
    """Remove a folder even where it holds folders without permissions (an overlay's work
    folder: its ``work/`` is mode 000); errors are ignored."""

    def fix(func, p, _exc) -> None:  # noqa: ANN001
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    if os.path.lexists(path):
        try:
            shutil.rmtree(path, onerror=fix)
        except OSError:
            pass
