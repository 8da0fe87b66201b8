"""The web benchmark's database, built once through the product's own commands and kept.

`bench.web_corpus` writes the RSS files; a local server (its own process) serves them on
loopback addresses; `biowire db upgrade`, `biowire sources import` and `biowire poll --all`
(with `BIOWIRE_ALLOW_PRIVATE_NETWORKS=1`) store and tag them as a first run in production
does, training the shipped model on the seed set first. The file is kept in
`bench/.cache/web-v<generator>-<articles>x<sources>.db`, with a `.json` beside it (when it
was built, how long that took, what it holds).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.servers import serve_on_loopback
from bench.web_corpus import opml_document, write_feeds

GENERATOR_VERSION = 1  # bump when the corpus or how it is stored changes
SPAN = timedelta(days=730)
CACHE = Path(__file__).with_name(".cache")
BIOWIRE = str(Path(sys.executable).with_name("biowire"))
FEED_HOSTS = 8  # loopback addresses serving the feeds, so the per-host limit does not bind
TOPIC = "facial-recognition"  # the topic whose tags `contents` counts


def say(message: str) -> None:
    """Progress, on stderr: stdout carries only the benchmark's table or JSON."""
    print(message, file=sys.stderr, flush=True)


def cache_path(articles: int, sources: int) -> Path:
    return CACHE / f"web-v{GENERATOR_VERSION}-{articles}x{sources}.db"


def _serve_feeds(directory: str, port_out: multiprocessing.Queue,
                 stop: multiprocessing.Queue) -> None:  # fmt: skip
    async def feed(request: web.Request) -> web.Response:
        path = Path(directory) / f"{int(request.match_info['number'])}.xml"
        return web.Response(body=path.read_bytes(), content_type="application/rss+xml")

    async def main() -> None:
        runner, port = await serve_on_loopback("/feeds/{number}.xml", feed, FEED_HOSTS)
        port_out.put(port)
        await asyncio.get_running_loop().run_in_executor(None, stop.get)
        await runner.cleanup()

    asyncio.run(main())


@contextmanager
def feed_server(directory: Path) -> Iterator[int]:
    """Serve the feed files of `directory` as /feeds/<n>.xml; yields the port."""
    context = multiprocessing.get_context("spawn")
    port_out: multiprocessing.Queue = context.Queue()
    stop: multiprocessing.Queue = context.Queue()
    process = context.Process(target=_serve_feeds, args=(str(directory), port_out, stop),
                              daemon=True)  # fmt: skip
    process.start()
    try:
        yield port_out.get(timeout=120)
    finally:
        stop.put(None)
        process.join(timeout=10)


def _biowire(env: dict[str, str], *args: str) -> None:
    # The command's own output (the poll's progress, its summary) goes to stderr.
    subprocess.run([BIOWIRE, *args], env=env, check=True, stdout=sys.stderr)


def build(path: Path, articles: int, sources: int) -> dict[str, Any]:
    """Generate the corpus and store it through the product into `path`; returns what is
    known of the build (also written beside it as JSON)."""
    building = path.with_name(path.stem + ".building.db")
    _remove(building)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="biowire-bench-web-") as tmp:
        say(f"writing {articles:,} articles into {sources} feeds")
        files = write_feeds(Path(tmp), sources, articles, now, SPAN)
        largest = max(f.stat().st_size for f in files)
        written = time.perf_counter() - started
        with feed_server(Path(tmp)) as port:
            urls = [f"http://127.0.0.{1 + n % FEED_HOSTS}:{port}/feeds/{n}.xml"
                    for n in range(sources)]  # fmt: skip
            opml = Path(tmp) / "sources.opml"
            opml.write_text(opml_document(urls))
            env = dict(os.environ, BIOWIRE_DATABASE_URL=f"sqlite:///{building}",
                       BIOWIRE_ALLOW_PRIVATE_NETWORKS="1", BIOWIRE_LOG_LEVEL="WARNING",
                       BIOWIRE_MAX_BODY_BYTES=str(max(10 * 2**20, 2 * largest)))  # fmt: skip
            _biowire(env, "db", "upgrade")
            _biowire(env, "sources", "import", str(opml))
            say("`biowire poll --all` (training the model first, as a first run does)")
            _biowire(env, "poll", "--all")
    with closing(sqlite3.connect(building)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Not a journal of the file it replaces: SQLite would replay it onto this one.
    _remove(path)
    building.replace(path)
    meta = {
        "generator": GENERATOR_VERSION,
        "built_at": now.isoformat(),
        "dates_as_of": now.isoformat(),
        "generation_seconds": round(time.perf_counter() - started, 1),
        "feed_files_seconds": round(written, 1),
        **contents(path),
    }
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def _remove(path: Path) -> None:
    """A database file with its journals."""
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        file.unlink(missing_ok=True)


def contents(path: Path) -> dict[str, Any]:
    """What the database holds: articles, sources, tags of the driven topic, Hikvision."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:

        def count(sql: str, *parameters: str) -> int:
            return int(connection.execute(sql, parameters).fetchone()[0])

        return {
            "articles": count("SELECT count(*) FROM articles"),
            "sources": count("SELECT count(*) FROM sources"),
            "untagged": count("SELECT count(*) FROM articles a WHERE NOT EXISTS "
                              "(SELECT 1 FROM article_topics t WHERE t.article_id = a.id)"),
            f"tagged_{TOPIC}": count(
                "SELECT count(*) FROM article_topics t JOIN topics o ON o.id = t.topic_id "
                "WHERE o.slug = ?", TOPIC),
            "naming_hikvision": count("SELECT count(*) FROM articles WHERE title LIKE ? "
                                      "OR text LIKE ?", "%hikvision%", "%hikvision%"),
        }  # fmt: skip


def _bring_dates_forward(path: Path, meta: dict[str, Any]) -> None:
    """Move every article's dates forward by the time since they were written (or last
    moved), so that today is the newest day of the span. The format is SQLAlchemy's for a
    timestamp on SQLite."""
    delta = datetime.now(UTC) - datetime.fromisoformat(meta["dates_as_of"])
    if delta < timedelta(hours=1):
        return
    say(f"moving the articles' dates forward by {delta}")

    def shifted(value: str | None) -> str | None:
        if value is None:
            return None
        return (datetime.fromisoformat(value) + delta).strftime("%Y-%m-%d %H:%M:%S.%f")

    with closing(sqlite3.connect(path)) as connection, connection:
        connection.create_function("shifted", 1, shifted, deterministic=True)
        connection.execute("UPDATE articles SET published_at = shifted(published_at), "
                           "updated_at = shifted(updated_at)")  # fmt: skip
    meta["dates_as_of"] = (datetime.fromisoformat(meta["dates_as_of"]) + delta).isoformat()
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")


def database(articles: int, sources: int, rebuild: bool) -> tuple[Path, dict[str, Any]]:
    """The cached database for these sizes, built if missing (or with `rebuild`)."""
    path = cache_path(articles, sources)
    meta_path = path.with_suffix(".json")
    CACHE.mkdir(exist_ok=True)
    if rebuild or not path.exists() or not meta_path.exists():
        meta = build(path, articles, sources)
        say(f"generated in {meta['generation_seconds']} s: {path}")
        return path, meta
    meta = json.loads(meta_path.read_text())
    say(f"reusing {path} (generated in {meta['generation_seconds']} s; --rebuild to redo)")
    # The cached file may predate the newest migration.
    _biowire({**os.environ, "BIOWIRE_DATABASE_URL": f"sqlite:///{path}"}, "db", "upgrade")
    _bring_dates_forward(path, meta)
    return path, meta
