"""Biowire's exceptions.

    BiowireError
    ├── FetchError            a source could not be fetched (recorded on the source)
    │   ├── BlockedAddress    the URL resolves to an address the SSRF guard forbids
    │   ├── BodyTooLarge      the body passed the size limit (after decompression)
    │   └── HTTPStatusError   the server answered with an error status
    ├── ParseError            the body is not a feed Biowire can read
    ├── SchemaOutOfDate       the database is behind the code's migrations
    └── ClassifierError       no topics to train on, or no usable model

A source's failure is data: the poller stores `str(error)` on the source and carries on.
"""

from __future__ import annotations


class BiowireError(Exception):
    """Base of every error Biowire raises on purpose."""


class FetchError(BiowireError):
    pass


class BlockedAddress(FetchError):
    pass


class BodyTooLarge(FetchError):
    pass


class HTTPStatusError(FetchError):
    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(BiowireError):
    pass


class SchemaOutOfDate(BiowireError):
    pass


class ClassifierError(BiowireError):
    pass
