"""feedparser's faster paths: installed only in the parse workers, and only with the fast
paths on; removable; and giving feedparser's own results, dict for dict, on the corpus."""

from __future__ import annotations

import copy
import subprocess
import sys
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
import feedparser.urls
import pytest

from aggregator.errors import ParseError
from aggregator.ingest import feedparser_speedups
from aggregator.ingest.parse import ParsedFeed, parse_feed
from aggregator.ingest.parse_pool import ParsePool
from tests.conftest import REPOSITORY_ROOT, both_paths
from tests.fixtures.corpus import CORPUS_ROOT, CorpusFile, corpus_files
from tests.fixtures.feedparser_state import feedparser_as_shipped, process_state
from tests.fixtures.required import REQUIRE_CORPUS, unavailable


@pytest.fixture(params=[True, False], ids=["tuned", "as-shipped"])
def tuned(request: pytest.FixtureRequest) -> Iterator[bool]:
    """feedparser with its faster paths installed in this process, or as shipped; as
    shipped again after the test."""
    if request.param:
        feedparser_speedups.install()
    yield request.param
    feedparser_speedups.uninstall()


_IMPORTS_EVERYTHING = """
import aggregator.cli.main, aggregator.ingest.parse, aggregator.ingest.parse_pool
import aggregator.service, web.app
from tests.fixtures.feedparser_state import feedparser_as_shipped
print(feedparser_as_shipped())
"""


