"""The offline demo: the packaged sample feeds, served from 127.0.0.1 with their dates moved
so the newest item lands just before now, then polled through the normal pipeline."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

# Every date in the sample lies in a fortnight ending here.
SAMPLE_NEWEST = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)
SAMPLE_FILES = ("trade-press.xml", "vendor-newsroom.xml", "regulator.xml", "airport-travel.xml")

_RFC822 = re.compile(r"<(pubDate|lastBuildDate)>([^<]+)</\1>")
_RFC3339 = re.compile(r"<(published|updated)>([^<]+)</\1>")


def shift_dates(document: str, move: Callable[[datetime], datetime]) -> str:
    """Apply `move` to every RSS and Atom date in `document`, keeping each one's format."""

    def rfc822(match: re.Match[str]) -> str:
        moment = move(parsedate_to_datetime(match.group(2).strip()))
        return f"<{match.group(1)}>{format_datetime(moment)}</{match.group(1)}>"

    def rfc3339(match: re.Match[str]) -> str:
        moment = move(datetime.fromisoformat(match.group(2).strip().replace("Z", "+00:00")))
        return f"<{match.group(1)}>{moment.isoformat()}</{match.group(1)}>"

    return _RFC3339.sub(rfc3339, _RFC822.sub(rfc822, document))


def sample_clock(now: datetime) -> Callable[[datetime], datetime]:
    """Map sample dates onto the fortnight ending now: the sample's last day becomes today,
    and that day's items are squeezed into the hours already past, so today is never empty
    and nothing is dated in the future."""
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    days = (midnight.date() - SAMPLE_NEWEST.date()).days
    latest = now - timedelta(minutes=5)
    last_day_span = (SAMPLE_NEWEST + timedelta(days=days) - midnight).total_seconds()
    ratio = min(1.0, (latest - midnight).total_seconds() / last_day_span)

    def move(moment: datetime) -> datetime:
        shifted = moment.astimezone(UTC) + timedelta(days=days)
        if shifted >= midnight:
            shifted = midnight + (shifted - midnight) * ratio
        return shifted.replace(microsecond=0)

    return move


def sample_documents(now: datetime | None = None) -> dict[str, bytes]:
    move = sample_clock(now or datetime.now(UTC))
    folder = resources.files("aggregator").joinpath("data/sample")
    return {
        f"/{name}": shift_dates(folder.joinpath(name).read_text(encoding="utf-8"), move).encode()
        for name in SAMPLE_FILES
    }


class _SampleHandler(BaseHTTPRequestHandler):
    def __init__(self, documents: dict[str, bytes], *args: object) -> None:
        self.documents = documents
        super().__init__(*args)  # type: ignore[arg-type]

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.documents.get(self.path.split("?", 1)[0])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        kind = "application/atom+xml" if b"<feed" in body[:400] else "application/rss+xml"
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the demo's own log lines say what was fetched


class SampleServer:
    """The sample feeds on http://127.0.0.1:<free port>/, in a background thread."""

    def __init__(self, now: datetime | None = None) -> None:
        handler = partial(_SampleHandler, sample_documents(now))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def feed_urls(self) -> list[str]:
        return [f"{self.base_url}/{name}" for name in SAMPLE_FILES]

    def __enter__(self) -> SampleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
