"""Poll benchmark: `python -m bench.poll --sources 2000`.

A local server (its own process) serves N distinct feeds of 20 items (~25 KB each, text
generated here) spread over 32 loopback addresses, so the per-host limit is not what binds
and the global one is. The product polls them three times through its real pipeline
(fetch, parse in the process pool, store in SQLite, classify): a cold cycle where
everything is new, then two warm cycles where 10% of the feeds changed and the rest answer
304 (half of them) or send the same body again (the other half).

Beside each cycle, in the same run and against the same server state, a floor: the same
conditional fetches with bare aiohttp at the same limits, plus feedparser on the changed
bodies across all CPUs, with no storage and no classification.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import multiprocessing
import os
import random
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import aiohttp
import feedparser
from aiohttp import web

from bench.servers import serve_on_loopback

HOSTS = 32
ITEMS = 20
CHANGED_SHARE = 0.10
NEW_ITEMS_WHEN_CHANGED = 2

# --- synthetic feeds ---------------------------------------------------------------------

_SUBJECTS = [
    "The border agency",
    "A regional airport",
    "The interior ministry",
    "A bank",
    "The vendor",
    "A national ID programme",
    "The regulator",
    "Police in the capital",
    "A payments network",
    "The standards body",
    "An identity startup",
    "The city council",
]
_VERBS = [
    "has deployed",
    "is piloting",
    "has paused",
    "expanded",
    "awarded a contract for",
    "published guidance on",
    "was fined over",
    "opened a tender for",
    "certified",
    "reported fraud losses despite",
    "announced funding for",
    "tested",
]
_OBJECTS = [
    "face-matching e-gates",
    "fingerprint readers at checkpoints",
    "liveness detection",
    "a mobile driving licence",
    "iris scanners",
    "palm-vein payment terminals",
    "a digital identity wallet",
    "deepfake detection",
    "voice authentication",
    "biometric boarding",
    "document verification",
    "age estimation kiosks",
]
_TAILS = ["after a year of trials", "across twelve terminals", "under new data rules",
          "amid privacy concerns", "ahead of the summer peak", "with a local integrator",
          "following an audit", "for returning residents", "in a phased roll-out",
          "while accuracy is reviewed", "as queues lengthen",
          "at three land crossings"]  # fmt: skip


def _sentence(rng: random.Random) -> str:
    parts = (_SUBJECTS, _VERBS, _OBJECTS, _TAILS)
    return " ".join(rng.choice(p) for p in parts) + "."


def _item(feed: int, number: int, published: datetime) -> str:
    rng = random.Random(feed * 100_003 + number)
    title = _sentence(rng)[:-1]
    paragraphs = "".join(f"<p>{' '.join(_sentence(rng) for _ in range(3))}</p>" for _ in range(3))
    link = f"https://news{feed % 97}.example.org/{feed}/story-{number}"
    return (
        f"<item><title>{escape(title)}</title><link>{link}</link>"
        f'<guid isPermaLink="false">feed-{feed}-item-{number}</guid>'
        f"<pubDate>{format_datetime(published)}</pubDate>"
        f"<category>Biometrics</category><description>{escape(paragraphs)}</description></item>"
    )


def feed_document(feed: int, version: int, now: datetime) -> bytes:
    """Feed `feed` at `version`: each version adds NEW_ITEMS_WHEN_CHANGED items on top."""
    newest = ITEMS + version * NEW_ITEMS_WHEN_CHANGED
    items = "".join(
        _item(feed, n, now - timedelta(minutes=37 * (newest - n)))
        for n in range(newest, newest - ITEMS, -1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Benchmark feed {feed}</title><link>https://news{feed % 97}.example.org/</link>"
        f"<description>Synthetic industry news</description>{items}</channel></rss>"
    ).encode()


def changed_feeds(sources: int, cycle: int) -> set[int]:
    """The feeds that change before `cycle` (none before the cold cycle 0)."""
    if cycle == 0:
        return set()
    return set(random.Random(cycle).sample(range(sources), int(sources * CHANGED_SHARE)))


def feed_url(port: int, feed: int) -> str:
    return f"http://127.0.0.{1 + feed % HOSTS}:{port}/feeds/{feed}.xml"


# --- the server, in its own process --------------------------------------------------------


def _serve(sources: int, port_out: multiprocessing.Queue, commands: multiprocessing.Queue) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    versions = [0] * sources
    bodies = [feed_document(f, 0, now) for f in range(sources)]

    async def feed(request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        # Even feeds keep an ETag and answer 304; odd ones send the unchanged body again.
        if number % 2 == 0:
            etag = f'"{number}-{versions[number]}"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            headers = {"ETag": etag}
        else:
            headers = {}
        return web.Response(body=bodies[number], content_type="application/rss+xml",
                            headers=headers)  # fmt: skip

    async def main() -> None:
        runner, port = await serve_on_loopback("/feeds/{number}.xml", feed, HOSTS)
        port_out.put(port)
        loop = asyncio.get_running_loop()
        while True:
            cycle = await loop.run_in_executor(None, commands.get)
            if cycle is None:
                break
            for number in changed_feeds(sources, cycle):
                versions[number] += 1
                bodies[number] = feed_document(number, versions[number], now)
            port_out.put(("ready", cycle))
        await runner.cleanup()

    asyncio.run(main())


class FeedServer:
    def __init__(self, sources: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._out: multiprocessing.Queue = context.Queue()
        self._commands: multiprocessing.Queue = context.Queue()
        self._process = context.Process(
            target=_serve, args=(sources, self._out, self._commands), daemon=True
        )
        self._process.start()
        self.port: int = self._out.get(timeout=120)

    def advance_to(self, cycle: int) -> None:
        self._commands.put(cycle)
        assert self._out.get(timeout=120) == ("ready", cycle)

    def close(self) -> None:
        self._commands.put(None)
        self._process.join(timeout=10)


# --- memory --------------------------------------------------------------------------------


def _proc_kib(pid: int, file: str, field: str) -> int:
    """A size in KiB that /proc/<pid>/<file> gives on its `field:` line (0 once gone)."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_kib(pid: int) -> int:
    return _proc_kib(pid, "status", "VmRSS")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _pss_kib(pid: int) -> int:
    """Proportional set size: pages shared with other processes (a fork server's and its
    workers') count a share each, so the sum over processes is their real footprint."""
    return _proc_kib(pid, "smaps_rollup", "Pss")


