"""Content decoding of a fetched body, however the network splits it: gzip, zlib-wrapped
deflate and the raw deflate some servers send as "deflate", fed a byte at a time."""

from __future__ import annotations

import gzip
import zlib

import pytest

from aggregator.errors import FetchError
from aggregator.ingest.fetch import _Decoder

BODY = b"<rss><channel><title>Biometrics</title></channel></rss>" * 200


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODED = {
    "gzip": ("gzip", gzip.compress(BODY)),
    "zlib-deflate": ("deflate", zlib.compress(BODY)),
    "raw-deflate": ("deflate", _raw_deflate(BODY)),
}


def _decode(coding: str, chunks: list[bytes]) -> bytes:
    decoder = _Decoder(coding)
    return b"".join(piece for chunk in chunks for piece in decoder.feed(chunk, 10**9))


@pytest.mark.parametrize("case", list(ENCODED), ids=list(ENCODED))
@pytest.mark.parametrize("chunk_size", [1, 2, 7, 65536], ids=lambda n: f"{n}-byte reads")
def test_a_body_decodes_however_the_network_splits_it(case: str, chunk_size: int) -> None:
    coding, encoded = ENCODED[case]
    chunks = [encoded[i : i + chunk_size] for i in range(0, len(encoded), chunk_size)]
    assert _decode(coding, chunks) == BODY


def test_a_body_that_is_no_deflate_at_all_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="not valid deflate"):
        _decode("deflate", [b"\xff\xfe this is not compressed"])
