"""Full-text search on both dialects: what a query finds, in what order, with which words
marked, page after page; and no input, however malformed, makes the database fail.

Each test runs in a transaction rolled back after it: on a copy of the migrated SQLite
template, and on a PostgreSQL database made for this module (see
`tests/fixtures/postgres.py`: skipped, or failed where required, without a server)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Article, make_engine
from models.queries import ArticleFilter, SearchCursorError, list_articles
from models.search import (
    MARK_END,
    MARK_START,
    SearchQueryError,
    highlighted_snippets,
    rank_of,
    search_matches,
)
from tests.fixtures.postgres import scratch_database

NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)
# Articles about other things, so that the words searched for are rare enough for the
# rankings to weigh them (bm25 gives a word in most rows next to nothing).
FILLER = [
    ("Quarterly results beat forecasts", "Revenue grew on strong demand for payment cards."),
    ("Standards body publishes draft", "The committee invites comments until the spring."),
    ("Vendor opens office in Singapore", "The company hires engineers for its new team."),
    ("Conference programme announced", "Speakers include regulators and researchers."),
    ("Research paper on presentation attacks", "A dataset of masks and printed photos."),
    ("Bank adopts voice authentication", "Customers enrol by repeating a passphrase."),
]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with scratch_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def session(request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session in a transaction that is rolled back after the test."""
    fixture = "database_url" if request.param == "sqlite" else "postgres_url"
    engine = make_engine(request.getfixturevalue(fixture))
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()
    engine.dispose()


_KEYS = itertools.count()


def add(session: Session, title: str, text: str = "", hours_ago: float = 0) -> int:
    article = Article(
        dedup_key=f"https://news.example.org/{next(_KEYS)}",
        title=title, text=text, content_hash="0" * 64,
        published_at=NOON - timedelta(hours=hours_ago),
    )  # fmt: skip
    session.add(article)
    session.flush()
    return article.id


def add_filler(session: Session) -> None:
    for index, (title, text) in enumerate(FILLER):
        add(session, title, text, hours_ago=100 + index)


def titles(session: Session, q: str, **view: object) -> list[str]:
    found = list_articles(session, ArticleFilter(query=q, **view), limit=200)  # type: ignore[arg-type]
    return [a.title for a in found]


def test_words_are_all_required_and_a_phrase_keeps_its_order(session: Session) -> None:
    add_filler(session)
    add(session, "Face matching at the gates", "Passengers board with a selfie.")
    add(session, "Gates matching each face", "A new kiosk checks every passenger.")
    add(session, "Face recognition in retail", "Shops scan customers.")

    assert set(titles(session, "face matching")) == {
        "Face matching at the gates", "Gates matching each face",
    }  # fmt: skip
    assert titles(session, '"face matching"') == ["Face matching at the gates"]
    assert titles(session, '"matching face"') == []


def test_excluded_words_and_phrases_take_articles_out(session: Session) -> None:
    add_filler(session)
    add(session, "Airport strike delays flights", "Unions call a strike at the airport.")
    add(session, "Airport opens e-gates", "Border control is faster at the airport.")
    add(session, "Airport lounge refit", "The airport renews its lounges.")

    assert set(titles(session, "airport -strike")) == {
        "Airport opens e-gates", "Airport lounge refit",
    }  # fmt: skip
    assert set(titles(session, 'airport -"border control"')) == {
        "Airport strike delays flights", "Airport lounge refit",
    }  # fmt: skip
    # Two words excluded: neither may appear, but each alone is no phrase.
    assert titles(session, "airport -border -strike") == ["Airport lounge refit"]


def test_or_accepts_either_and_binds_tighter_than_and(session: Session) -> None:
    add_filler(session)
    add(session, "Airport adds kiosks", "Self-service kiosks at check-in.")
    add(session, "Airport adds gates", "New gates at departures.")
    add(session, "Station adds gates", "New gates at the station.")
    add(session, "Airport adds lounges", "More space for passengers.")

    assert set(titles(session, "kiosks OR gates")) == {
        "Airport adds kiosks", "Airport adds gates", "Station adds gates",
    }  # fmt: skip
    # airport AND (kiosks OR gates), not (airport AND kiosks) OR gates.
    assert set(titles(session, "airport kiosks OR gates")) == {
        "Airport adds kiosks", "Airport adds gates",
    }  # fmt: skip
    # In lower case it is a word, which no article here holds.
    assert titles(session, "kiosks or gates") == []


