"""Organisations named in a text, as the shipped list and its header's rules say: names and
aliases as written, at word boundaries, the longest form first, and a form that is not
enough on its own (of an ambiguous entry, or shared) only beside a sure one."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from aggregator.classify.organisations import (
    Organisation,
    OrganisationMatcher,
    find_organisations,
    kinds,
    read_organisations,
)

CASES = [
    ("CBP said on Tuesday", ["CBP"]),
    ("Officers of ICE detained him", ["ICE"]),
    ("ice on the runway delayed flights", []),
    ("cbp said on Tuesday", []),
    ("Cbp said on Tuesday", []),
    ("a NOTICE was posted", []),
    ("CBPs and ICEs", []),
    ("the (CBP) programme, CBP's officers", ["CBP", "CBP"]),
    ("iBeta tested it; IBETA and ibeta did not", ["iBeta"]),
    ("eu-LISA and EU-LISA run the EES", ["eu-LISA", "EU-LISA"]),
    ("U.S. Customs and Border Protection will expand", ["U.S. Customs and Border Protection"]),
    ("Customs and Border Protection will expand", ["Customs and Border Protection"]),
    ("the Information Commissioner\u2019s Office fined", ["Information Commissioner's Office"]),
    ("the Australian Federal\nPolice said", ["Australian Federal Police"]),
    ("Aware, Inc. sold Face++ software", ["Aware, Inc.", "Face++"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:30] for c in CASES])
def test_names_are_found_as_written_at_word_boundaries_longest_first(
    text: str, expected: list[str]
) -> None:
    mentions = find_organisations(text)
    assert [m.found for m in mentions] == expected
    for mention in mentions:  # each span is where the text names it
        start, end = mention.span
        assert " ".join(text[start:end].replace("\u2019", "'").split()) == mention.found


AMBIGUOUS = [
    ("AFP reported the arrests", []),
    ("the Australian Federal Police (AFP) said; AFP added", ["AFP", "AFP", "AFP"]),
    ("Swift said", []),
    ("Apple said; apple pie", []),
    ("Apple Inc said", ["Apple Inc"]),
    ("Amazon Web Services and AWS", ["Amazon Web Services", "AWS"]),
    ("Home Affairs said", []),
    ("the Department of Home Affairs said", []),
]


@pytest.mark.parametrize(("text", "expected"), AMBIGUOUS, ids=[c[0][:30] for c in AMBIGUOUS])
def test_a_form_not_enough_alone_counts_only_beside_a_sure_form(
    text: str, expected: list[str]
) -> None:
    names = [m.name for m in find_organisations(text)]
    owners = {"AFP": "Australian Federal Police", "Apple Inc": "Apple", "AWS": "Amazon",
              "Amazon Web Services": "Amazon"}  # fmt: skip
    assert names == [owners.get(form, form) for form in expected]


def test_a_mention_names_the_organisation_its_kind_and_how_a_reader_sees_it() -> None:
    (mention,) = find_organisations("Frontex signed")
    assert (mention.name, mention.kind, mention.span) == ("Frontex", "EU agency", (0, 7))
    (cbp,) = find_organisations("CBP signed")
    assert cbp.name == "U.S. Customs and Border Protection"
    assert cbp.label == "CBP (border agency)"


def test_a_shared_form_is_told_by_the_sure_form_beside_it() -> None:
    matcher = OrganisationMatcher(
        [
            Organisation("Northern Border Agency", ("NBA",), "border agency"),
            Organisation("National Basketball Association", ("NBA",), "industry association"),
        ]
    )
    assert matcher.find("NBA said") == []
    found = matcher.find("The Northern Border Agency (NBA) said")
    assert [(m.found, m.kind) for m in found] == [
        ("Northern Border Agency", "border agency"),
        ("NBA", "border agency"),
    ]


def test_the_kind_vocabulary_is_every_kind_of_the_list() -> None:
    text = resources.files("aggregator").joinpath("data/organisations.toml").read_text("utf-8")
    entries = tomllib.loads(text)["organisation"]
    assert len(read_organisations(text)) == len(entries) == 290
    assert set(kinds()) == {entry["kind"] for entry in entries}
    assert len(kinds()) == len(set(kinds()))
    assert {"border agency", "EU agency", "data-protection authority", "testing lab"} <= set(
        kinds()
    )
