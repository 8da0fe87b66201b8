"""`biowire poll --all` as a user runs it: `python -m bench.poll_cli --sources 2000`.

The same local server and feeds as `bench.poll`, but the product is the command itself, run
as a new process per cycle against a SQLite file set up through the CLI (`db upgrade`,
`sources import`, `classify` to train the model). Each cycle's wall time is net of the
command's own start-up, measured in the same run as the median wall time of a Python
process that imports what `biowire poll` imports before it does any work (the command, its
module, the service with the poller, the parser and the classifier) and reads the settings.
(`biowire --help` imports none of the pipeline: subtracting its start-up would count the
poll's imports as part of the poll.) The floor is `bench.poll`'s (bare aiohttp +
feedparser), run against the same server state just before each cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from xml.sax.saxutils import quoteattr

from bench.poll import FeedServer, FloorState, feed_url, floor_cycle

BIOWIRE = str(Path(sys.executable).with_name("biowire"))
# What `biowire poll` has imported and read when its work starts (see the docstring).
POLL_START_UP = """
import aggregator.cli.main, aggregator.cli.pipeline, aggregator.logs, aggregator.service
import rich.progress
from aggregator.settings import get_settings
get_settings()
"""


def _run(env: dict[str, str], *args: str) -> float:
    return _timed([BIOWIRE, *args], env)


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _write_opml(path: Path, urls: list[str]) -> None:
    outlines = "".join(
        f'<outline type="rss" text="feed {n}" xmlUrl={quoteattr(url)}/>'
        for n, url in enumerate(urls)
    )
    path.write_text(
        f'<?xml version="1.0"?><opml version="2.0"><head/><body>{outlines}</body></opml>'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument(
        "--start-ups", type=int, default=5, help="runs of the start-up (POLL_START_UP)"
    )
    parser.add_argument(
        "--untrained", action="store_true",
        help="no model before the cold cycle: it trains one, as a first run does",
    )  # fmt: skip
    args = parser.parse_args()
    server = FeedServer(args.sources)
    urls = [feed_url(server.port, n) for n in range(args.sources)]
    workers = os.cpu_count() or 1
    try:
        with tempfile.TemporaryDirectory(prefix="biowire-bench-") as tmp:
            env = dict(
                os.environ,
                BIOWIRE_DATABASE_URL=f"sqlite:///{Path(tmp) / 'bench.db'}",
                BIOWIRE_ALLOW_PRIVATE_NETWORKS="1",
            )
            _run(env, "db", "upgrade")
            opml = Path(tmp) / "sources.opml"
            _write_opml(opml, urls)
            _run(env, "sources", "import", str(opml))
            if not args.untrained:
                _run(env, "classify")  # trains the model, as the first `make run` does
            start_up = statistics.median(
                _timed([sys.executable, "-c", POLL_START_UP], env) for _ in range(args.start_ups)
            )
            print(f"`biowire poll --all`, {args.sources} feeds; start-up (median wall of a "
                  f"process importing what the poll imports): {start_up:.2f} s")  # fmt: skip
            state = FloorState()
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, context) as floor_pool:
                list(floor_pool.map(time.sleep, [0.05] * workers))
                for cycle, name in enumerate(["cold", "warm 1", "warm 2"]):
                    if cycle:
                        server.advance_to(cycle)
                    floor, _ = asyncio.run(floor_cycle(urls, state, floor_pool, 64, 4))
                    wall = _run(env, "poll", "--all")
                    net = wall - start_up
                    print(
                        f"  {name:7} command {wall:6.2f} s, net of start-up {net:6.2f} s  |  "
                        f"floor {floor:5.2f} s  ratio {net / floor:4.2f}",
                        flush=True,
                    )
    finally:
        server.close()


if __name__ == "__main__":
    main()