def test_words_are_found_by_their_stem(session: Session) -> None:
    add_filler(session)
    add(session, "Airport trials biometric boarding", "One gate at first.")
    add(session, "Regional airports join the scheme", "Boarding by face from May.")

    both = {"Airport trials biometric boarding", "Regional airports join the scheme"}
    assert set(titles(session, "airports")) == both
    assert set(titles(session, "airport")) == both
    assert set(titles(session, "boards")) == both


def test_a_match_in_the_title_outranks_one_in_the_text(session: Session) -> None:
    add_filler(session)
    # The body match is the newer one: only the rank can put the title match first.
    in_title = add(session, "Hikvision cameras banned", "Agencies must replace them.", 2)
    in_text = add(session, "Agencies replace cameras", "The Hikvision models must go.", 1)

    found = list_articles(session, ArticleFilter(query="hikvision"))
    assert [a.id for a in found] == [in_title, in_text]
    title_rank, text_rank = (
        rank_of(session, "hikvision", in_title),
        rank_of(session, "hikvision", in_text),
    )
    assert title_rank is not None and text_rank is not None
    assert title_rank > text_rank > 0
    assert rank_of(session, "hikvision", found[0].id + 1000) is None


def test_search_narrows_the_other_filters(session: Session) -> None:
    add_filler(session)
    add(session, "Airport gates", "At the airport.", hours_ago=30)
    add(session, "Departures", "New lounges at the airport.", hours_ago=1)
    add(session, "Old airport news", "At the airport.", hours_ago=50)
    add(session, "Lounges", "No match here.", hours_ago=1)

    window = {"start": NOON - timedelta(hours=40), "end": NOON + timedelta(hours=1)}
    assert titles(session, "airport", **window) == ["Airport gates", "Departures"]
    matches = search_matches(session, "airport")
    ranked = dict(session.execute(select(matches.c.article_id, matches.c.rank)).all())
    assert len(ranked) == 3 and all(rank > 0 for rank in ranked.values())


def test_equal_ranks_are_ordered_newest_first(session: Session) -> None:
    add_filler(session)
    ids = [add(session, "Same headline", "Same airport story.", hours) for hours in (5, 1, 3)]
    same_time = [add(session, "Same headline", "Same airport story.", 1) for _ in range(2)]

    found = [a.id for a in list_articles(session, ArticleFilter(query="airport"))]
    assert found == [same_time[1], same_time[0], ids[1], ids[2], ids[0]]


def test_pages_after_before_give_every_match_once_in_rank_order(session: Session) -> None:
    add_filler(session)
    # Ranks of every kind: distinct, tied with distinct times, tied at the same time.
    for n in range(30):
        repeats = " ".join(["airport"] * (1 + n % 4))
        add(session, f"Story {n}" + (" airport" if n % 5 == 0 else ""),
            f"{repeats} and other words {n % 3}", hours_ago=n % 7)  # fmt: skip
    view = ArticleFilter(query="airport")
    everything = [a.id for a in list_articles(session, view, limit=200)]

    paged: list[int] = []
    before = None
    while True:
        page = list_articles(session, view, limit=7, before=before)
        paged += [a.id for a in page]
        if len(page) < 7:
            break
        before = page[-1]
    assert paged == everything and len(set(paged)) == 30

    ranks = {i: rank_of(session, "airport", i) for i in paged}
    by_id = {a.id: a for a in list_articles(session, view, limit=200)}
    keys = [(ranks[i], by_id[i].published_at, i) for i in paged]
    assert keys == sorted(keys, reverse=True)


def test_before_outside_the_matches_is_refused(session: Session) -> None:
    add_filler(session)
    add(session, "Airport gates", "At the airport.")
    other = session.get_one(Article, add(session, "Payments news", "Cards."))
    with pytest.raises(SearchCursorError, match="not among the search's matches"):
        list_articles(session, ArticleFilter(query="airport"), before=other)


