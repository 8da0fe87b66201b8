"""Days as the digest's readers live them: a day begins and ends at midnight in the site's
time zone (`BIOWIRE_TIMEZONE`), and the database, which keeps every moment in UTC, is asked
for the UTC instants of those midnights.

A local day is not always 24 hours long: around a daylight-saving change it is 23 or 25,
and in a few zones the change happens at midnight itself, so that one midnight never
occurs. Each bound is therefore the zone's own midnight converted to UTC by `zoneinfo`
(the first moment of the day that exists), never the previous bound plus 24 hours; one
day's end is always the next day's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

# The bounds of the representable: a midnight that would fall outside them (the first day
# in a zone east of UTC, the day after the last) is clamped to them.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)


def midnight(day: date, zone: tzinfo) -> datetime:
    """The UTC instant at which `day` begins in `zone`."""
    try:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return EARLIEST if day.year == date.min.year else LATEST


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The UTC instants at which `day` begins and ends in `zone` (the end excluded)."""
    if day == date.max:  # there is no day after it to begin
        return midnight(day, zone), LATEST
    return midnight(day, zone), midnight(day + timedelta(days=1), zone)


def in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` on the clocks of `zone` (in UTC if they cannot show it: year 1 or 9999)."""
    try:
        return moment.astimezone(zone)
    except OverflowError:
        return moment.astimezone(UTC)


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The day in `zone` that `moment` (aware) falls on."""
    try:
        return moment.astimezone(zone).date()
    except OverflowError:  # a moment of the first or last day, in a zone that leaves them
        return date.min if moment.year == date.min.year else date.max


def today(zone: tzinfo, now: datetime | None = None) -> date:
    return local_day(now or datetime.now(UTC), zone)


def zone_abbreviation(day: date, zone: tzinfo) -> str:
    """What `zone` is called on `day` ("CET", "CEST", "JST"; "+03" where the zone has no
    name): taken at noon, the hour no daylight-saving change falls on."""
    return datetime.combine(day, time(12), tzinfo=zone).tzname() or str(zone)


@dataclass(frozen=True)
class Period:
    """The time a digest page covers: one local `day`, or a range from `since` to `until`
    (UTC instants, either open) when the reader asked for one."""

    since: datetime | None
    until: datetime | None
    day: date | None = None

    @classmethod
    def of_day(cls, day: date, zone: tzinfo) -> Period:
        start, end = day_bounds(day, zone)
        return cls(start, end, day)

    @classmethod
    def of_range(
        cls,
        zone: tzinfo,
        first: date | None = None,
        last: date | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Period:
        """From the beginning of local day `first` to the end of `last` (both included),
        narrowed by the instants `since` and `until` when they are given too."""
        bounds_since = [since] if since else []
        bounds_until = [until] if until else []
        if first is not None:
            bounds_since.append(day_bounds(first, zone)[0])
        if last is not None:
            bounds_until.append(day_bounds(last, zone)[1])
        return cls(max(bounds_since, default=None), min(bounds_until, default=None))

    def local_days(self, zone: tzinfo) -> tuple[date | None, date | None]:
        """The first and last local days the period touches (None where it is open)."""
        first = local_day(self.since, zone) if self.since else None
        # `until` is excluded: a range ending at a midnight ends on the day before it.
        last = None
        if self.until is not None:
            end = self.until - timedelta(microseconds=1) if self.until > EARLIEST else EARLIEST
            last = local_day(end, zone)
        return first, last
