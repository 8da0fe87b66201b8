"""Every file of the shared real-world corpus, served over HTTP and polled in one run.

For each file feedparser reads with entries, the articles stored for its source must carry
the titles feedparser reads (normalised as Biowire normalises every title), entry by entry:
the entry's guid finds the article linked to the source, and that article's title must be
the entry's. Where Biowire stores one article for several entries (the same story in two
files, or a guid repeated within one file, which is the same item edited), the stored title
must be the title of one of those entries, and the test counts those cases apart. Each file
feedparser cannot read must leave a readable error on its source. The run is made twice:
with the fast paths, and with every library as shipped.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from aggregator.ingest.parse_pool import ParsePool
from aggregator.service import Database, poll_once
from aggregator.settings import Settings
from models import Article, ArticleSource, Source, session_scope
from tests.aggregator.helpers import add_sources
from tests.conftest import both_paths
from tests.fixtures.corpus import CORPUS_ROOT, CorpusFile, FeedparserView, corpus_files
from tests.fixtures.corpus import feedparser_view as view_of
from tests.fixtures.required import REQUIRE_CORPUS, unavailable
from tests.fixtures.servers import Exchange, LoopbackServer


@pytest.fixture(scope="module")
def files() -> list[CorpusFile]:
    if not CORPUS_ROOT.is_dir():
        unavailable(f"the shared feed corpus is not at {CORPUS_ROOT}", REQUIRE_CORPUS)
    return corpus_files()


@pytest.fixture
def corpus_server(files: list[CorpusFile]) -> Iterator[LoopbackServer]:
    by_path = {f.path: f for f in files}

    def answer(exchange: Exchange) -> None:
        served = by_path.get(exchange.path)
        if served is None:
            exchange.respond(404, b"not in the corpus")
        else:
            exchange.respond(200, served.served, served.headers)

    with LoopbackServer(fallback=answer) as server:
        yield server


@both_paths
def test_every_corpus_file_is_polled_in_one_run(
    settings: Settings, db: Database, corpus_server: LoopbackServer, files: list[CorpusFile]
) -> None:
    source_ids = add_sources(db, *(corpus_server.url(f.path) for f in files))
    assert len(set(source_ids)) == len(files)
    # One host serves the whole corpus: lift the per-host limit so the run is quick.
    run_settings = settings.model_copy(update={"per_host_concurrency": 32, "total_timeout": 30.0})

    with ParsePool() as pool:
        summary = asyncio.run(poll_once(run_settings, db, everything=True, parse_executor=pool))
        views = list(
            pool.map(
                view_of,
                [f.body for f in files],
                [f.headers for f in files],
                [corpus_server.url(f.path) for f in files],
                chunksize=16,
            )
        )

    assert len(summary.outcomes) == len(files)
    internal = [o for o in summary.outcomes if o.error and o.error.startswith("internal error")]
    assert internal == []
    with session_scope(db.factory) as session:
        sources = {s.id: s for s in session.scalars(select(Source))}
        titles = {row.id: row.title for row in session.execute(select(Article.id, Article.title))}
        links = session.execute(
            select(ArticleSource.source_id, ArticleSource.guid, ArticleSource.article_id)
        ).all()
        article_by_guid: dict[int, dict[str, int]] = defaultdict(dict)
        for source_id, guid, article_id in links:
            article_by_guid[source_id][guid] = article_id

    # Every title any file gives to an entry that was stored as a given article.
    titles_for_article: dict[int, set[str]] = defaultdict(set)
    for source_id, view in zip(source_ids, views, strict=True):
        for guid, title in view.entries:
            if guid in article_by_guid[source_id]:
                titles_for_article[article_by_guid[source_id][guid]].add(title)

    tally: Counter[str] = Counter()
    problems: list[str] = []
    for corpus_file, source_id, view in zip(files, source_ids, views, strict=True):
        source = sources[source_id]
        assert source.last_polled_at is not None, corpus_file.relative
        if view.entries:
            tally["files read with entries"] += 1
            problems += _compare_titles(corpus_file, source, view, article_by_guid, titles,
                                        titles_for_article, tally)  # fmt: skip
        else:
            tally["files without entries"] += 1
            problems += _check_unreadable(corpus_file, source, view, tally)

    print("\ncorpus:", dict(sorted(tally.items())))
    errors = Counter(s.last_error[:60] for s in sources.values() if s.consecutive_failures)
    print("recorded errors:", errors.most_common(12))
    assert problems == [], "\n".join(problems[:40])
    # Guards against a comparison that silently compares nothing.
    assert tally["entries whose stored title is feedparser's"] > 2500


def _compare_titles(
    corpus_file: CorpusFile,
    source: Source,
    view: FeedparserView,
    article_by_guid: dict[int, dict[str, int]],
    titles: dict[int, str],
    titles_for_article: dict[int, set[str]],
    tally: Counter[str],
) -> list[str]:
    name = corpus_file.relative
    if source.consecutive_failures or source.last_status != 200:
        return [f"{name}: feedparser reads it, but polling failed: {source.last_error}"]
    problems = []
    guid_counts = Counter(guid for guid, _ in view.entries)
    linked = article_by_guid[source.id]
    problems += _compare_unkeyed(name, view, linked, titles, tally)
    for guid, title in view.entries:
        if not guid:
            continue
        article_id = linked.get(guid)
        if article_id is None:
            if title:
                problems.append(f"{name}: entry {guid!r} ({title!r}) was not stored")
            else:
                tally["entries without title or URL, not stored"] += 1
            continue
        stored = titles[article_id]
        if not title:
            tally["entries without a title (stored with their opening words)"] += 1
        elif stored == title:
            tally["entries whose stored title is feedparser's"] += 1
        elif stored in titles_for_article[article_id] and (
            guid_counts[guid] > 1 or len(titles_for_article[article_id]) > 1
        ):
            tally["entries stored as one article with another entry (title of that entry)"] += 1
        else:
            problems.append(f"{name}: entry {guid!r}: stored {stored!r}, feedparser {title!r}")
    return problems


def _compare_unkeyed(
    name: str,
    view: FeedparserView,
    linked: dict[str, int],
    titles: dict[int, str],
    tally: Counter[str],
) -> list[str]:
    """Entries with neither id nor link are keyed by a hash of title and date, so there is no
    guid to pair them by: compare their titles as sets. Untitled ones are stored under
    their opening words, which feedparser has no title for."""
    expected = {title for guid, title in view.entries if not guid and title}
    untitled = sum(1 for guid, title in view.entries if not guid and not title)
    stored = {titles[a] for guid, a in linked.items() if guid.startswith("sha256:")}
    if not expected <= stored or len(stored - expected) > untitled:
        return [f"{name}: entries without id or link: stored {sorted(stored)[:5]!r}, "
                f"feedparser {sorted(expected)[:5]!r}"]  # fmt: skip
    tally["entries without id or link whose title is feedparser's"] += len(expected)
    return []


def _check_unreadable(
    corpus_file: CorpusFile, source: Source, view: FeedparserView, tally: Counter[str]
) -> list[str]:
    name = corpus_file.relative
    if view.version:
        # A feed with no entries is a feed, not a failure: polled, nothing stored.
        tally["feeds without entries, polled without failure"] += 1
        return [] if source.consecutive_failures == 0 else [f"{name}: {source.last_error}"]
    if not source.last_error or not source.consecutive_failures:
        return [f"{name}: feedparser cannot read it, but no failure was recorded"]
    if len(source.last_error) > 500 or "Traceback" in source.last_error:
        return [f"{name}: unreadable error {source.last_error!r}"]
    tally["unreadable files with a recorded error"] += 1
    return []