class ResourceSampler:
    """Peak resident memory of this process and, separately, of the parse workers; peak
    proportional memory of the two together; and the CPU time each spent while sampling
    (where the cycle's work went)."""

    PSS_EVERY = 10  # samples: reading smaps costs the kernel a walk of every page table

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude
        self.peak_self = 0
        self.peak_workers = 0
        self.peak_tree_pss = 0
        self.cpu_self = 0.0
        self._samples = 0
        self._worker_cpu: dict[int, tuple[float, float]] = {}  # pid: (first seen, last seen)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_workers(self) -> float:
        return sum(last - first for first, last in self._worker_cpu.values())

    def _workers(self, me: int) -> list[int]:
        workers = [p for p in _children(me) if p not in self.exclude]
        # The fork server's workers are its children, not ours.
        return workers + [w for p in workers for w in _children(p)]

    def _sample(self, me: int) -> None:
        self.peak_self = max(self.peak_self, _rss_kib(me))
        workers = self._workers(me)
        self.peak_workers = max(self.peak_workers, sum(_rss_kib(p) for p in workers))
        if self._samples % self.PSS_EVERY == 0:
            tree = sum(_pss_kib(p) for p in [me, *workers])
            self.peak_tree_pss = max(self.peak_tree_pss, tree)
        self._samples += 1
        for pid in workers:
            now = _cpu_seconds(pid)
            first, _ = self._worker_cpu.get(pid, (now, now))
            self._worker_cpu[pid] = (first, now)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            self._sample(me)
            self._stop.wait(0.05)
        self._sample(me)

    def __enter__(self) -> ResourceSampler:
        self._sample(os.getpid())
        self._cpu_started = time.process_time()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu_self = time.process_time() - self._cpu_started
        self._stop.set()
        self._thread.join()


