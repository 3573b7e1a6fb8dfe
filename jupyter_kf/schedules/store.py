"""Schedules in the run store's sqlite database: two tables next to ``runs`` and ``steps``.

``schedules`` holds each schedule (model JSON) and its cursor (the newest due time handled).
``schedule_fires`` has one row per (schedule, due time): its primary key is the claim that makes a
due time run at most once, across threads, processes and restarts. A due time is claimed in the
same write transaction that reads and advances the cursor, so two schedulers on one store never
both act on it. A claim whose owner process died before it started the run is taken over by the
next scheduler (``take_over_orphans``), which first looks for a run already made for that due time.

The tables are created on the first schedule written (``CREATE TABLE IF NOT EXISTS``): a store made
before schedules existed opens unchanged, and reads of a store without them find no schedule.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from ..config import Settings
from ..models import Run, Schedule, ScheduleFire
from ..store.db import Database
from ..store.liveness import process_start_time, runner_alive
from ..store.registry import register_store

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    id TEXT PRIMARY KEY,
    notebook TEXT NOT NULL,
    cursor TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS schedule_fires (
    schedule_id TEXT NOT NULL,
    due TEXT NOT NULL,
    state TEXT NOT NULL,
    run_id TEXT,
    error TEXT,
    at TEXT NOT NULL,
    owner_pid INTEGER,
    owner_start TEXT,
    owner_host TEXT,
    PRIMARY KEY (schedule_id, due)
);
CREATE INDEX IF NOT EXISTS schedule_fires_state ON schedule_fires (state);
"""

ACTIVE_STATES = ("claimed", "started")  # a run is (or is about to be) going


class UnknownSchedule(LookupError):
    def __init__(self, schedule_id: str, where: str = "") -> None:
        super().__init__(f"no schedule {schedule_id!r}{' in ' + where if where else ''}")
        self.schedule_id = schedule_id


def new_schedule_id() -> str:
    return "sch-" + secrets.token_hex(4)


