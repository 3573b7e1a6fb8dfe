"""When a schedule is due: cron expressions (cronsim) in an IANA time zone (zoneinfo), or intervals.

A leaf module (imports only cronsim and the standard library). Every time it returns is UTC. A cron
expression is evaluated in its time zone the way cron does across daylight-saving changes: a
wall-clock time that does not exist (spring forward) runs at the first minute after the gap, a
wall-clock time that exists twice (fall back) runs once; hourly-or-finer expressions follow real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc


class TimingError(ValueError):
    """An invalid cron expression, interval or time zone; ``field`` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimingError("timezone", f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None


def check_cron(expr: str) -> str:
    """The expression normalised (single spaces); raises TimingError saying which field is wrong."""
    from cronsim import CronSim, CronSimError

    norm = " ".join(expr.split())
    if len(norm.split(" ")) != 5:
        raise TimingError("cron", f"{expr!r}: expected 5 fields (minute hour day-of-month month day-of-week)")
    try:
        CronSim(norm, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise TimingError("cron", f"{expr!r}: {exc}") from None
    return norm


def due_times(
    *, cron: str | None, interval: float | None, tz: str, anchor: datetime, after: datetime
) -> Iterator[datetime]:
    """Due times (UTC, ascending) strictly after ``after``; interval due times are counted from ``anchor``."""
    after = after.astimezone(UTC)
    if interval is not None:
        step = timedelta(seconds=interval)
        anchor = anchor.astimezone(UTC)
        k = max(1, int((after - anchor) / step) + 1) if after >= anchor else 1
        while True:
            t = anchor + k * step
            if t > after:
                yield t
            k += 1
    elif cron is not None:
        from cronsim import CronSim

        zone = check_timezone(tz)
        for t in CronSim(cron, after.astimezone(zone)):
            yield t.astimezone(UTC)
    else:
        raise TimingError("cron", "a schedule needs `cron` or `interval`")


def next_due(
    *, cron: str | None, interval: float | None, tz: str, anchor: datetime, after: datetime, count: int = 1
) -> list[datetime]:
    it = due_times(cron=cron, interval=interval, tz=tz, anchor=anchor, after=after)
    return [next(it) for _ in range(count)]


def due_between(
    *, cron: str | None, interval: float | None, tz: str, anchor: datetime, after: datetime, until: datetime,
    limit: int = 10_000,
) -> list[datetime]:
    """Due times in (after, until], oldest first (at most ``limit``: the newest ``limit`` are kept)."""
    out: list[datetime] = []
    for t in due_times(cron=cron, interval=interval, tz=tz, anchor=anchor, after=after):
        if t > until:
            break
        out.append(t)
        if len(out) > limit:
            out.pop(0)
    return out
