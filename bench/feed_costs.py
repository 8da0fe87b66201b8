"""What one feed costs each step of a poll, in one process: `python -m bench.feed_costs`.

The poll benchmark's feeds (20 items, ~22 KB each) go through feedparser as the floor runs
it, `parse_feed`, `prepare_feed` (parse and tag with the shipped model), and
`writer.apply_writes` (storing, with the tagging hook) into a fresh SQLite file, committed
`--group` feeds at a time (5 by default, as the poll's writer groups them when busy).
`BIOWIRE_FAST_PATHS=0` measures the libraries as shipped.
Figures are CPU milliseconds a feed, the best of three passes (the store: one pass, since a
second would find every article stored).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from bench.poll import feed_document


def _best_ms(bodies: list[bytes], step: Callable[[bytes], object], passes: int = 3) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        for body in bodies:
            step(body)
        best = min(best, time.process_time() - started)
    return best / len(bodies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--group", type=int, default=5, help="feeds stored per commit")
    args = parser.parse_args()
    now = datetime.now(UTC)
    bodies = [feed_document(number, 0, now) for number in range(args.feeds)]
    # feedparser as shipped, before this process installs the parse workers' faster paths.
    floor = _best_ms(bodies, feedparser.parse)

    from aggregator import speedups
    from aggregator.classify.registry import ensure_model
    from aggregator.classify.tagging import TagNewArticles, topic_ids
    from aggregator.database import upgrade_database
    from aggregator.ingest import feedparser_speedups, parse_pool
    from aggregator.ingest.parse import parse_feed
    from aggregator.ingest.results import Changed, SourceSnapshot
    from aggregator.ingest.schedule import PollPolicy, decide
    from aggregator.ingest.storage import RefreshWrite, add_source
    from aggregator.ingest.writer import apply_writes
    from aggregator.service import open_database
    from aggregator.settings import Settings
    from aggregator.taxonomy import default_taxonomy
    from models import session_scope

    feed_url, headers = "http://feeds.example/f.xml", {"content-type": "application/rss+xml"}
    with tempfile.TemporaryDirectory(prefix="biowire-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'costs.db'}"
        upgrade_database(url)
        db = open_database(Settings(database_url=url))
        with session_scope(db.factory) as session:
            model, _ = ensure_model(session, default_taxonomy())
            model_id, blob = model.id, model.blob
            topics = topic_ids(session)
            sources = [add_source(session, f"http://feeds.example/{n}.xml")[0].id
                       for n in range(args.feeds)]  # fmt: skip
        parse_pool.install_model(model_id, blob)
        # This process parses as a parse worker does: with feedparser's faster paths while
        # the fast paths are on (`open_database` set the switch from BIOWIRE_FAST_PATHS).
        if speedups.enabled():
            feedparser_speedups.install()

        def parsed(body: bytes) -> object:
            return parse_feed(feed_url, body, headers)

        def prepared(body: bytes) -> parse_pool.PreparedFeed:
            return parse_pool.prepare_feed(feed_url, body, headers, model_id)

        print(f"{args.feeds} feeds of 20 items, CPU ms a feed (best of 3):")
        print(f"  feedparser.parse, as the floor runs it   {floor:6.2f}")
        print(f"  parse_feed (feedparser + normalising)    {_best_ms(bodies, parsed):6.2f}")
        print(f"  prepare_feed (parse_feed + tagging)      {_best_ms(bodies, prepared):6.2f}")

        # Each feed as the poll's writer gets it: a changed feed with its entries' tags,
        # stored with its source's update and tagged by the after-store hook.
        writes = []
        for source_id, body in zip(sources, bodies, strict=True):
            feed = prepared(body)
            assert feed.tags is not None
            source = SourceSnapshot(source_id, f"http://feeds.example/{source_id}.xml")
            result = Changed(200, feed.feed, None, None, None, tags=feed.tags, tagged_by=model_id)
            writes.append(RefreshWrite(source, result, decide(result, source, PollPolicy(), now)))
        hooks = [TagNewArticles(model_id, topics)]
        started = time.process_time()
        for first in range(0, len(writes), args.group):
            with session_scope(db.factory) as session:
                apply_writes(session, writes[first : first + args.group], hooks)
        stored = (time.process_time() - started) / len(writes) * 1000
        print(f"  apply_writes, {args.group} feeds a commit {stored:18.2f}")
        db.close()


if __name__ == "__main__":
    main()
