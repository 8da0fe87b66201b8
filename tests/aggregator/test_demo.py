from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import pytest

from aggregator.demo import SAMPLE_FILES, sample_documents


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 11, 28, 0, 20, tzinfo=UTC), datetime(2026, 11, 28, 23, 50, tzinfo=UTC)],
    ids=["just-after-midnight", "late-evening"],
)
def test_sample_spans_the_fortnight_ending_now_and_today_is_never_empty(now: datetime) -> None:
    documents = sample_documents(now)
    assert sorted(documents) == sorted(f"/{name}" for name in SAMPLE_FILES)
    dates = []
    for body in documents.values():
        parsed = feedparser.parse(body)
        assert not parsed.bozo
        dates += [datetime(*e.published_parsed[:6], tzinfo=UTC) for e in parsed.entries]
    assert len(dates) >= 80
    assert max(dates) <= now
    assert sum(d.date() == now.date() for d in dates) >= 5
    assert (now.date() - min(dates).date()).days == 13