def test_snippets_mark_the_matched_words_of_the_text(session: Session) -> None:
    add_filler(session)
    words = [f"word{n}" for n in range(200)]
    long_text = " ".join(words[:100] + ["airports"] + words[100:])
    deep = add(session, "Biometrics roundup", long_text)
    short = add(session, "Gates", "New gates at the airport of Lyon.")
    only_title = add(session, "Airport news", "Nothing more to say here.")
    forged = add(session, "Forged", f"The airport and a {MARK_START}forged{MARK_END} mark.")
    unrelated = add(session, "Payments", "Cards.")

    asked = [deep, short, only_title, forged, unrelated]
    snippets = highlighted_snippets(session, "airport", asked)
    assert set(snippets) == {deep, short, only_title, forged}
    assert snippets[short] == f"New gates at the {MARK_START}airport{MARK_END} of Lyon."
    # Around the match, about thirty words, cut with an ellipsis where the text goes on.
    assert f"{MARK_START}airports{MARK_END}" in snippets[deep]
    assert snippets[deep].startswith("…") and snippets[deep].endswith("…")
    assert 20 <= len(snippets[deep].split()) <= 40
    # A match in the title alone: the text's beginning, nothing marked.
    assert snippets[only_title] == "Nothing more to say here."
    # Marker characters of the text itself are gone: every marker left is a match.
    assert snippets[forged].count(MARK_START) == snippets[forged].count(MARK_END) == 1
    assert f"{MARK_START}airport{MARK_END}" in snippets[forged]
    assert highlighted_snippets(session, "airport", []) == {}


MALFORMED = [
    '"unclosed', "-", "OR", "*", "NEAR(", "title:x", '"', "🙂", "a" * 5000, "airport " * 300,
    "x" * 999, "airport OR", "OR airport", "-airport", 'airport -"', "airport - -", "NOT",
    "AND", "(", ")", "^airport", "airport*", "{title text}: airport", '"a\\" b"', "\\",
    "air\x00port", "e\ud800gate", "'; DROP TABLE articles; --", "'", "%_", "NEAR(a b, 2)",
    "title:airport OR text:gates", '"airport" + "gates"', "a:b:c", "::", "!airport",
    "airport & gates | lounges", "airport <-> gates", "-(a OR b)", "-- airport", "...",
]  # fmt: skip


@pytest.mark.parametrize("q", MALFORMED, ids=lambda q: repr(q[:24]))
def test_no_query_makes_the_database_fail(session: Session, q: str) -> None:
    add_filler(session)
    article = add(session, "Airport gates", "E-gates and kiosks at the airport.")
    try:
        found = list_articles(session, ArticleFilter(query=q))
    except SearchQueryError as error:
        assert str(error).startswith("a search ")
        return
    highlighted_snippets(session, q, [a.id for a in found] + [article])
    rank_of(session, q, article)


# Pieces of every grammar the databases know, and characters drivers dislike.
_PIECES = st.sampled_from(
    ['"', "-", "OR", "AND", "NOT", "NEAR(", "*", "^", "(", ")", ":", "title:", "text:", "{",
     "}", "+", "&", "|", "!", "<->", "\\", "'", "%", "_", "\x00", "\x02", "🙂", "é", "e\u0301",
     " ", " ", "airport", "gate", "the"]
)  # fmt: skip
QUERIES = st.one_of(st.text(max_size=60), st.lists(_PIECES | st.text(max_size=4)).map("".join))


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(q=QUERIES)
def test_any_string_is_a_search_or_a_search_query_error(session: Session, q: str) -> None:
    if not session.info.get("seeded"):  # once for every example (the fixture is the test's)
        add_filler(session)
        add(session, "Airport gates", "E-gates and kiosks at the airport.")
        session.info["seeded"] = True
    try:
        found = list_articles(session, ArticleFilter(query=q))
        highlighted_snippets(session, q, [a.id for a in found])
    except SearchQueryError:
        pass
