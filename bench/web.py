"""Web benchmark: `python -m bench.web --articles 200000 --sources 200` (`make bench-web`).

1. **A database built as production builds one** (`bench.web_database`): `bench.web_corpus`
   writes `--sources` RSS files holding `--articles` invented industry articles between
   them, dated evenly over the last two years (about one in 130 names Hikvision); a local
   server serves them on 127.0.0.1, and the product's own commands store them:
   `biowire db upgrade`, `biowire sources import`, then `biowire poll --all` with
   `BIOWIRE_ALLOW_PRIVATE_NETWORKS=1`, which trains the shipped model on the seed set and
   tags every article with it. The SQLite file is kept in
   `bench/.cache/web-v<generator>-<articles>x<sources>.db` and reused (`--rebuild` makes it
   again); on reuse its articles' dates move forward by the time since they were written,
   so that today is always the newest day of the two years.
2. **Served as a user serves it:** `biowire serve` (`--workers N` when N > 1), given the
   database, host and port by `BIOWIRE_*` variables, driven once `/healthz` answers.
3. **Driven by wrk** (`apt-get install -y wrk`), one route after another for `--duration`
   seconds each with `--connections` connections, after a `--warmup` run: the health
   check, the digest page (plain, by topic, searched), a topic's page, the sources page,
   and the feeds and JSON of a topic.
   Each feed or JSON route is read once for its ETag and then driven again with
   `If-None-Match`, as `<route> (304)`. A route that answers 404 is reported as not
   available, one without an ETag as such, and the run goes on.
4. **Repeated** `--rounds` times (3), every route in each round; a route's ratio to
   `/healthz` is taken against the health check of its own round, and each figure
   reported is the median of the rounds.
5. **Reported** as a table (or `--json`): requests/s, p50 and p99 in ms, the ratio of
   requests/s to `/healthz`'s, wrk's count of non-2xx/3xx responses and of socket errors
   (timeouts past `--timeout` among them), and whether the route meets its target
   (`TARGETS`; a route with failed responses never does).

`--explain` drives nothing: it runs the app in this process against the same database,
captures each route's SQL with a SQLAlchemy `before_cursor_execute` listener, and prints
SQLite's `EXPLAIN QUERY PLAN` of every statement (with its parameters), route by route.

A quick run: `python -m bench.web --articles 5000 --duration 3`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import wrk
from bench.web_database import BIOWIRE, TOPIC, database, say

# --- routes and their targets --------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    p99_ms: float | None = None
    min_ratio: float | None = None  # of /healthz's requests/s

    def describe(self) -> str:
        parts = [f"p99 <= {self.p99_ms:g} ms"] if self.p99_ms is not None else []
        if self.min_ratio is not None:
            parts.append(f">= {self.min_ratio:.0%} of healthz")
        return ", ".join(parts) or "-"

    def met(self, p99_ms: float, ratio: float) -> bool:
        return (self.p99_ms is None or p99_ms <= self.p99_ms) and (
            self.min_ratio is None or ratio >= self.min_ratio
        )


TARGETS = {
    "reference": Target(),
    "page": Target(p99_ms=100),
    "feed": Target(p99_ms=50, min_ratio=0.40),
    "conditional": Target(min_ratio=0.80),
}


@dataclass(frozen=True)
class Route:
    path: str
    kind: str  # a key of TARGETS; each "feed" route is also driven conditionally


ROUTES = [
    Route("/healthz", "reference"),
    Route("/", "page"),
    Route(f"/?topic={TOPIC}", "page"),
    Route("/?q=hikvision", "page"),
    Route(f"/topics/{TOPIC}", "page"),
    Route("/sources", "page"),
    Route(f"/api/articles?topic={TOPIC}", "feed"),
    Route(f"/topics/{TOPIC}.rss", "feed"),
    Route(f"/feed.json?topic={TOPIC}", "feed"),
]


@dataclass
class Result:
    route: str
    kind: str
    note: str = ""
    requests_per_second: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    ratio_to_healthz: float | None = None
    non_2xx_3xx: int | None = None
    socket_errors: int | None = None
    target: str = ""
    meets_target: bool | None = None


# --- the server: `biowire serve`, as a user starts it ------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def biowire_serve(path: Path, workers: int, cache_entries: int | None = None) -> Iterator[str]:
    """`biowire serve` on the database at `path`; yields its base URL once /healthz answers."""
    import httpx

    port = _free_port()
    env = dict(os.environ, BIOWIRE_DATABASE_URL=f"sqlite:///{path}", BIOWIRE_HOST="127.0.0.1",
               BIOWIRE_PORT=str(port), BIOWIRE_LOG_LEVEL="WARNING")  # fmt: skip
    if cache_entries is not None:
        env["BIOWIRE_RESPONSE_CACHE_ENTRIES"] = str(cache_entries)
    # The host and port go by environment, which every version of `serve` reads;
    # `--workers` only when asked for, since a version without it refuses the option.
    command = [BIOWIRE, "serve", *(["--workers", str(workers)] if workers > 1 else [])]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+") as log:
        # Its own session, so that its workers can be stopped with it.
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while True:
                if server.poll() is not None:
                    log.seek(0)
                    hint = " (does this `biowire serve` take --workers?)" if workers > 1 else ""
                    raise SystemExit(f"`{' '.join(command[1:])}` exited with "
                                     f"{server.returncode}{hint}:\n{log.read()}")  # fmt: skip
                try:
                    if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("`biowire serve` did not answer /healthz within 120 s")
                time.sleep(0.2)
            yield base
        finally:
            _stop(server)


def _stop(server: subprocess.Popen[Any]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- driving it -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    seconds: float
    warmup: float
    connections: int
    threads: int
    timeout: float


def _driven(result: Result, url: str, load: Load, headers: dict[str, str]) -> Result:
    say(f"  {result.route} ...")
    try:
        if load.warmup > 0:
            wrk.run(url, load.warmup, load.connections, load.threads, load.timeout, headers)
        figures = wrk.run(url, load.seconds, load.connections, load.threads, load.timeout,
                          headers)  # fmt: skip
    except wrk.WrkError as error:
        result.note = str(error)
        return result
    result.requests_per_second = figures.requests_per_second
    result.p50_ms, result.p99_ms = figures.p50_ms, figures.p99_ms
    result.non_2xx_3xx, result.socket_errors = figures.non_2xx_3xx, figures.socket_errors
    return result


def drive(base: str, load: Load) -> list[Result]:
    """Every route, one after another; each feed route then again, conditionally."""
    import httpx

    results: list[Result] = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for route in ROUTES:
            result = Result(route.path, route.kind)
            conditional = Result(f"{route.path} (304)", "conditional")
            response = client.get(route.path)
            if response.status_code != 200:
                result.note = conditional.note = _unavailable(response.status_code)
                results += [result, conditional] if route.kind == "feed" else [result]
                continue
            results.append(_driven(result, base + route.path, load, {}))
            if route.kind != "feed":
                continue
            etag = response.headers.get("ETag")
            if etag is None:
                conditional.note = "no ETag"
                results.append(conditional)
                continue
            headers = {"If-None-Match": etag}
            status = client.get(route.path, headers=headers).status_code
            if status != 304:
                conditional.note = f"answers {status} to If-None-Match"
            results.append(_driven(conditional, base + route.path, load, headers))
    return _with_ratios(results)


def drive_rounds(base: str, load: Load, rounds: int) -> list[Result]:
    """`rounds` runs of every route, each ratio taken against the health check of its own
    round (the machine's speed drifts between rounds more than between neighbours); then
    each figure the median of its rounds."""
    runs = [drive(base, load) for _ in range(rounds)]
    combined = []
    for same in zip(*runs, strict=True):
        result = Result(same[0].route, same[0].kind, note=same[0].note)
        for name in ("requests_per_second", "p50_ms", "p99_ms", "ratio_to_healthz"):
            values = [getattr(r, name) for r in same if getattr(r, name) is not None]
            if values:
                setattr(result, name, round(statistics.median(values), 3))
        for name in ("non_2xx_3xx", "socket_errors"):
            counts = [getattr(r, name) for r in same if getattr(r, name) is not None]
            if counts:
                setattr(result, name, sum(counts))
        combined.append(result)
    return _judged(combined)


def _with_ratios(results: list[Result]) -> list[Result]:
    healthz = next((r.requests_per_second for r in results if r.kind == "reference"), None)
    for r in results:
        if healthz and r.requests_per_second is not None:
            r.ratio_to_healthz = round(r.requests_per_second / healthz, 3)
    return results


def _unavailable(status: int) -> str:
    return "not available (404)" if status == 404 else f"answers {status}"


def _judged(results: list[Result]) -> list[Result]:
    for r in results:
        target = TARGETS[r.kind]
        r.target = target.describe()
        if r.requests_per_second is None or r.p99_ms is None:
            continue
        if r.kind != "reference":
            r.meets_target = (
                not r.note and r.non_2xx_3xx == 0 and r.socket_errors == 0
                and target.met(r.p99_ms, r.ratio_to_healthz or 0.0)
            )  # fmt: skip
    return results


def print_table(results: list[Result]) -> None:
    def cell(value: float | None, width: int, decimals: int = 0) -> str:
        return "-".rjust(width) if value is None else f"{value:{width}.{decimals}f}"

    header = f"{'route':48} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'x hz':>5} " \
             f"{'non-2xx':>7} {'sock err':>8}  {'target':34} result"  # fmt: skip
    print(header)
    print("-" * len(header))
    for r in results:
        if r.meets_target is None:
            verdict = r.note or "-"
        else:
            verdict = ("yes" if r.meets_target else "NO") + (f" ({r.note})" if r.note else "")
        print(f"{r.route:48} {cell(r.requests_per_second, 8)} {cell(r.p50_ms, 7, 1)} "
              f"{cell(r.p99_ms, 7, 1)} {cell(r.ratio_to_healthz, 5, 2)} "
              f"{cell(r.non_2xx_3xx, 7)} {cell(r.socket_errors, 8)}  "
              f"{r.target:34} {verdict}")  # fmt: skip


# --- --explain: the query plans of each route's SQL ---------------------------------------------


def explain(path: Path) -> None:
    """Each route's statements, captured as the app runs them in this process, with
    SQLite's plan for each (with its own parameters)."""
    import warnings

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from aggregator.settings import Settings
    from web.app import create_app

    with warnings.catch_warnings():
        # Starlette's notice that its test client will want httpx2: not about the plans.
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    captured: list[tuple[str, Any]] = []

    def capture(connection: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:  # fmt: skip
        captured.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", capture)
    app = create_app(Settings(database_url=f"sqlite:///{path}"))
    planner = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        with TestClient(app) as client:
            for route in ROUTES:
                etag = _explain_route(client, planner, captured, route.path, {})
                if etag:
                    _explain_route(client, planner, captured, f"{route.path} (304)",
                                   {"If-None-Match": etag})  # fmt: skip
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
        planner.close()


def _explain_route(client: Any, planner: sqlite3.Connection, captured: list[tuple[str, Any]],
                   route: str, headers: dict[str, str]) -> str | None:  # fmt: skip
    captured.clear()
    response = client.get(route.removesuffix(" (304)"), headers=headers)
    print(f"\n=== {route}: {response.status_code}, {len(captured)} statements")
    seen: set[str] = set()
    for statement, parameters in captured:
        if statement in seen:
            continue  # the same statement with other parameters: the same plan
        seen.add(statement)
        print("\n" + statement.strip())
        print(f"  parameters: {parameters!r}"[:300])
        rows = planner.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
        depth: dict[int, int] = {0: 0}
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            print("  " + "  " * depth[node] + detail)
    etag: str | None = response.headers.get("ETag")
    return etag if response.status_code == 200 else None


# --- the command --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--sources", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true", help="generate the database again")
    parser.add_argument("--workers", type=int, default=2, help="`biowire serve --workers`")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk's threads")
    parser.add_argument("--duration", type=float, default=10, help="seconds a route")
    parser.add_argument("--warmup", type=float, default=1, help="seconds a route, not counted")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of every route; figures are the rounds' medians")  # fmt: skip
    parser.add_argument(
        "--timeout",
        type=float,
        default=30,
        help="seconds before wrk gives up on a response (counted as an error)",
    )
    parser.add_argument("--cache-entries", type=int, default=None,
                        help="BIOWIRE_RESPONSE_CACHE_ENTRIES of the server (0: every request "
                        "finds and renders its view)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--explain", action="store_true",
                        help="print each route's query plans instead of driving it")  # fmt: skip
    args = parser.parse_args()
    if not args.explain and not wrk.available():
        raise SystemExit(f"wrk is not installed: install it with `{wrk.INSTALL}`")
    path, meta = database(args.articles, args.sources, args.rebuild)
    say(f"{meta['articles']:,} articles from {meta['sources']} sources; {TOPIC} on "
        f"{meta[f'tagged_{TOPIC}']:,}, untagged {meta['untagged']:,}, naming Hikvision "
        f"{meta['naming_hikvision']:,}")  # fmt: skip
    if args.explain:
        explain(path)
        return
    load = Load(args.duration, args.warmup, args.connections, args.threads, args.timeout)
    say(f"`biowire serve` with {args.workers} worker(s); wrk: {load.connections} connections, "
        f"{min(load.threads, load.connections)} threads, {load.seconds:g} s a route "
        f"after {load.warmup:g} s of warm-up; {os.cpu_count()} CPUs")  # fmt: skip
    with biowire_serve(path, args.workers, args.cache_entries) as base:
        results = drive_rounds(base, load, args.rounds)
    if args.json:
        run = {"database": str(path), **meta, "workers": args.workers, "rounds": args.rounds,
               **asdict(load)}  # fmt: skip
        print(json.dumps({"run": run, "routes": [asdict(r) for r in results]}, indent=2))
    else:
        print_table(results)


if __name__ == "__main__":
    main()
