"""Content-addressed object store: each distinct file content once, as ``.objects/ab/cdef...``
(sha256). Objects are written to a temporary file and renamed into place, made read-only, and
never modified afterwards."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from .._fsutil import CHUNK, copy_file, try_reflink

ReadHook = Callable[[int], None]  # called with the byte count of every chunk read while hashing


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"
        self.on_read: ReadHook | None = None  # instrumentation (tests count rehashing with it)

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def add_file(self, src: Path, mode: int = 0o644) -> tuple[str, int, int]:
        """Store the content of ``src``; return (sha256, size, bytes newly stored: 0 if already there).

        The object keeps only the read permissions ``mode`` (the file's) had, so content that was
        private to its owner stays private in the store.

        One pass: the file is read in chunks, hashed and written to a temporary object at once
        (or cloned, where the file system supports reflinks, and the clone hashed).
        """
        try:
            fd, tmp_name = _mkstemp(self.tmp)
        except FileNotFoundError:
            self.tmp.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = _mkstemp(self.tmp)
        tmp = Path(tmp_name)
        try:
            with open(src, "rb") as fs, os.fdopen(fd, "r+b") as ft:
                if try_reflink(fs.fileno(), ft.fileno()):
                    digest, size = self._hash_stream(ft, None)
                else:
                    digest, size = self._hash_stream(fs, ft)
            final = self.path(digest)
            if final.exists():
                tmp.unlink()
                return digest, size, 0
            os.chmod(tmp, 0o444 & mode | 0o400)
            try:
                os.replace(tmp, final)
            except FileNotFoundError:  # first object of this fan-out folder
                final.parent.mkdir(exist_ok=True)
                os.replace(tmp, final)
            return digest, size, size
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _hash_stream(self, src, copy_to) -> tuple[str, int]:
        h = hashlib.sha256()
        size = 0
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while True:
            n = src.readinto(buf)
            if not n:
                break
            chunk = view[:n]
            h.update(chunk)
            if copy_to is not None:
                copy_to.write(chunk)
            size += n
            if self.on_read is not None:
                self.on_read(n)
        return h.hexdigest(), size

    def copy_out(self, digest: str, dst: Path) -> str:
        """Copy an object to ``dst`` (which must not exist) as an independent, writable file;
        returns how (``"reflink"``: blocks shared copy-on-write, ``"copy"``: bytes copied)."""
        return copy_file(self.path(digest), dst)

    def all(self) -> Iterator[tuple[str, Path]]:
        """Every stored object as (digest, path)."""
        if not self.root.is_dir():
            return
        for sub in os.scandir(self.root):
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for e in os.scandir(sub.path):
                yield sub.name + e.name, Path(e.path)


def _mkstemp(folder: Path) -> tuple[int, str]:
    import tempfile

    return tempfile.mkstemp(dir=folder, prefix="obj-")
