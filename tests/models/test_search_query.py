"""The search grammar, parsed without a database: what each query asks for, the FTS5
expression it becomes on SQLite, and the queries refused with a message for the user."""

from __future__ import annotations

import pytest

from models.search import (
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    SearchQuery,
    SearchQueryError,
    fts5_expression,
    parse_query,
)


@pytest.mark.parametrize(
    ("q", "groups", "excluded"),
    [
        ("airport gates", [["airport"], ["gates"]], []),
        ('"face matching" gates', [["face matching"], ["gates"]], []),
        ('"unclosed phrase', [["unclosed phrase"]], []),
        ("airport -strike", [["airport"]], ["strike"]),
        ('airport -"border control"', [["airport"]], ["border control"]),
        ("kiosk OR e-gate", [["kiosk", "e-gate"]], []),
        ("airport kiosk OR e-gate", [["airport"], ["kiosk", "e-gate"]], []),
        ("a OR b OR c d", [["a", "b", "c"], ["d"]], []),
        ('"a b" OR c', [["a b", "c"]], []),
        # Only capitals make OR an operator; a dangling one is dropped.
        ("cats or dogs", [["cats"], ["or"], ["dogs"]], []),
        ("OR cats OR", [["cats"]], []),
        ('"OR" cats', [["OR"], ["cats"]], []),
        # OR joins two wanted terms, never an exclusion.
        ("cats OR -dogs birds", [["cats"], ["birds"]], ["dogs"]),
        ("cats -dogs OR birds", [["cats"], ["birds"]], ["dogs"]),
        # Punctuation alone is dropped, wherever it stands.
        ("cats OR * OR dogs", [["cats", "dogs"]], []),
        ("( airport ) - ^ *", [["airport"]], []),
        ("airport --strike", [["airport"]], ["strike"]),
        ("e-gate x-ray", [["e-gate"], ["x-ray"]], []),
        # Syntax of FTS5 or of tsquery is text like any other.
        ("title:x NEAR(a b) x* ^y a&b !c", [["title:x"], ["NEAR(a"], ["b)"], ["x*"], ["^y"],
                                          ["a&b"], ["!c"]], []),
        ('foo"bar baz"', [["foo"], ["bar baz"]], []),
        # Control characters and lone surrogates separate words.
        ("air\x00port e\ud800gate", [["air"], ["port"], ["e"], ["gate"]], []),
        ("café 🙂 naïve", [["café"], ["naïve"]], []),
    ],
)  # fmt: skip
def test_what_a_query_asks_for(q: str, groups: list[list[str]], excluded: list[str]) -> None:
    query = parse_query(q)
    assert query == SearchQuery(tuple(map(tuple, groups)), tuple(excluded))


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("", "at least one word"),
        ("   ", "at least one word"),
        ("-", "at least one word"),
        ('"', "at least one word"),
        ('""', "at least one word"),
        ("*", "at least one word"),
        ("OR", "at least one word"),
        ("OR OR", "at least one word"),
        ("🙂", "at least one word"),
        ("... !!! ()", "at least one word"),
        ("-airport", "'-word' only excludes"),
        ('-"border control" -strike', "'-word' only excludes"),
        ("x" * (MAX_QUERY_LENGTH + 1), f"at most {MAX_QUERY_LENGTH} characters"),
        (" ".join(["word"] * (MAX_TERMS + 1)), f"at most {MAX_TERMS} words and phrases"),
    ],
    ids=lambda value: value[:20] if isinstance(value, str) else value,
)
def test_a_query_with_nothing_to_look_for_is_refused(q: str, message: str) -> None:
    with pytest.raises(SearchQueryError, match=message):
        parse_query(q)
    assert issubclass(SearchQueryError, ValueError)


@pytest.mark.parametrize(
    ("q", "expression"),
    [
        ("airport", '"airport"'),
        ("airport gates", '"airport" AND "gates"'),
        ('"face matching"', '"face matching"'),
        ("kiosk OR e-gate airport", '("kiosk" OR "e-gate") AND "airport"'),
        ('airport -strike -"border control"', '("airport") NOT "strike" NOT "border control"'),
        ("title:x NEAR(", '"title:x" AND "NEAR("'),
        ("x* ^y", '"x*" AND "^y"'),
    ],
)
def test_every_term_is_an_fts5_string(q: str, expression: str) -> None:
    assert fts5_expression(parse_query(q)) == expression
