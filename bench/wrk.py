"""wrk, the HTTP load generator, run for a fixed time against one URL, its `--latency`
report read back as figures. The one module that knows wrk's command line and output."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

INSTALL = "apt-get install -y wrk"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


class WrkError(Exception):
    """wrk is missing, failed, or printed a report this module cannot read."""


@dataclass(frozen=True)
class WrkFigures:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    # "Non-2xx or 3xx responses": a 304 is a success here, a 404 or a 500 is not.
    non_2xx_3xx: int
    # Connect, read and write errors and timeouts (wrk's "Socket errors").
    socket_errors: int


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, seconds: float, connections: int, threads: int, timeout: float,
        headers: dict[str, str] | None = None) -> WrkFigures:  # fmt: skip
    """Drive `url` for `seconds` with `connections` kept-alive connections over `threads`
    threads, sending `headers` with every request. A response slower than `timeout`
    seconds counts as a socket error and not in the latencies, so a short one (wrk's
    default is 2 s) would hide how slow a slow route is."""
    if not available():
        raise WrkError(f"wrk is not installed: install it with `{INSTALL}`")
    command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}",
               f"-d{max(1, round(seconds))}s", f"--timeout={max(1, round(timeout))}s",
               "--latency"]  # fmt: skip
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run([*command, url], capture_output=True, text=True)
    if done.returncode != 0:
        raise WrkError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return parse(done.stdout)


def _milliseconds(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        raise WrkError(f"not a wrk duration: {value!r}")
    return float(match[1]) * _UNITS[match[2]]


def parse(report: str) -> WrkFigures:
    """The figures of a `wrk --latency` report."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", report, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", report, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", report, re.M)
    requests = re.search(r"^\s+(\d+) requests in", report, re.M)
    if not (rate and p50 and p99 and requests):
        raise WrkError(f"cannot read wrk's report:\n{report}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        report)  # fmt: skip
    return WrkFigures(
        requests_per_second=float(rate[1]),
        p50_ms=_milliseconds(p50[1]),
        p99_ms=_milliseconds(p99[1]),
        requests=int(requests[1]),
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )
