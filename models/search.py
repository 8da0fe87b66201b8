"""Ranked full-text search over the articles' titles and texts, on both dialects.

The grammar is the one web search taught everyone, parsed here for both dialects so that
the same input means the same search, and fails the same way, on each:

- words are all required: `airport gates`;
- `"quoted words"` are a phrase; a quote left open runs to the end of the query;
- `-word` and `-"a phrase"` exclude;
- `OR` (in capitals) between two terms accepts either: `kiosk OR e-gate`. It binds tighter
  than the implicit AND: `airport kiosk OR e-gate` is airport AND (kiosk OR e-gate);
- everything else is text: `title:x`, `NEAR(`, `*`, `^` and parentheses are words or
  punctuation, never syntax. A term with no letter or digit is dropped.

A query with nothing to look for raises `SearchQueryError`, whose message is for the user.

Each term is matched as its dialect's tokenizer reads it, with English stemming
("airports" finds "airport"); the term `e-gate` is the phrase "e gate". On SQLite the
parsed query becomes an FTS5 expression in which every term is an FTS5 string, so that no
input can reach FTS5's own syntax; on PostgreSQL, a tsquery made of one
`phraseto_tsquery` a term. (PostgreSQL's `websearch_to_tsquery` reads the same grammar but
lets AND bind tighter than OR, takes `or` in any case, and reads backslashes as escapes.)
PostgreSQL drops English stop words ("the" alone finds nothing there) and keeps accents
("cafe" does not find "café" there); SQLite keeps the one and folds the other.

A match's rank is a float, higher is better, comparable only within one query on one
database: SQLite's `-bm25()` (the title counting ten times the text), PostgreSQL's
`ts_rank` (title weight 1.0, text 0.1). It is the same every time it is computed on the
same data, so `rank_of` lets a caller continue after an article (keyset pagination).

Snippets come from the article's text (not its title) with each matched word between
`MARK_START` and `MARK_END`. Those characters of the text itself are removed, so a marker
in a snippet is always a match; the caller escapes the rest as it would any text.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.dialect import dialect_name

MARK_START = "\x02"
MARK_END = "\x03"
MAX_QUERY_LENGTH = 1000
MAX_TERMS = 32
# About 30 words around the matches.
SNIPPET_TOKENS = 32
TITLE_WEIGHT = 10.0
TEXT_WEIGHT = 1.0


class SearchQueryError(ValueError):
    """A query that cannot be searched for; the message says why, to the user."""


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: every group must match (one of its terms: OR), and no exclusion may.
    A term is a word or a phrase, as typed, for each dialect's tokenizer to split."""

    groups: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...] = ()


# Characters that are no part of any word, and that the databases' drivers refuse or
# could read as the end of the query: control characters (NUL among them), and lone
# surrogates, which no encoding can carry.
_SEPARATORS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def parse_query(q: str) -> SearchQuery:
    """`q` parsed by the grammar above; `SearchQueryError` if it has nothing to look for,
    or is too long."""
    if len(q) > MAX_QUERY_LENGTH:
        raise SearchQueryError(f"a search is at most {MAX_QUERY_LENGTH} characters long")
    groups: list[tuple[str, ...]] = []
    excluded: list[str] = []
    after_term = join_next = False  # after a wanted term; after "OR" that follows one
    for item in _tokens(_SEPARATORS.sub(" ", q)):
        if item is None:  # OR
            join_next = after_term
            continue
        text, negated = item
        if not any(_is_word_character(c) for c in text):
            continue  # punctuation alone: skipped, as if it were not there
        if negated:
            excluded.append(text)
            after_term = join_next = False
        elif join_next:
            groups[-1] += (text,)
            join_next = False
        else:
            groups.append((text,))
            after_term = True
    if not groups:
        if excluded:
            raise SearchQueryError(
                "a search needs at least one word to look for; '-word' only excludes"
            )
        raise SearchQueryError("a search needs at least one word to look for")
    if sum(map(len, groups)) + len(excluded) > MAX_TERMS:
        raise SearchQueryError(f"a search can hold at most {MAX_TERMS} words and phrases")
    return SearchQuery(tuple(groups), tuple(excluded))


