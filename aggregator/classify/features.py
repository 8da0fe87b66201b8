"""Features for the topic classifier: TF-IDF of the headline, of the body and of both as one
text, side by side in one sparse matrix (see `aggregator.classify` for how they are used).
With `Params.organisation_kinds`, the whole text ends with a token for each kind of
organisation the article names (`kind_tokens`), so that "CBP" in real reporting and a
border agency in an invented article share a feature.

The blocks are scikit-learn's `TfidfVectorizer`s, used as shipped. Fitting is always
theirs; so is `transform` while the fast paths are off (`aggregator.speedups`), and while
they are on, `aggregator.classify.fast_tfidf` computes the same matrix in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from aggregator import speedups
from aggregator.classify import fast_tfidf
from aggregator.classify.organisations import find_organisations
from aggregator.classify.types import Document, Params, whole_text

# A kind's token is one word to the TF-IDF (word characters only) that no article writes.
KIND_TOKEN_PREFIX = "orgkind_"


@cache
def kind_token(kind: str) -> str:
    """The feature token of an organisation kind: "border agency" → "orgkind_border_agency"."""
    return KIND_TOKEN_PREFIX + "_".join(re.findall(r"[a-z0-9]+", kind.lower()))


def kind_reasons(document: Document) -> dict[str, str]:
    """Each kind token of the article, as an explanation names it: the organisations of that
    kind the article names, each by the form it first uses, then the kind ("CBP (border
    agency)"; one reason never mixes kinds)."""
    forms: dict[str, dict[str, str]] = {}
    kinds: dict[str, str] = {}
    for mention in find_organisations(whole_text(document)):
        token = kind_token(mention.kind)
        kinds[token] = mention.kind
        forms.setdefault(token, {}).setdefault(mention.name, mention.found)
    return {token: f"{', '.join(forms[token].values())} ({kind})" for token, kind in kinds.items()}


def kind_tokens(document: Document) -> list[str]:
    """The kind's token of each organisation the article names, once a mention, in order: an
    organisation named three times weighs as a word written three times would (one token
    a kind, whatever the count, did worse on the development sets: BENCHMARKS.md)."""
    return [kind_token(m.kind) for m in find_organisations(whole_text(document))]


def whole_text_with_kinds(document: Document) -> str:
    """The whole-text block's text with the kinds' tokens after the body, on their own line.
    An article naming no organisation keeps the text it had without the feature."""
    tokens = kind_tokens(document)
    text = whole_text(document)
    return f"{text}\n{' '.join(tokens)}" if tokens else text


class Features:
    """Three blocks side by side in one sparse matrix, each L2-normalised on its own: the
    headline alone, the body alone, and (with `Params.whole_text`) the headline and body as
    one text. The separate blocks let a headline word count on its own; the whole-text block
    adds one vector over all the article's words. Nested cross-validation preferred the three
    blocks to the first two on both the Reuters training split and the seed set (see
    BENCHMARKS.md). With `organisation_kinds` (and a whole-text block), that block's text
    ends with the kinds of organisation the article names (`whole_text_with_kinds`)."""

    def __init__(
        self,
        title: TfidfVectorizer,
        body: TfidfVectorizer,
        whole: TfidfVectorizer | None,
        title_weight: float,
        organisation_kinds: bool = False,
    ) -> None:
        self.title = title
        self.body = body
        self.whole = whole
        self.title_weight = title_weight
        # Off for models stored before the feature: they read the whole text alone.
        self.organisation_kinds = organisation_kinds and whole is not None
        # The fast path's word ids, derived from the fitted vocabularies (`index_words`).
        self._fast: fast_tfidf.FastFeatures | None = None

    @classmethod
    def for_training(cls, params: Params) -> Features:
        """Unfitted blocks: word 1–2-grams with sublinear tf, seen in `min_df` articles."""

        def block() -> TfidfVectorizer:
            return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=params.min_df)

        whole = block() if params.whole_text else None
        return cls(block(), block(), whole, params.title_weight, params.organisation_kinds)

    def _whole_texts(self, documents: Sequence[Document]) -> list[str]:
        whole = whole_text_with_kinds if self.organisation_kinds else whole_text
        return [whole(d) for d in documents]

    def blocks(self) -> list[TfidfVectorizer]:
        """The blocks in the order of the matrix's columns: headline, body, whole text."""
        return [self.title, self.body] + ([self.whole] if self.whole is not None else [])

    def fit_transform(self, documents: Sequence[Document]) -> sparse.csr_matrix:
        self._fast = None
        matrix = [
            self.title.fit_transform([d.title for d in documents]) * self.title_weight,
            self.body.fit_transform([d.text for d in documents]),
        ]
        if self.whole is not None:
            matrix.append(self.whole.fit_transform(self._whole_texts(documents)))
        self.index_words()
        return sparse.hstack(matrix, format="csr")

    def index_words(self) -> None:
        """Derive the fast path's word ids from the fitted vocabularies now, once a model is
        fitted or loaded, rather than in its first prediction: for a large vocabulary that
        is a Python loop over every term, which would otherwise land on whichever article
        happens to be tagged first."""
        if speedups.enabled() and fast_tfidf.supports(self.blocks()):
            self._fast = fast_tfidf.FastFeatures(
                self.blocks(), self.title_weight, kind_tokens if self.organisation_kinds else None
            )

    def transform(self, documents: Sequence[Document]) -> sparse.csr_matrix:
        if speedups.enabled() and fast_tfidf.supports(self.blocks()):
            if self._fast is None:
                self.index_words()
            assert self._fast is not None
            return self._fast.transform(documents)
        matrix = [
            self.title.transform([d.title for d in documents]) * self.title_weight,
            self.body.transform([d.text for d in documents]),
        ]
        if self.whole is not None:
            matrix.append(self.whole.transform(self._whole_texts(documents)))
        return sparse.hstack(matrix, format="csr")

    def names(self) -> list[str]:
        """The term of every column, block by block: headline, body, whole text."""
        return [str(name) for block in self.blocks() for name in block.get_feature_names_out()]