def test_importing_biowire_leaves_feedparser_as_shipped() -> None:
    # A fresh interpreter, in this checkout: nothing is installed at import.
    ran = subprocess.run(
        [sys.executable, "-c", _IMPORTS_EVERYTHING],
        cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "True"


def test_install_puts_every_faster_path_in_place_and_uninstall_removes_them() -> None:
    assert feedparser_as_shipped()
    try:
        feedparser_speedups.install()
        joined = feedparser.urls._urljoin
        feedparser_speedups.install()  # again: nothing changes
        # If a feedparser release moves what one of them replaces, this says so.
        assert feedparser_speedups.is_tuned() and feedparser.urls._urljoin is joined
        assert joined("https://example.org/a/b", "../c") == "https://example.org/c"
    finally:
        feedparser_speedups.uninstall()
    assert feedparser_as_shipped() and not feedparser_speedups.is_tuned()
    feedparser_speedups.uninstall()  # again: nothing changes
    assert feedparser_as_shipped()


@both_paths
def test_parse_workers_take_their_pools_switch(fast_paths: bool) -> None:
    # The pool passes this process's switch (set by the `fast_paths` fixture) to each worker.
    with ParsePool(workers=1) as pool:
        state = pool.submit(process_state).result(timeout=60)
    assert state == (fast_paths, fast_paths, fast_paths, not fast_paths)
    assert feedparser_as_shipped()  # and this process is left as it was


_FORKED_WITH_THE_SWITCH_OFF = """
import os
from aggregator import speedups
from aggregator.ingest import feedparser_speedups
from aggregator.ingest.parse_pool import ParsePool
from tests.fixtures.feedparser_state import process_state

feedparser_speedups.install()
speedups.set_enabled(False)
with ParsePool(workers=1, fork=True) as pool:
    print(pool.submit(os.getppid).result(timeout=30) == os.getpid())
    print(pool.submit(process_state).result(timeout=30))
"""


def test_a_worker_forked_from_a_tuned_process_with_the_switch_off_is_as_shipped() -> None:
    # A fresh interpreter, which can fork (this one may have other threads).
    ran = subprocess.run(
        [sys.executable, "-c", _FORKED_WITH_THE_SWITCH_OFF],
        cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split("\n")[:2] == ["True", "(False, False, False, True)"]


def test_feedparsers_dict_reads_aliases_and_computed_keys_as_shipped(tuned: bool) -> None:
    entry = feedparser.FeedParserDict(
        summary="s", id="g", published="p", published_parsed=(2026,), tags=[{"term": "t"}],
        links=[{"rel": "enclosure", "href": "e"}, {"rel": "license", "href": "l"}],
    )  # fmt: skip
    assert entry["description"] == entry.get("description") == "s"
    assert entry["guid"] == entry.guid == "g"
    assert entry.get("updated_parsed") == (2026,)  # falls back to the published date
    assert "updated_parsed" not in entry
    assert entry["category"] == "t"
    assert entry["enclosures"] == [{"href": "e"}]
    assert entry["license"] == "l"
    assert entry.get("missing", "default") == "default"
    with pytest.raises(KeyError):
        entry["missing"]
    with pytest.raises(AttributeError):
        _ = entry.missing


def test_feedparsers_dicts_deep_copy_as_shipped(tuned: bool) -> None:
    params = feedparser.FeedParserDict(type="text/html", language="en", base="https://e.org/")
    params["nested"] = feedparser.FeedParserDict(value=["a", "b"])
    copied = copy.deepcopy(params)
    assert type(copied) is feedparser.FeedParserDict
    assert copied == params
    assert copied["nested"] is not params["nested"]
    assert copied["nested"]["value"] is not params["nested"]["value"]
    # What copy.deepcopy makes of it as shipped (the generic path for a dict subclass).
    generic = copy._reconstruct(params, {}, *params.__reduce_ex__(4))  # type: ignore[attr-defined]
    assert copied == generic


def _representative(corpus_file: CorpusFile) -> bool:
    """Every real-world capture up to 48 KB, and of feedparser's own test suite every
    ill-formed file, a quarter of the encoding files and a sixteenth of the rest (chosen
    by a hash of the name, so the same ones every run)."""
    parts = corpus_file.relative.split("/")
    if parts[0] == "feedparser" and len(parts) > 3:
        every = {"illformed": 1, "json": 1, "encoding": 4}.get(parts[2], 16)
        return zlib.crc32(corpus_file.relative.encode()) % every == 0
    return (
        parts[0] in ("realworld", "miniflux")
        and "expected" not in parts
        and len(corpus_file.body) <= 48 * 1024
    )


def _comparable(value: Any) -> Any:
    """feedparser's result as plain values, read as a dict is read (not through a tuned
    lookup); exceptions, which compare by identity, as their type and message."""
    if isinstance(value, dict):
        return type(value).__name__, {key: _comparable(item) for key, item in dict.items(value)}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, BaseException):
        return type(value).__name__, str(value)
    return value


def _parse_all(files: list[CorpusFile]) -> list[tuple[Any, ParsedFeed | str]]:
    """feedparser's whole result as `parse_feed` asks for it, and `parse_feed`'s, a file."""
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    results: list[tuple[Any, ParsedFeed | str]] = []
    for corpus_file in files:
        url = f"http://127.0.0.1/{corpus_file.relative}"
        headers = {k.lower(): v for k, v in corpus_file.headers.items()}
        headers.setdefault("content-location", url)
        raw = feedparser.parse(
            corpus_file.body, response_headers=headers, sanitize_html=False,
            resolve_relative_uris=False,
        )  # fmt: skip
        try:
            parsed: ParsedFeed | str = parse_feed(url, corpus_file.body, corpus_file.headers, now)
        except ParseError as error:
            parsed = str(error)
        results.append((_comparable(raw), parsed))
    return results


def test_tuned_feedparser_gives_feedparsers_own_results_on_the_corpus() -> None:
    if not CORPUS_ROOT.is_dir():
        unavailable(f"the shared feed corpus is not at {CORPUS_ROOT}", REQUIRE_CORPUS)
    files = [f for f in corpus_files() if _representative(f)]
    as_shipped = _parse_all(files)
    feedparser_speedups.install()
    try:
        tuned = _parse_all(files)
    finally:
        feedparser_speedups.uninstall()
    different = [f.relative for f, a, b in zip(files, as_shipped, tuned, strict=True) if a != b]
    assert different == []
    # Guards against a comparison that compares nothing.
    assert len(files) > 250
    assert sum(len(p.entries) for _, p in tuned if isinstance(p, ParsedFeed)) > 500
