"""The parameters routes share, each with its bounds, so that nothing out of range reaches
the database: an id past 64 bits, for one, is no integer SQLite or PostgreSQL can compare,
and would fail there (a 500) instead of here (a 422 that names the parameter).

Use them as a parameter's type: `article_id: ArticleId`, `before: Cursor = None`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

# Ids are 64-bit signed integers in every database Biowire runs on.
MAX_ID = 2**63 - 1
SLUG_MAX = 100
SEARCH_MAX = 200


def _only(pattern: str, message: str) -> BeforeValidator:
    """Refuse a string not wholly matching `pattern` before pydantic reads it: pydantic
    would also read a number of seconds since 1970 ("0", "0.5") and ISO's other forms,
    where the document promises these and links carry them."""
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, str) and not compiled.fullmatch(value):
            raise ValueError(message)
        return value

    return BeforeValidator(check)


# A day, as YYYY-MM-DD and nothing else.
IsoDate = Annotated[date, _only(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "a date is YYYY-MM-DD")]


def _blank_as_none(value: object) -> object:
    return None if value == "" else value


# A day a form may leave blank (an empty `<input type="date">` sends ""): blank is none,
# as the document says.
FormDate = Annotated[
    IsoDate | None,
    BeforeValidator(_blank_as_none),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"const": ""},
                              {"type": "null"}]}),
]  # fmt: skip

# A moment, as ISO 8601: a date (midnight) or a date and time, UTC when no zone is given.
IsoMoment = Annotated[
    datetime,
    _only(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].+)?",
          "a time is ISO 8601: YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][zone]"),
]  # fmt: skip

# No NUL in a string: PostgreSQL's text cannot hold one, and would fail a query with it.
NO_NUL = r"^[^\x00]*$"

# Marks a string parameter as a topic's slug: the OpenAPI document lists the database's
# topics as its `enum` (`web.openapi.install_openapi`).
TOPIC_SLUG = {"x-biowire-topic-slug": True}

ArticleId = Annotated[
    int,
    Path(
        ge=1, le=MAX_ID, description="The article's id.",
        openapi_examples={"an article": {"value": 1}},
    ),
]  # fmt: skip
Cursor = Annotated[
    int | None,
    Query(ge=1, le=MAX_ID, description="Id of the last article seen: the page continues after it."),
]


def _blank_is_none(value: int | str | None) -> int | str | None:
    return value or None


# The digest's filter form sends `source=` for "all sources": blank means no filter.
SourceFilter = Annotated[
    Annotated[int, Field(ge=1, le=MAX_ID)] | Literal[""] | None,
    AfterValidator(_blank_is_none),
    Query(description="Only the articles of this source (its id); blank: every source."),
]
TopicSlug = Annotated[
    str,
    Path(
        min_length=1, max_length=SLUG_MAX, pattern=NO_NUL, description="The topic's slug.",
        json_schema_extra=TOPIC_SLUG, openapi_examples={"a topic": {"value": "digital-id"}},
    ),
]  # fmt: skip
TopicFilter = Annotated[
    str | None,
    Query(
        max_length=SLUG_MAX,
        pattern=NO_NUL,
        description="Only this topic (its slug); blank: every topic.",
    ),
]
SearchQuery = Annotated[
    str | None,
    Query(max_length=SEARCH_MAX, pattern=NO_NUL, description="Words in the title or text."),
]