def ts(t: datetime) -> str:
    """A sortable UTC text form (every stored time uses it, so text order is time order)."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _owner() -> tuple[int, str | None, str]:
    pid = os.getpid()
    return pid, process_start_time(pid), socket.gethostname()


# A decision made inside the claim transaction: given the cursor, return (new cursor, fires to insert).
Decide = Callable[[datetime], tuple[datetime, list[ScheduleFire]]]


class ScheduleStore:
    """Schedules of one run store folder (``<store>/runs.sqlite``)."""

    def __init__(self, path: Path | str, settings: Settings | None = None) -> None:
        self.path = Path(path).resolve()
        self.settings = settings or Settings.from_env()
        self._db = Database(self.path / "runs.sqlite", on_open=lambda: register_store(self.path, self.settings))

    def close(self) -> None:
        self._db.close()

    def _write(self):
        return self._db.write()

    def _has_tables(self, db: sqlite3.Connection) -> bool:
        return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'schedule_fires'").fetchone() is not None

    def _migrate(self, db: sqlite3.Connection) -> None:
        if not self._has_tables(db):
            for statement in filter(str.strip, SCHEMA.split(";")):
                db.execute(statement)

    # -- schedules ----------------------------------------------------------------------------
    def create(self, schedule: Schedule) -> Schedule:
        with self._write() as db:
            self._migrate(db)
            db.execute(
                "INSERT INTO schedules (id, notebook, cursor, data) VALUES (?, ?, ?, ?)",
                (schedule.id, schedule.notebook, ts(schedule.anchor), self._json(schedule)),
            )
        return schedule

    def save(self, schedule: Schedule, *, cursor: datetime | None = None) -> Schedule:
        """Store an edited schedule; with ``cursor``, due times are counted again from there."""
        with self._write() as db:
            self._migrate(db)
            if cursor is None:
                cur = db.execute("UPDATE schedules SET data = ? WHERE id = ?", (self._json(schedule), schedule.id))
            else:
                cur = db.execute(
                    "UPDATE schedules SET data = ?, cursor = ? WHERE id = ?",
                    (self._json(schedule), ts(cursor), schedule.id),
                )
            if cur.rowcount == 0:
                raise UnknownSchedule(schedule.id, str(self.path))
        return schedule

    def delete(self, schedule_id: str) -> None:
        with self._write() as db:
            self._migrate(db)
            if db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,)).rowcount == 0:
                raise UnknownSchedule(schedule_id, str(self.path))
            db.execute("DELETE FROM schedule_fires WHERE schedule_id = ?", (schedule_id,))

    def get(self, schedule_id: str) -> Schedule:
        with self._db.read() as db:
            row = db.execute("SELECT data FROM schedules WHERE id = ?", (schedule_id,)).fetchone() if self._has_tables(
                db) else None
        if row is None:
            raise UnknownSchedule(schedule_id, str(self.path))
        return Schedule.model_validate_json(row[0])

    def has(self, schedule_id: str) -> bool:
        try:
            self.get(schedule_id)
        except UnknownSchedule:
            return False
        return True

    def list(self, notebook: str | None = None) -> list[Schedule]:
        with self._db.read() as db:
            if not self._has_tables(db):
                return []
            if notebook is None:
                rows = db.execute("SELECT data FROM schedules ORDER BY id").fetchall()
            else:
                rows = db.execute("SELECT data FROM schedules WHERE notebook = ? ORDER BY id", (notebook,)).fetchall()
        return [Schedule.model_validate_json(r[0]) for r in rows]

    def cursor(self, schedule_id: str) -> datetime:
        with self._db.read() as db:
            row = db.execute("SELECT cursor FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        if row is None:
            raise UnknownSchedule(schedule_id, str(self.path))
        return parse_ts(row[0])

    @staticmethod
    def _json(schedule: Schedule) -> str:
        # Derived fields are computed when read, never stored.
        return schedule.model_copy(update={"next_due": [], "last": None, "history": []}).model_dump_json()

    # -- due times ----------------------------------------------------------------------------
    def advance(self, schedule_id: str, decide: Decide) -> list[ScheduleFire]:
        """In one write transaction: read the cursor, let ``decide`` choose the new cursor and the
        fires, insert them (a due time already claimed by anyone is dropped) and move the cursor.
        Returns the fires this call inserted; 'claimed' ones are this process's to start."""
        try:  # most passes find nothing due: decide that without taking the write lock
            if not decide(self.cursor(schedule_id))[1]:
                return []
        except UnknownSchedule:
            return []
        pid, start, host = _owner()
        inserted: list[ScheduleFire] = []
        with self._write() as db:
            self._migrate(db)
            row = db.execute("SELECT cursor FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
            if row is None:
                return []
            cursor = parse_ts(row[0])
            new_cursor, fires = decide(cursor)
            for f in fires:
                cur = db.execute(
                    "INSERT OR IGNORE INTO schedule_fires (schedule_id, due, state, run_id, error, at, owner_pid,"
                    " owner_start, owner_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (schedule_id, ts(f.due), f.state, f.run, f.error, ts(f.at), pid, start, host),
                )
                if cur.rowcount:
                    inserted.append(f)
            if new_cursor > cursor:
                db.execute("UPDATE schedules SET cursor = ? WHERE id = ?", (ts(new_cursor), schedule_id))
        return inserted

    def set_fire(self, schedule_id: str, due: datetime, *, state: str, run: str | None = None,
                 error: str | None = None, at: datetime) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE schedule_fires SET state = ?, run_id = COALESCE(?, run_id), error = ?, at = ?"
                " WHERE schedule_id = ? AND due = ?",
                (state, run, error, ts(at), schedule_id, ts(due)),
            )

    def take(self, schedule_id: str, due: datetime, from_state: str, *, at: datetime) -> bool:
        """Move a fire from ``from_state`` to 'claimed' owned by this process (False if another won)."""
        pid, start, host = _owner()
        with self._write() as db:
            cur = db.execute(
                "UPDATE schedule_fires SET state = 'claimed', at = ?, owner_pid = ?, owner_start = ?, owner_host = ?"
                " WHERE schedule_id = ? AND due = ? AND state = ?",
                (ts(at), pid, start, host, schedule_id, ts(due), from_state),
            )
            return cur.rowcount == 1

    def take_over_orphans(self, *, at: datetime) -> list[tuple[str, datetime]]:
        """Claims whose owner process is gone (it died between claiming and starting the run),
        now owned by this process: (schedule id, due time) to start, unless a run exists for them."""
        pid, start, host = _owner()
        taken: list[tuple[str, datetime]] = []
        with self._write() as db:
            if not self._has_tables(db):
                return []
            rows = db.execute(
                "SELECT schedule_id, due, owner_pid, owner_start, owner_host FROM schedule_fires WHERE state = 'claimed'"
            ).fetchall()
            for sid, due, opid, ostart, ohost in rows:
                if runner_alive(opid, ostart, ohost):
                    continue
                db.execute(
                    "UPDATE schedule_fires SET owner_pid = ?, owner_start = ?, owner_host = ?, at = ?"
                    " WHERE schedule_id = ? AND due = ?",
                    (pid, start, host, ts(at), sid, due),
                )
                taken.append((sid, parse_ts(due)))
        return taken

    def fires(self, schedule_id: str, *, states: tuple[str, ...] | None = None, limit: int | None = 20,
              oldest_first: bool = False) -> list[ScheduleFire]:
        sql = "SELECT due, state, run_id, error, at FROM schedule_fires WHERE schedule_id = ?"
        args: list = [schedule_id]
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        sql += " ORDER BY due" + ("" if oldest_first else " DESC")
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._db.read() as db:
            if not self._has_tables(db):
                return []
            rows = db.execute(sql, args).fetchall()
        return [
            ScheduleFire(due=parse_ts(d), state=s, run=r, error=e, at=parse_ts(a)) for d, s, r, e, a in rows
        ]

    def run_for(self, schedule_id: str, due: datetime) -> str | None:
        """The id of a run already made for this due time (a claimer may have died just after)."""
        with self._db.read() as db:
            rows = db.execute(
                "SELECT data FROM runs WHERE json_extract(data, '$.schedule') = ?", (schedule_id,)
            ).fetchall()
        for (data,) in rows:
            run = Run.model_validate_json(data)
            if run.scheduled_for is not None and ts(run.scheduled_for) == ts(due):
                return run.id
        return None
