"""The one switch for Biowire's fast paths: code of ours that stands in for a library's own
and gives exactly the library's results, kept because a benchmark showed it pays (the
figures are in BENCHMARKS.md). Each lives in one clearly named module:

- `aggregator.ingest.feedparser_speedups`: faster paths through feedparser's helpers,
  installed only inside the parse workers, never at import;
- `aggregator.classify.fast_tfidf`: the vectorised TF-IDF transform, in place of
  scikit-learn's `transform`;
- `models.sqlite_driver`: the poll's small lookups and bulk inserts sent to SQLite's driver
  directly, in place of SQLAlchemy's execution;
- `aggregator.ingest.fetch`'s `FeedClient.open_feed`, in place of httpx's `AsyncClient.send`.

On by default. `BIOWIRE_FAST_PATHS=0` runs every library exactly as shipped, which is how
a suspected fast-path bug is ruled in or out. Never at import: a process sets the switch
from its settings where it starts its work, in these places only:

- each `biowire` command, first thing (`aggregator.cli.common.load_settings`);
- `aggregator.service.open_database`, where every use case of the service starts (a poll,
  tagging, training; the server's poller; a script or a test);
- each parse worker, given its pool's switch as it starts (`parse_pool.start_worker`).

The web app takes no fast path, so it leaves the switch alone. The equivalence tests run
both ways.
"""

from __future__ import annotations

from models import sqlite_driver

_enabled = True


def enabled() -> bool:
    """Whether this process takes the fast paths."""
    return _enabled


def set_enabled(flag: bool) -> None:
    """Take the fast paths (True) or the libraries' own code (False) from now on, in this
    process. The parse workers are told by their pool, when they start."""
    global _enabled
    _enabled = flag
    sqlite_driver.set_enabled(flag)  # `models` has a switch of its own: it never imports us