def _tokens(q: str) -> Iterator[tuple[str, bool] | None]:
    """The query's terms as (text, excluded), and None for each OR between them."""
    i, end = 0, len(q)
    while i < end:
        if q[i].isspace():
            i += 1
            continue
        negated = False
        if q[i] == "-":
            while i < end and q[i] == "-":
                i += 1
            if i == end or q[i].isspace():
                continue  # a dash alone
            negated = True
        if q[i] == '"':
            close = q.find('"', i + 1)
            close = end if close == -1 else close
            yield q[i + 1 : close], negated
            i = close + 1
            continue
        start = i
        while i < end and not q[i].isspace() and q[i] != '"':
            i += 1
        word = q[start:i]
        yield None if word == "OR" and not negated else (word, negated)


def _is_word_character(character: str) -> bool:
    # What FTS5's unicode61 tokenizer takes into words: letters, numbers, private use.
    return character.isalnum() or unicodedata.category(character) == "Co"


# SQLite: the FTS5 table of the migration `20261207_1900_full_text_search`, whose hidden
# column of the same name is what MATCH and the ranking functions take.
_FTS = sa.table("articles_fts", sa.column("rowid", sa.Integer()))
_FTS_COLUMN: sa.ColumnClause[object] = sa.literal_column("articles_fts")
# PostgreSQL: the articles with the generated column of the same migration, under a name
# of their own (the caller's statement has its own `articles`).
_SEARCHED = sa.table(
    "articles",
    sa.column("id", sa.Integer()),
    sa.column("text", sa.Text()),
    sa.column("search_vector"),
).alias("searched")
_ENGLISH: sa.ColumnClause[object] = sa.literal_column("'english'::regconfig")
# ts_rank's weights, in the order {D, C, B, A}: the title is A, the text B.
_PG_WEIGHTS: sa.ColumnClause[object] = sa.literal_column(
    f"'{{0.0, 0.0, {TEXT_WEIGHT / TITLE_WEIGHT}, 1.0}}'::float4[]"
)
# Divide by 1 + log(length), as bm25 weighs a long text's matches less.
_PG_NORMALIZATION = 1
_PG_INDEXED_TEXT = 100_000
_PG_SHORT_TEXT = 200  # characters: about the length of a snippet


def search_matches(session: Session, q: str) -> sa.Subquery:
    """The articles that match `q`, as a subquery with the columns `article_id` and `rank`
    (a float, higher is better; see the module's docstring). Join it to `articles` on
    `article_id` and order by `rank` descending, then by whatever breaks ties.
    Raises `SearchQueryError` for a query with nothing to look for."""
    query = parse_query(q)
    if dialect_name(session) == "postgresql":
        wanted, tsquery = _tsqueries(query)
        # Ranked by what is wanted: ts_rank reads an exclusion's absence as a match. Its
        # float4 is made a float8, which reaches Python, and comes back, unchanged: the
        # float4's shortest text does not (keyset pagination compares ranks for equality).
        rank: sa.ColumnElement[float] = sa.cast(
            sa.func.ts_rank(_PG_WEIGHTS, _SEARCHED.c.search_vector, wanted, _PG_NORMALIZATION),
            sa.Double(),
        )
        statement = sa.select(_SEARCHED.c.id.label("article_id"), rank.label("rank")).where(
            _SEARCHED.c.search_vector.bool_op("@@")(tsquery),
            # A query of stop words alone has no lexeme to look for, and its exclusions
            # alone would match nearly everything.
            sa.func.numnode(wanted) > 0,
        )
    else:
        bm25 = sa.func.bm25(_FTS_COLUMN, TITLE_WEIGHT, TEXT_WEIGHT, type_=sa.Float())
        statement = sa.select(_FTS.c.rowid.label("article_id"), (-bm25).label("rank")).where(
            _FTS_COLUMN.op("MATCH")(sa.literal(fts5_expression(query), sa.String()))
        )
    return statement.subquery("search")


def rank_of(session: Session, q: str, article_id: int) -> float | None:
    """The rank of article `article_id` among the matches of `q`, exactly as
    `search_matches` gives it; None if the article does not match."""
    matches = search_matches(session, q)
    return session.scalar(sa.select(matches.c.rank).where(matches.c.article_id == article_id))