# --- the floor: bare aiohttp + feedparser --------------------------------------------------


def _titles(body: bytes) -> int:
    return len(feedparser.parse(body).entries)


@dataclass
class FloorState:
    etags: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)


async def floor_cycle(
    urls: list[str], state: FloorState, pool: ProcessPoolExecutor, concurrency: int, per_host: int
) -> tuple[float, int]:
    """Conditional fetches and parses of what changed; returns (seconds, entries parsed)."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=per_host)
    parses: list[asyncio.Future[int]] = []
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> None:
            headers = {"If-None-Match": state.etags[url]} if url in state.etags else {}
            async with session.get(url, headers=headers) as response:
                body = await response.read()
                if response.status == 304:
                    return
                if "ETag" in response.headers:
                    state.etags[url] = response.headers["ETag"]
                digest = hashlib.sha256(body).hexdigest()
                if state.hashes.get(url) == digest:
                    return
                state.hashes[url] = digest
                parses.append(loop.run_in_executor(pool, _titles, body))

        await asyncio.gather(*(one(url) for url in urls))
        entries = sum(await asyncio.gather(*parses))
    return time.perf_counter() - started, entries


# --- the product ---------------------------------------------------------------------------


@dataclass
class CycleFigures:
    name: str
    seconds: float
    poll_seconds: float
    classify_seconds: float
    sources: int
    new_articles: int
    errors: int
    peak_rss_mib: float
    peak_workers_mib: float
    peak_tree_pss_mib: float
    cpu_self: float
    cpu_workers: float
    rss_after_mib: float
    floor_seconds: float
    floor_entries: int
    floor_cpu_self: float
    floor_cpu_workers: float

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_seconds


def run(sources: int) -> list[CycleFigures]:
    """One whole run: a fresh server and database, three cycles."""
    from aggregator.classify.registry import active_model
    from aggregator.database import upgrade_database
    from aggregator.ingest.parse_pool import ParsePool
    from aggregator.ingest.sources import add_source
    from aggregator.service import (
        classify_new,
        ensure_active_model,
        open_database,
        poll_once,
    )
    from aggregator.settings import Settings
    from models import session_scope

    server = FeedServer(sources)
    urls = [feed_url(server.port, f) for f in range(sources)]
    figures: list[CycleFigures] = []
    workers = os.cpu_count() or 1
    # Spawned, not forked from the product's fork server: the floor's workers must run
    # feedparser as it ships, without anything the product's modules set up at import.
    floor_context = multiprocessing.get_context("spawn")
    try:
        with tempfile.TemporaryDirectory(prefix="biowire-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            settings = Settings(database_url=url, allow_private_networks=True)
            upgrade_database(url)
            db = open_database(settings)
            with session_scope(db.factory) as session:
                for feed in urls:
                    add_source(session, feed)
            ensure_active_model(db)  # as `biowire poll` does before its first poll
            floor_state = FloorState()
            with session_scope(db.factory) as session:
                model = active_model(session)
                assert model is not None
                model_id, blob = model.id, model.blob
            # The product's pool as `biowire poll` makes it (forked before any thread).
            pool = ParsePool(model=(model_id, blob), fork=True)
            with pool, ProcessPoolExecutor(workers, floor_context) as floor_pool:
                # Start-up is not part of a cycle: both pools' workers are running (the
                # product's with its model loaded) before the first one is timed.
                pool.warm_up()
                list(floor_pool.map(time.sleep, [0.05] * workers))
                # The floor's workers idle while the product runs: not the product's.
                not_product = {_server_pid(server), *floor_pool._processes}
                for cycle, name in enumerate(["cold", "warm 1", "warm 2"]):
                    if cycle:
                        server.advance_to(cycle)
                    with ResourceSampler(exclude={_server_pid(server)}) as floor_use:
                        floor_seconds, floor_entries = asyncio.run(
                            floor_cycle(urls, floor_state, floor_pool, settings.concurrency,
                                        settings.per_host_concurrency)
                        )  # fmt: skip
                    gc.collect()
                    with ResourceSampler(exclude=not_product) as rss:
                        started = time.perf_counter()
                        summary = asyncio.run(
                            poll_once(settings, db, everything=True, parse_executor=pool)
                        )
                        polled = time.perf_counter() - started
                        classify_new(db)
                        seconds = time.perf_counter() - started
                    gc.collect()
                    figures.append(CycleFigures(
                        name, seconds, polled, seconds - polled, len(summary.outcomes),
                        summary.new_articles, summary.errors, rss.peak_self / 1024,
                        rss.peak_workers / 1024, rss.peak_tree_pss / 1024, rss.cpu_self,
                        rss.cpu_workers,
                        _rss_kib(os.getpid()) / 1024,
                        floor_seconds, floor_entries, floor_use.cpu_self,
                        floor_use.cpu_workers,
                    ))  # fmt: skip
                    _print_cycle(figures[-1])
            db.close()
    finally:
        server.close()
    return figures


def _server_pid(server: FeedServer) -> int:
    return server._process.pid or -1


def _print_cycle(c: CycleFigures) -> None:
    print(
        f"  {c.name:7} {c.seconds:6.2f} s (poll {c.poll_seconds:5.2f} + classify "
        f"{c.classify_seconds:5.2f})  {c.sources / c.seconds:7.0f} sources/s  "
        f"{c.new_articles / c.seconds:7.0f} new articles/s ({c.new_articles})  "
        f"errors {c.errors}  peak RSS {c.peak_rss_mib:5.0f} MiB (+ parse workers "
        f"{c.peak_workers_mib:4.0f}; PSS of both {c.peak_tree_pss_mib:4.0f})  "
        f"RSS after {c.rss_after_mib:5.0f} MiB  CPU s: poller "
        f"{c.cpu_self:5.1f}, parse workers {c.cpu_workers:5.1f}  |  floor "
        f"{c.floor_seconds:5.2f} s ({c.floor_entries} entries, CPU s: {c.floor_cpu_self:4.1f} + "
        f"{c.floor_cpu_workers:4.1f})  ratio {c.ratio:4.2f}",
        flush=True,
    )


def _summarise(runs: list[list[CycleFigures]]) -> None:
    print("\nmedians over", len(runs), "runs:")
    checks: list[tuple[str, bool]] = []
    for index, name in enumerate(["cold", "warm 1", "warm 2"]):
        cycles = [r[index] for r in runs]
        seconds = statistics.median(c.seconds for c in cycles)
        floor = statistics.median(c.floor_seconds for c in cycles)
        ratio = statistics.median(c.ratio for c in cycles)
        peak = max(c.peak_rss_mib for c in cycles)
        tree = max(c.peak_tree_pss_mib for c in cycles)
        print(f"  {name:7} {seconds:6.2f} s  floor {floor:5.2f} s  ratio {ratio:4.2f}  "
              f"peak RSS {peak:4.0f} MiB (with parse workers, PSS {tree:4.0f} MiB)")  # fmt: skip
        limit = 1.5 if index == 0 else 1.3
        checks.append((f"{name} <= {limit}x floor", ratio <= limit))
    peak = max(c.peak_rss_mib for r in runs for c in r)
    tree = max(c.peak_tree_pss_mib for r in runs for c in r)
    growth = statistics.median(r[2].rss_after_mib - r[1].rss_after_mib for r in runs)
    print(f"  RSS growth from warm 1 to warm 2: {growth:+.1f} MiB")
    checks.append(("peak RSS <= 500 MiB", peak <= 500))
    checks.append(("peak PSS with the parse workers <= 500 MiB", tree <= 500))
    checks.append(("no RSS growth between warm cycles (< 5 MiB)", growth < 5))
    for label, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=1, help="whole runs, for medians")
    args = parser.parse_args()
    print(f"poll benchmark: {args.sources} feeds x {ITEMS} items over {HOSTS} loopback "
          f"addresses, {os.cpu_count()} CPUs")  # fmt: skip
    runs = []
    for attempt in range(args.repeats):
        print(f"run {attempt + 1}:")
        runs.append(run(args.sources))
    _summarise(runs)


if __name__ == "__main__":
    main()
