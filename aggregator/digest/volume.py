"""How many articles a topic had on each of its last days, the days being those of the
site's time zone (`BIOWIRE_TIMEZONE`): an article published at 23:30 UTC falls on the next
day in Paris, and a day that gains or loses an hour to daylight saving is still one day.

The database keeps each topic's count per UTC day (`topic_daily_counts`). When the zone's
days are UTC days over the whole span (UTC itself, or London in winter) those counts are
the answer; otherwise the articles' publication times over the span are read in one query
and counted by local day here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy.orm import Session

from aggregator.digest.days import local_day, midnight
from aggregator.digest.view import TopicInfo
from models.queries import daily_counts, topic_publication_times

VOLUME_DAYS = 30


@dataclass(frozen=True)
class DayCount:
    day: date
    articles: int


def last_days(today: date, days: int = VOLUME_DAYS) -> list[date]:
    """The `days` days that end with `today`, oldest first."""
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def count_by_local_day(
    moments: Iterable[datetime], days: Sequence[date], zone: tzinfo
) -> list[int]:
    """How many of `moments` fall on each of `days` in `zone`; moments on other days are
    left out."""
    position = {day: index for index, day in enumerate(days)}
    counts = [0] * len(days)
    for moment in moments:
        index = position.get(local_day(moment, zone))
        if index is not None:
            counts[index] += 1
    return counts


def days_are_utc_days(days: Sequence[date], zone: tzinfo) -> bool:
    """Whether each of `days` (consecutive) begins and ends at a UTC midnight in `zone`."""
    if not days:
        return True
    boundaries = [*days, days[-1] + timedelta(days=1)]
    return all(
        datetime.combine(day, time.min, tzinfo=zone).utcoffset() == timedelta(0)
        for day in boundaries
    )


def topic_volume(
    session: Session, topic: TopicInfo, zone: tzinfo, today: date, days: int = VOLUME_DAYS
) -> list[DayCount]:
    """Articles carrying `topic` on each of the `days` days ending with `today` (a day of
    `zone`), oldest first; a day without any counts zero."""
    span = last_days(today, days)
    if days_are_utc_days(span, zone):
        kept = daily_counts(session, topic.slug, span[0], span[-1])
        counts = [kept.get(day, 0) for day in span]
    else:
        start = midnight(span[0], zone)
        end = midnight(span[-1] + timedelta(days=1), zone)
        moments = topic_publication_times(session, topic.id, start, end)
        counts = count_by_local_day(moments, span, zone)
    return [DayCount(day, count) for day, count in zip(span, counts, strict=True)]