def highlighted_snippets(session: Session, q: str, article_ids: Iterable[int]) -> dict[int, str]:
    """For each of `article_ids` that matches `q`, about 30 words of its text around the
    matches, each matched word between `MARK_START` and `MARK_END` (the text's beginning
    when only the title matched; "…" where the text goes on)."""
    query = parse_query(q)
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return {}
    if dialect_name(session) == "postgresql":
        return _pg_snippets(session, query, ids)
    # The markers FTS5 puts in are made unguessable for this call, so that the text's own
    # marker characters can be told from them, and removed.
    nonce = secrets.token_hex(8)
    start, end = f"{MARK_START}{nonce}{MARK_START}", f"{MARK_END}{nonce}{MARK_END}"
    snippet = sa.func.snippet(_FTS_COLUMN, 1, start, end, "…", SNIPPET_TOKENS, type_=sa.Text())
    rows = session.execute(
        sa.select(_FTS.c.rowid, snippet).where(
            _FTS_COLUMN.op("MATCH")(sa.literal(fts5_expression(query), sa.String())),
            _FTS.c.rowid.in_(ids),
        )
    )
    marks = re.compile(f"({re.escape(start)}|{re.escape(end)})")
    own = {start: MARK_START, end: MARK_END}
    return {
        article_id: "".join(own.get(part) or _without_marks(part) for part in marks.split(text))
        for article_id, text in rows
    }


def fts5_expression(query: SearchQuery) -> str:
    """`query` as an FTS5 MATCH expression, every term an FTS5 string."""
    positive = " AND ".join(
        _fts5_string(group[0]) if len(group) == 1 else f"({' OR '.join(map(_fts5_string, group))})"
        for group in query.groups
    )
    if not query.excluded:
        return positive
    # FTS5's NOT is binary: what is wanted, NOT each exclusion in turn.
    return f"({positive})" + "".join(f" NOT {_fts5_string(t)}" for t in query.excluded)


def _fts5_string(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _tsqueries(query: SearchQuery) -> tuple[sa.ColumnElement[object], sa.ColumnElement[object]]:
    """The tsquery of what `query` wants, and the whole of it (exclusions included)."""

    def term(text: str) -> sa.ColumnElement[object]:
        return sa.func.phraseto_tsquery(_ENGLISH, sa.literal(text, sa.Text()))

    def combine(function: str, terms: list[sa.ColumnElement[object]]) -> sa.ColumnElement[object]:
        combined = terms[0]
        for other in terms[1:]:
            combined = getattr(sa.func, function)(combined, other)
        return combined

    wanted = combine(
        "tsquery_and", [combine("tsquery_or", [term(t) for t in group]) for group in query.groups]
    )
    excluded = [sa.func.tsquery_not(term(t)) for t in query.excluded]
    return wanted, combine("tsquery_and", [wanted, *excluded])


def _pg_snippets(session: Session, query: SearchQuery, ids: list[int]) -> dict[int, str]:
    wanted, tsquery = _tsqueries(query)
    text = sa.func.left(_SEARCHED.c.text, _PG_INDEXED_TEXT)
    # Without the text's own marker characters.
    cleaned = sa.func.translate(text, MARK_START + MARK_END, "")
    options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_TOKENS + 3}, "
    options += f"MinWords={SNIPPET_TOKENS - 2}"

    def headline(more_options: str) -> sa.ColumnElement[str]:
        return sa.func.ts_headline(_ENGLISH, cleaned, wanted, options + more_options)

    # A fragment centred on the matches, as FTS5's snippet is; but a fragment never starts
    # at the text's first word, so a short text is taken whole.
    snippet = sa.case(
        (sa.func.length(cleaned) < _PG_SHORT_TEXT, headline("")),
        else_=headline(", MaxFragments=1"),
    )
    rows = session.execute(
        sa.select(_SEARCHED.c.id, cleaned.label("text"), snippet).where(
            _SEARCHED.c.id.in_(ids),
            _SEARCHED.c.search_vector.bool_op("@@")(tsquery),
            sa.func.numnode(wanted) > 0,
        )
    )
    snippets = {}
    for article_id, whole, snippet in rows:
        # ts_headline marks no cut: the ellipses FTS5's snippet would put.
        plain = _without_marks(snippet).strip()
        before = "" if whole.lstrip().startswith(plain) else "…"
        after = "" if whole.rstrip().endswith(plain) else "…"
        snippets[article_id] = before + snippet.strip() + after
    return snippets


_NO_MARKS = str.maketrans("", "", MARK_START + MARK_END)


def _without_marks(text: str) -> str:
    return text.translate(_NO_MARKS)
