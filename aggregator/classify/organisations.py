"""Organisations of the field named in a text: vendors, agencies, regulators, labs.

The list is `aggregator/data/organisations.toml` (its header says what each field means).
`find_organisations(text)` answers every organisation the text names, with its kind and
where it is named; the classifier turns the kinds into features
(`aggregator.classify.features`), and the watchlist matches the same mentions. Imports
nothing heavy.

Matching follows the file's header: names and aliases as written (case-sensitive, so
"ICE" is the agency and "ice" is not; "Apple" is never "apple"), at word boundaries, the
longest form first where forms overlap ("U.S. Customs and Border Protection" rather than
"Customs and Border Protection"); only typography is normalised (curly quotes,
non-breaking spaces, typographic hyphens, each to one character so that spans stay
those of the text given).

**Forms that are not enough on their own.** A form is *sure* when it belongs to one
organisation and, if that organisation is marked `ambiguous = true`, has more than one
word ("Amazon Web Services", "Society for Worldwide Interbank Financial Telecommunication",
"Australian Federal Police"). Any other form ("Apple", "Swift", "AFP", "Meta", and "Home
Affairs", which two departments share) counts only in a text where a sure form of the same
organisation is also found: "the Australian Federal Police (AFP)" names it twice, "AFP
reported" names nobody. The header asks for "supporting context" before an ambiguous
match counts; another of the organisation's own forms is the context that needs no
guessing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

_DATA = "data/organisations.toml"
# Typography normalised before matching, one character for one so spans are unchanged.
_TYPOGRAPHY = (
    ("\u2018", "'"), ("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"'),
    ("\u00a0", " "), ("\u2007", " "), ("\u202f", " "),
    ("\u2010", "-"), ("\u2011", "-"),
)  # fmt: skip


@dataclass(frozen=True)
class Organisation:
    name: str
    aliases: tuple[str, ...]
    kind: str
    country: str | None = None
    ambiguous: bool = False

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class OrganisationMention:
    """One place a text names an organisation: `name` is the organisation's usual name,
    `found` the form the text uses ("CBP"), `span` its (start, end) in the text."""

    name: str
    kind: str
    found: str
    span: tuple[int, int]

    @property
    def label(self) -> str:
        """How a person reads the mention: "CBP (border agency)"."""
        return f"{self.found} ({self.kind})"


class OrganisationMatcher:
    """Every form of every organisation in a compiled regex, its alternatives a trie of the
    forms' characters, so that the regex engine follows one branch per character of the
    text rather than trying each form in turn (BENCHMARKS.md has both timed)."""

    def __init__(self, organisations: Sequence[Organisation]) -> None:
        self.organisations = tuple(organisations)
        owners: dict[str, list[Organisation]] = {}
        for organisation in self.organisations:
            for form in organisation.forms:
                if organisation not in owners.setdefault(form, []):
                    owners[form].append(organisation)
        self._owners = owners
        self._sure = {
            form: found[0]
            for form, found in owners.items()
            if len(found) == 1 and (not found[0].ambiguous or len(form.split()) > 1)
        }
        # Each form ends where a word ends (a form's own last character may be punctuation,
        # as in "Aware, Inc."); where it starts is checked in `find`, so that the pattern
        # begins with the forms' first characters, which the regex engine scans for. Nearly
        # every form begins with a capital, rare in running text; the few that begin with a
        # small letter ("iBeta", "eu-LISA") would make the engine stop at every "i" and "e",
        # so they are looked for apart, and only in a text that holds one.
        capitals = [form for form in owners if form[:1].isupper()]
        self._small = tuple(form for form in owners if not form[:1].isupper())
        self._patterns = [re.compile(f"(?:{_trie_pattern(capitals)})(?!\\w)")]
        if self._small:
            self._small_pattern = re.compile(f"(?:{_trie_pattern(self._small)})(?!\\w)")

    def find(self, text: str) -> list[OrganisationMention]:
        """The organisations `text` names, in the order it names them (see the module's
        docstring for which forms count)."""
        if not text.isascii():
            # str.replace where needed: `str.translate` looks each character up in Python.
            for typographic, plain in _TYPOGRAPHY:
                if typographic in text:
                    text = text.replace(typographic, plain)
        patterns = self._patterns
        if any(map(text.__contains__, self._small)):
            patterns = [*patterns, self._small_pattern]
        found: list[tuple[str, int, int]] = []
        for pattern in patterns:
            search = pattern.search
            position = 0
            while (match := search(text, position)) is not None:
                start, end = match.span()
                if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                    position = start + 1  # inside a word: look again from the next character
                    continue
                # The form as listed, whatever whitespace the text puts between its words.
                found.append((" ".join(match.group().split()), start, end))
                position = end
        if not found:
            return []
        if len(patterns) > 1:
            found.sort(key=lambda mention: mention[1])
        sure = self._sure
        named = {sure[form] for form, _, _ in found if form in sure}
        mentions = []
        for form, start, end in found:
            organisation = sure.get(form) or next(
                (o for o in self._owners[form] if o in named), None
            )
            if organisation is not None:
                mentions.append(
                    OrganisationMention(organisation.name, organisation.kind, form, (start, end))
                )
        return mentions


# A node of a trie of characters; "" marks the end of a form.
_Trie = dict[str, "_Trie"]


def _trie_pattern(forms: Iterable[str]) -> str:
    """A regex matching exactly `forms`, the longest first at each position: the forms'
    characters as a trie, each node's children in one alternation and a node where a form
    ends made optional, greedy, so that a longer form is tried before it and the engine
    backs off to it only if the longer one fails. A space matches any run of whitespace (a
    name broken over a line is the same name)."""
    trie: _Trie = {}
    for form in forms:
        node = trie
        for character in form:
            node = node.setdefault(character, {})
        node[""] = {}

    def pattern(node: _Trie) -> str:
        branches = [
            (r"\s+" if character == " " else re.escape(character)) + pattern(child)
            for character, child in sorted(node.items())
            if character
        ]
        if not branches:
            return ""
        joined = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        if "" in node:
            return f"(?:{joined})?"
        return joined

    return pattern(trie)


def read_organisations(text: str) -> list[Organisation]:
    """The organisations of a file in the format of `organisations.toml`."""
    organisations = []
    for entry in tomllib.loads(text)["organisation"]:
        organisations.append(
            Organisation(
                name=entry["name"],
                aliases=tuple(entry.get("aliases", ())),
                kind=entry["kind"],
                country=entry.get("country"),
                ambiguous=bool(entry.get("ambiguous", False)),
            )
        )
    return organisations


@cache
def default_matcher() -> OrganisationMatcher:
    """The matcher of the shipped list, built once per process."""
    text = resources.files("aggregator").joinpath(_DATA).read_text(encoding="utf-8")
    return OrganisationMatcher(read_organisations(text))


def find_organisations(text: str) -> list[OrganisationMention]:
    """The organisations of the shipped list that `text` names, in order."""
    return default_matcher().find(text)


def kinds() -> tuple[str, ...]:
    """The kind vocabulary: every kind of the shipped list, in the order first listed."""
    return tuple(dict.fromkeys(o.kind for o in default_matcher().organisations))
