"""Features for the topic classifier: TF-IDF of the headline, of the body and of both as one
text, side by side in one sparse matrix (see `aggregator.classify` for how they are used).

The blocks are scikit-learn's `TfidfVectorizer`s, used as shipped. Fitting is always
theirs; so is `transform` while the fast paths are off (`aggregator.speedups`), and while
they are on, `aggregator.classify.fast_tfidf` computes the same matrix in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from aggregator import speedups
from aggregator.classify import fast_tfidf
from aggregator.classify.types import Document, Params, whole_text


class Features:
    """Three blocks side by side in one sparse matrix, each L2-normalised on its own: the
    headline alone, the body alone, and (with `Params.whole_text`) the headline and body as
    one text. The separate blocks let a headline word count on its own; the whole-text block
    adds one vector over all the article's words. Nested cross-validation preferred the three
    blocks to the first two on both the Reuters training split and the seed set (see
    BENCHMARKS.md)."""

    def __init__(
        self,
        title: TfidfVectorizer,
        body: TfidfVectorizer,
        whole: TfidfVectorizer | None,
        title_weight: float,
    ) -> None:
        self.title = title
        self.body = body
        self.whole = whole
        self.title_weight = title_weight
        # The fast path's word ids, derived from the fitted vocabularies (`index_words`).
        self._fast: fast_tfidf.FastFeatures | None = None

    @classmethod
    def for_training(cls, params: Params) -> Features:
        """Unfitted blocks: word 1–2-grams with sublinear tf, seen in `min_df` articles."""

        def block() -> TfidfVectorizer:
            return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=params.min_df)

        return cls(block(), block(), block() if params.whole_text else None, params.title_weight)

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
            matrix.append(self.whole.fit_transform([whole_text(d) for d in documents]))
        self.index_words()
        return sparse.hstack(matrix, format="csr")

    def index_words(self) -> None:
        """Derive the fast path's word ids from the fitted vocabularies now, once a model is
        fitted or loaded, rather than in its first prediction: for a large vocabulary that
        is a Python loop over every term, which would otherwise land on whichever article
        happens to be tagged first."""
        if speedups.enabled() and fast_tfidf.supports(self.blocks()):
            self._fast = fast_tfidf.FastFeatures(self.blocks(), self.title_weight)

    def transform(self, documents: Sequence[Document]) -> sparse.csr_matrix:
        if speedups.enabled() and fast_tfidf.supports(self.blocks()):
            if self._fast is None:
                self._fast = fast_tfidf.FastFeatures(self.blocks(), self.title_weight)
            return self._fast.transform(documents)
        matrix = [
            self.title.transform([d.title for d in documents]) * self.title_weight,
            self.body.transform([d.text for d in documents]),
        ]
        if self.whole is not None:
            matrix.append(self.whole.transform([whole_text(d) for d in documents]))
        return sparse.hstack(matrix, format="csr")

    def names(self) -> list[str]:
        """The term of every column, block by block: headline, body, whole text."""
        return [str(name) for block in self.blocks() for name in block.get_feature_names_out()]
