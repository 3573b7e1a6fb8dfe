"""Due times: cron in a time zone across daylight-saving changes, intervals, bad input."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from jupyter_kf.models import ScheduleRequest
from jupyter_kf.schedules.timing import due_between, next_due

UTC = timezone.utc


def _cron(expr: str, tz: str, after: datetime, until: datetime) -> list[datetime]:
    return due_between(cron=expr, interval=None, tz=tz, anchor=after, after=after, until=until)


def test_daily_cron_in_a_zone_follows_local_time_across_spring_forward():
    # Europe/Berlin jumps 02:00 -> 03:00 on 2026-03-29: 02:30 does not exist that day.
    dues = _cron("30 2 * * *", "Europe/Berlin", datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    assert dues == [
        datetime(2026, 3, 27, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # the missing 02:30 runs at 03:00 CEST, once
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),  # 02:30 CEST
    ]


def test_daily_cron_runs_once_on_the_fall_back_day():
    # 2026-10-25 02:00-03:00 happens twice in Berlin; a daily 02:30 job still runs once.
    dues = _cron("30 2 * * *", "Europe/Berlin", datetime(2026, 10, 24, 3, tzinfo=UTC),
                 datetime(2026, 10, 26, 3, tzinfo=UTC))
    assert dues == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 26, 1, 30, tzinfo=UTC)]


def test_hourly_cron_follows_real_time_on_the_fall_back_day():
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # midnight in Berlin
    dues = _cron("0 * * * *", "Europe/Berlin", start - timedelta(seconds=1), start + timedelta(hours=25) - timedelta(seconds=1))
    assert len(dues) == 25  # the local day has 25 hours
    assert all(b - a == timedelta(hours=1) for a, b in zip(dues, dues[1:]))


def test_the_same_cron_in_two_zones():
    after = datetime(2026, 1, 5, tzinfo=UTC)
    ny = next_due(cron="0 9 * * 1-5", interval=None, tz="America/New_York", anchor=after, after=after)
    tokyo = next_due(cron="0 9 * * 1-5", interval=None, tz="Asia/Tokyo", anchor=after, after=after)
    assert ny == [datetime(2026, 1, 5, 14, 0, tzinfo=UTC)]
    assert tokyo == [datetime(2026, 1, 6, 0, 0, tzinfo=UTC)]


def test_intervals_count_from_the_anchor():
    anchor = datetime(2026, 1, 1, 0, 0, 7, tzinfo=UTC)
    got = next_due(cron=None, interval=900, tz="UTC", anchor=anchor, after=anchor + timedelta(minutes=31), count=3)
    assert got == [anchor + timedelta(minutes=m) for m in (45, 60, 75)]
    dues = due_between(cron=None, interval=3600, tz="UTC", anchor=anchor, after=anchor,
                       until=anchor + timedelta(hours=3))
    assert dues == [anchor + timedelta(hours=h) for h in (1, 2, 3)]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"cron": "61 * * * *"}, "cron", "minute"),
        ({"cron": "* * * *"}, "cron", "5 fields"),
        ({"cron": "0 3 * * mon-xyz"}, "cron", "day"),
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        ({"interval": 5}, "interval", "greater than or equal to 60"),
    ],
)
def test_bad_timing_is_refused_naming_the_field(fields, field, words):
    with pytest.raises(ValidationError) as info:
        ScheduleRequest(notebook="a.ipynb", **fields)
    err = info.value.errors()[0]
    assert err["loc"] == (field,)
    assert words.lower() in err["msg"].lower()
