"""The run store's sqlite database, created only when something is written.

Reading a store that does not exist yet (listing a notebook's runs before its first run, the
server asking which backends there are) must create nothing in the user's folders: until the
file exists, reads go to an empty in-memory database with the same schema, so they find no run.
The first write creates the store folder and ``runs.sqlite``; a file created meanwhile by another
process is picked up by the next read.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .rows import SCHEMA, SCHEMA_VERSION


def _connect(target: str) -> sqlite3.Connection:
    return sqlite3.connect(target, timeout=30, isolation_level=None, check_same_thread=False)


def _create_schema(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            for statement in filter(str.strip, SCHEMA.split(";")):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class Database:
    """One connection (behind a lock) to ``file``, opened lazily; ``on_open`` runs once it is."""

    def __init__(self, file: Path, on_open: Callable[[], None] | None = None) -> None:
        self.file = file
        self._on_open = on_open
        self.lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._empty: sqlite3.Connection | None = None

    @property
    def exists(self) -> bool:
        """Whether the store's database file exists (it is then opened on the next read)."""
        return self._db is not None or self.file.is_file()

    def _connection(self, create: bool) -> sqlite3.Connection:
        """Under ``self.lock``: the file's connection (opened, or created when ``create``), or the
        empty stand-in while there is no file."""
        if self._db is None and (create or self.file.is_file()):
            self.file.parent.mkdir(parents=True, exist_ok=True)
            db = _connect(str(self.file))
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            _create_schema(db)
            self._db = db
            if self._on_open is not None:
                self._on_open()
        if self._db is not None:
            return self._db
        if self._empty is None:
            self._empty = _connect(":memory:")
            _create_schema(self._empty)
        return self._empty

    def ensure(self) -> None:
        """Create the store's database (and folder) now if it does not exist."""
        with self.lock:
            self._connection(create=True)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE); creates the database first if needed."""
        with self.lock:
            db = self._connection(create=True)
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction; never creates anything."""
        with self.lock:
            db = self._connection(create=False)
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            for db in (self._db, self._empty):
                if db is not None:
                    db.close()
            self._db = self._empty = None
