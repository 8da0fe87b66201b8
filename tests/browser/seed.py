"""The site the browser tests read: three trade feeds over three consecutive days (the day
before yesterday, yesterday and today, UTC), one story carried by two of them, and one
whose headline looks like markup and whose summary holds a script.

Stored the way a poll stores them, minus the network: each feed's document is written
(`tests.fixtures.feeds.rss`), parsed by `parse_feed` (which sanitises it) and stored by
`store_entries` (which links a story two feeds carry to both). Their topics are the
model's, written by `insert_model_tags` with chosen scores and reasons rather than
predicted, so that every filter's answer is known here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from aggregator.classify.tagging import insert_model_tags, mark_classified, topic_ids
from aggregator.classify.types import TopicScore
from aggregator.ingest.parse import parse_feed
from aggregator.ingest.sources import add_source
from aggregator.ingest.storage import store_entries
from aggregator.ingest.urls import canonical_url
from aggregator.service import Database
from models import Article, ClassifierModel, session_scope
from tests.fixtures.feeds import Item, rss


@dataclass(frozen=True)
class Feed:
    key: str
    url: str
    title: str


@dataclass(frozen=True)
class Story:
    key: str
    title: str
    link: str
    summary: str
    day: int  # 0: the day before yesterday, 1: yesterday, 2: today
    feeds: tuple[str, ...]
    topics: tuple[TopicScore, ...]


GATEHOUSE = Feed("gatehouse", "https://gatehouse.example.org/feed.xml", "Gatehouse Weekly")
LEDGER = Feed("ledger", "https://ledger.example.net/rss", "Identity Ledger")
SENSORS = Feed("sensors", "https://sensorbrief.example.com/feed", "Sensor Brief")
FEEDS = (GATEHOUSE, LEDGER, SENSORS)


def _tag(slug: str, score: float, *why: str) -> TopicScore:
    return TopicScore(slug, score, why)


HOSTILE_TITLE = "<img src=x onerror=alert(1)>"

STORIES = (
    Story(
        "palm-vein", "Port authority trials palm-vein entry for dock workers",
        "https://gatehouse.example.org/2026/port-palm-vein",
        "Dock workers at the container terminal badge in with a palm scan during a "
        "six-month trial.",
        0, ("gatehouse",),
        (_tag("border-control", 0.81, "port", "entry"),
         _tag("devices-sensors", 0.55, "palm", "scan")),
    ),
    Story(
        "wallet-levels", "Draft wallet rules name three assurance levels",
        "https://ledger.example.net/wallet-assurance-levels",
        "The consultation asks issuers which checks each level should require.",
        0, ("ledger",),
        (_tag("digital-id", 0.88, "wallet", "assurance"),
         _tag("privacy-regulation", 0.42, "draft", "rules")),
    ),
    Story(
        "injection-results", "Liveness vendor publishes injection-attack test results",
        "https://sensorbrief.example.com/injection-attack-results",
        "Virtual-camera attacks were stopped in all but two of four hundred attempts.",
        0, ("sensors",),
        (_tag("liveness-fraud", 0.90, "liveness", "injection"),),
    ),
    Story(
        "rail-check-in", "Rail operator drops face check-in after privacy complaint",
        "https://gatehouse.example.org/2026/rail-face-check-in",
        "Passengers had not been told how long their face templates were kept.",
        1, ("gatehouse", "ledger"),
        (_tag("airports-travel", 0.77, "rail", "passengers"),
         _tag("privacy-regulation", 0.64, "complaint", "privacy"),
         _tag("facial-recognition", 0.50, "face")),
    ),
    Story(
        "council-pause", "City council pauses police face-search contract",
        "https://ledger.example.net/council-pauses-face-search",
        "Councillors want an audit of the supplier's accuracy figures before any renewal.",
        1, ("ledger",),
        (_tag("law-enforcement", 0.83, "police"),
         _tag("government-contracts", 0.47, "council", "contract")),
    ),
    Story(
        "laptop-sensor", "Sensor maker ships under-display fingerprint module for laptops",
        "https://sensorbrief.example.com/under-display-laptop-module",
        "The module reads a finger through the screen glass and needs no separate button.",
        1, ("sensors",),
        (_tag("devices-sensors", 0.86, "sensor", "fingerprint"),),
    ),
    Story(
        "ferry-gates", "Border agency extends e-gates to coastal ferry terminals",
        "https://gatehouse.example.org/2026/ferry-terminal-egates",
        "Travellers with chipped passports can use the gates at four ports from next month.",
        2, ("gatehouse",),
        (_tag("border-control", 0.91, "e-gates", "border"),
         _tag("airports-travel", 0.60, "travellers", "terminals")),
    ),
    Story(
        "selfie-transfers", "Bank lets customers approve large transfers with a selfie",
        "https://ledger.example.net/selfie-approved-transfers",
        "A face match and a liveness check replace the one-time code for payments over a "
        "set limit.",
        2, ("ledger",),
        (_tag("payments-finance", 0.84, "bank", "transfers"),
         _tag("facial-recognition", 0.52, "selfie"),
         _tag("liveness-fraud", 0.40, "liveness")),
    ),
    Story(
        "attack-scoring", "Standards body opens consultation on presentation-attack scoring",
        "https://sensorbrief.example.com/attack-scoring-consultation",
        "Comments are invited on how error rates for spoofed samples should be reported.",
        2, ("sensors",),
        (_tag("research-standards", 0.79, "standards", "consultation"),
         _tag("liveness-fraud", 0.62, "presentation", "attack")),
    ),
    Story(
        "resident-app", "Resident identity app passes two million downloads",
        "https://ledger.example.net/resident-app-two-million",
        "The app stores a verified credential that residents show at counters and online.",
        2, ("ledger",),
        (_tag("digital-id", 0.87, "identity", "credential"),),
    ),
    Story(
        "hostile", HOSTILE_TITLE,
        "https://sensorbrief.example.com/markup-in-headlines",
        "<p>A headline that looks like markup is still words: &lt;script&gt; tags in a "
        'feed are text, never code.</p><script>alert("summary")</script>',
        2, ("sensors",),
        (_tag("research-standards", 0.58, "markup"),),
    ),
)  # fmt: skip
STORY = {story.key: story for story in STORIES}
# The words of the hostile story's summary that reach the page, as text.
HOSTILE_TEXT = "<script> tags in a feed are text, never code."

# Which stories a search finds (its words in their titles or text, and nowhere else).
SEARCHES = {
    "ferry": {"ferry-gates"},
    "attack": {"injection-results", "attack-scoring"},
}


@dataclass(frozen=True)
class SeededSite:
    """What the seeded database holds: the three days, and each story's article id."""

    days: tuple[date, date, date]
    ids: Mapping[str, int]

    def key_of(self, article_id: int) -> str:
        return next(key for key, id_ in self.ids.items() if id_ == article_id)

    def expected(self, day: int, topics: tuple[str, ...] = (), q: str | None = None) -> set[str]:
        """The stories a view of day `day` lists: those with any of `topics` (all without),
        that the search `q` finds."""
        return {
            story.key
            for story in STORIES
            if story.day == day
            and (not topics or any(tag.slug in topics for tag in story.topics))
            and (q is None or story.key in SEARCHES[q])
        }


