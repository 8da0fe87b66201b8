"""Local days: a day of the site's time zone as the UTC instants the database compares,
through daylight-saving changes (at 01:00 UTC, at local midnight) and at the ends of the
calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from aggregator.digest.days import (
    EARLIEST,
    LATEST,
    Period,
    day_bounds,
    local_day,
    zone_abbreviation,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "start", "end"),
    [
        ("UTC", date(2026, 3, 10), utc(2026, 3, 10), utc(2026, 3, 11)),
        ("Asia/Tokyo", date(2026, 3, 10), utc(2026, 3, 9, 15), utc(2026, 3, 10, 15)),
        ("America/New_York", date(2026, 3, 10), utc(2026, 3, 10, 4), utc(2026, 3, 11, 4)),
        # Clocks go forward at 01:00 UTC: a day of 23 hours, then back: one of 25.
        ("Europe/London", date(2026, 3, 29), utc(2026, 3, 29), utc(2026, 3, 29, 23)),
        ("Europe/London", date(2026, 10, 25), utc(2026, 10, 24, 23), utc(2026, 10, 26)),
        # Chile moves its clocks at midnight: 6 September begins at 01:00, as -03.
        ("America/Santiago", date(2026, 9, 5), utc(2026, 9, 5, 4), utc(2026, 9, 6, 4)),
        ("America/Santiago", date(2026, 9, 6), utc(2026, 9, 6, 4), utc(2026, 9, 7, 3)),
        # ...and in April 23:00 to midnight of the 4th happens twice: a day of 25 hours.
        ("America/Santiago", date(2026, 4, 4), utc(2026, 4, 4, 3), utc(2026, 4, 5, 4)),
        # The calendar's ends: what falls outside what a datetime holds is clamped. (Tokyo
        # kept its local mean time, +09:18:59, before 1888.)
        ("Asia/Tokyo", date.min, EARLIEST, utc(1, 1, 1, 14, 41, 1)),
        ("America/New_York", date.max, utc(9999, 12, 31, 5), LATEST),
    ],
    ids=["utc", "tokyo", "new-york", "london-23h", "london-25h", "santiago-before-gap",
         "santiago-midnight-gap", "santiago-25h", "first-day", "last-day"],
)  # fmt: skip
def test_a_day_runs_from_its_zones_midnight_to_the_next(
    zone: str, day: date, start: datetime, end: datetime
) -> None:
    assert day_bounds(day, ZoneInfo(zone)) == (start, end)


def test_consecutive_days_meet_and_every_moment_is_on_its_own_day() -> None:
    zone = ZoneInfo("America/Santiago")
    day = date(2026, 8, 30)
    for _ in range(14):  # the week before the gap, and the week after it
        start, end = day_bounds(day, zone)
        assert day_bounds(day + timedelta(days=1), zone)[0] == end
        assert local_day(start, zone) == day == local_day(end - timedelta(microseconds=1), zone)
        day += timedelta(days=1)


def test_a_range_runs_from_its_first_days_start_to_its_last_days_end() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    period = Period.of_range(tokyo, date(2026, 3, 9), date(2026, 3, 10))
    assert (period.since, period.until, period.day) == (utc(2026, 3, 8, 15), utc(2026, 3, 10, 15),
                                                        None)  # fmt: skip
    assert period.local_days(tokyo) == (date(2026, 3, 9), date(2026, 3, 10))
    # Instants given as well narrow it; either end may stay open.
    narrowed = Period.of_range(tokyo, date(2026, 3, 9), None, since=utc(2026, 3, 9, 3))
    assert (narrowed.since, narrowed.until) == (utc(2026, 3, 9, 3), None)
    assert narrowed.local_days(tokyo) == (date(2026, 3, 9), None)
    assert Period.of_range(tokyo, until=EARLIEST).local_days(tokyo) == (None, date.min)


def test_a_zone_is_named_as_on_the_day() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert zone_abbreviation(date(2026, 1, 10), paris) == "CET"
    assert zone_abbreviation(date(2026, 7, 10), paris) == "CEST"
    assert zone_abbreviation(date(2026, 7, 10), ZoneInfo("America/Santiago")) == "-04"