def seed(database: Database, now: datetime) -> SeededSite:
    """Store every feed's stories in `database` (migrated, with an active model) and tag
    them; returns where they are."""
    today = now.astimezone(UTC).date()
    days = (today - timedelta(days=2), today - timedelta(days=1), today)
    with session_scope(database.factory) as session:
        for feed in FEEDS:
            source, _ = add_source(session, feed.url, title=feed.title)
            items = [_item(story, days, now) for story in STORIES if feed.key in story.feeds]
            parsed = parse_feed(feed.url, rss(items, title=feed.title), now=now)
            store_entries(session, source.id, parsed.entries, now)
        stored = {url: id_ for url, id_ in session.execute(select(Article.url, Article.id))}
        titles = {id_: title for id_, title in session.execute(select(Article.id, Article.title))}
        ids = {story.key: stored[canonical_url(story.link)] for story in STORIES}
        assert len(stored) == len(STORIES), "a story two feeds carry is stored once"
        for story in STORIES:  # the pipeline kept each headline word for word
            assert titles[ids[story.key]] == story.title, titles[ids[story.key]]
        model_id = session.scalars(
            select(ClassifierModel.id).where(ClassifierModel.is_active)
        ).one()
        insert_model_tags(
            session, model_id, topic_ids(session),
            [(ids[story.key], story.topics) for story in STORIES],
        )  # fmt: skip
        mark_classified(session, list(ids.values()), model_id)
    return SeededSite(days, ids)


def _item(story: Story, days: tuple[date, date, date], now: datetime) -> Item:
    # A feed's title is HTML: a headline that shows markup as words arrives escaped.
    return Item(
        html.escape(story.title, quote=False), story.link,
        summary=story.summary, published=_published(story, days, now),
    )  # fmt: skip


def _published(story: Story, days: tuple[date, date, date], now: datetime) -> datetime:
    """A moment of the story's day, a different one for each story of the day; today's
    all before `now`, whatever the hour."""
    rank = [s.key for s in STORIES if s.day == story.day].index(story.key) + 1
    midnight = datetime.combine(days[story.day], time.min, tzinfo=UTC)
    if story.day == 2:
        moment = midnight + (now - midnight) * rank / 7
    else:
        moment = midnight + timedelta(hours=7 + 2 * rank, minutes=10 * rank)
    return moment.replace(microsecond=0)
