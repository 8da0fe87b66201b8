"""Features for the topic classifier: TF-IDF of the headline, of the body and of both as one
text, side by side in one sparse matrix (see `aggregator.classify` for how they are used).

Fitting is scikit-learn's (`TfidfVectorizer`); prediction looks each token up once as a word
id and weights the matrix with NumPy, which gives scikit-learn's matrix at a fraction of
its cost per call. Stored models pickle these classes, so their names are part of the
stored format: `aggregator.classify` keeps the names of older models for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

if TYPE_CHECKING:
    from aggregator.classify.types import Document, Params


# scikit-learn's default token pattern, and a pattern that finds the same tokens sooner.
_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_WORD_RUNS = re.compile(r"\w\w+")


class Tfidf(TfidfVectorizer):
    """Word 1–2-gram TF-IDF, fitted by scikit-learn, with a vectorised `transform`.

    scikit-learn's `transform` builds every n-gram of a new article as a string and looks it
    up; most bigrams are unseen, and that per-n-gram Python work was nearly all of prediction
    time. Here each token is looked up once, as a word id, and the bigrams are found as pairs
    of ids with NumPy. The matrix is the same as scikit-learn's (a test checks it).
    """

    def fit_transform(self, raw_documents: Any, y: Any = None) -> Any:
        matrix = super().fit_transform(raw_documents, y)
        self._index_vocabulary()
        return matrix

    def fit(self, raw_documents: Any, y: Any = None) -> Tfidf:
        super().fit(raw_documents, y)
        self._index_vocabulary()
        return self

    def build_tokenizer(self) -> Any:
        """scikit-learn's tokenizer; for its default pattern, the same tokens found faster.
        `\\b\\w\\w+\\b` and `\\w\\w+` find the same words: a greedy run of word characters
        ends at a boundary, and a search never starts inside a run it could have matched
        from the run's start. The regex engine's boundary checks took a quarter of the
        search."""
        if self.tokenizer is None and self.token_pattern == _DEFAULT_TOKEN_PATTERN:
            return _WORD_RUNS.findall
        return super().build_tokenizer()

    def _index_vocabulary(self) -> None:
        """Word ids for every word of the vocabulary, and each bigram as a pair of them."""
        words: dict[str, int] = {}
        unigrams, pairs, pair_columns = [], [], []
        for term, column in self.vocabulary_.items():
            if " " not in term:
                unigrams.append((words.setdefault(term, len(words)), column))
        for term, column in self.vocabulary_.items():
            if " " in term:
                first, second = term.split(" ")
                a, b = words.setdefault(first, len(words)), words.setdefault(second, len(words))
                pairs.append((a, b))
                pair_columns.append(column)
        self._words = words
        self._unigram_column = np.full(len(words), -1, dtype=np.int64)
        for word, column in unigrams:
            self._unigram_column[word] = column
        keys = np.array([a * len(words) + b for a, b in pairs], dtype=np.int64)
        order = np.argsort(keys)
        self._pair_keys = keys[order]
        self._pair_columns = np.array(pair_columns, dtype=np.int64)[order]

    def transform(self, raw_documents: Any) -> Any:
        fast = self.analyzer == "word" and self.ngram_range == (1, 2) and not self.binary
        if not (fast and hasattr(self, "_words")):  # a model saved before this code
            return super().transform(raw_documents)
        preprocess, tokenize = self.build_preprocessor(), self.build_tokenizer()
        get, lengths, ids = self._words.get, [], []
        for document in raw_documents:
            tokens = [get(token, -1) for token in tokenize(preprocess(document))]
            lengths.append(len(tokens))
            ids.extend(tokens)
        return self._from_word_ids(np.array(ids, dtype=np.int64), np.array(lengths))

    def _from_word_ids(self, word: np.ndarray, lengths: np.ndarray) -> Any:
        """The tf-idf matrix of documents given as their tokens' word ids (−1: not a word of
        the vocabulary), one document after another, `lengths` tokens each."""
        rows, columns, values = self._weighted_terms(word, lengths)
        return _csr(rows, columns, values, (len(lengths), len(self.vocabulary_)), self.dtype)

    def _weighted_terms(
        self, word: np.ndarray, lengths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, weight) of each distinct term of each document, in row-major order:
        scikit-learn's tf-idf weighting and row normalisation, done on the arrays directly.
        (`TfidfTransformer.transform` validates its input on every call, which cost as much
        as the rest of a small batch's transform.)"""
        n_documents = len(lengths)
        rows, columns = self._term_occurrences(word, np.repeat(np.arange(n_documents), lengths))
        n_columns = len(self.vocabulary_)
        cells, counts = np.unique(rows * n_columns + columns, return_counts=True)
        term_rows, term_columns = np.divmod(cells, n_columns)
        values = counts.astype(np.float64)
        if self.sublinear_tf:
            values = np.log(values) + 1.0
        if self.use_idf:
            values *= self.idf_[term_columns]
        if self.norm == "l2":
            norms = np.sqrt(np.bincount(term_rows, weights=values * values, minlength=n_documents))
            values /= norms[term_rows]
        elif self.norm is not None:
            raise ValueError(f"unsupported norm {self.norm!r}")
        return term_rows, term_columns, values

    def _term_occurrences(self, word: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every occurrence of a vocabulary term, unigrams and bigrams, in
        tokens given as word ids (−1: not a word of the vocabulary) and each token's row."""
        known = word >= 0
        unigram = np.full(len(word), -1, dtype=np.int64)
        unigram[known] = self._unigram_column[word[known]]
        rows, columns = [row[unigram >= 0]], [unigram[unigram >= 0]]
        if len(word) > 1 and len(self._pair_keys):
            both = known[:-1] & known[1:] & (row[:-1] == row[1:])
            keys = word[:-1][both] * len(self._words) + word[1:][both]
            at = np.minimum(np.searchsorted(self._pair_keys, keys), len(self._pair_keys) - 1)
            found = self._pair_keys[at] == keys
            rows.append(row[:-1][both][found])
            columns.append(self._pair_columns[at[found]])
        return np.concatenate(rows), np.concatenate(columns)


def _csr(
    rows: np.ndarray, columns: np.ndarray, values: np.ndarray, shape: tuple[int, int], dtype: Any
) -> sparse.csr_matrix:
    """A CSR matrix from (row, column, value) triples already in row-major order."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sparse.csr_matrix((values.astype(dtype, copy=False), columns, indptr), shape=shape)


class Features:
    """Three blocks side by side in one sparse matrix, each L2-normalised on its own: the
    headline alone, the body alone, and (with `Params.whole_text`) the headline and body as
    one text. The separate blocks let a headline word count on its own; the whole-text block
    adds one vector over all the article's words. Nested cross-validation preferred the three
    blocks to the first two on both the Reuters training split and the seed set (see
    BENCHMARKS.md)."""

    def __init__(self, params: Params) -> None:
        self.title_weight = params.title_weight
        self.title = Tfidf(ngram_range=(1, 2), sublinear_tf=True, min_df=params.min_df)
        self.body = Tfidf(ngram_range=(1, 2), sublinear_tf=True, min_df=params.min_df)
        self.whole = (
            Tfidf(ngram_range=(1, 2), sublinear_tf=True, min_df=params.min_df)
            if params.whole_text
            else None
        )

    def fit_transform(self, documents: Sequence[Document]) -> sparse.csr_matrix:
        blocks = [
            self.title.fit_transform([d.title for d in documents]) * self.title_weight,
            self.body.fit_transform([d.text for d in documents]),
        ]
        if self.whole is not None:
            blocks.append(self.whole.fit_transform([whole_text(d) for d in documents]))
            self._index_words()
        return sparse.hstack(blocks, format="csr")

    def _index_words(self) -> None:
        """One word id for every word of the three vocabularies, and each block's own id of
        it (−1 where the block lacks it), so that prediction looks each token up once."""
        assert self.whole is not None
        blocks = (self.title, self.body, self.whole)
        union: dict[str, int] = {}
        for block in blocks:
            for word in block._words:
                union.setdefault(word, len(union))
        own = []
        for block in blocks:
            # One slot more, holding −1, so that the union id −1 (unknown) maps to −1.
            ids = np.full(len(union) + 1, -1, dtype=np.int64)
            for word, index in block._words.items():
                ids[union[word]] = index
            own.append(ids)
        self._union = union
        self._own_ids = own

    def transform(self, documents: Sequence[Document]) -> sparse.csr_matrix:
        joined = self._joined_blocks() if hasattr(self, "_union") else None
        if joined is not None:
            return self._transform_once(documents, *joined)
        blocks = [
            self.title.transform([d.title for d in documents]) * self.title_weight,
            self.body.transform([d.text for d in documents]),
        ]
        whole = getattr(self, "whole", None)  # None in a model saved before the third block
        if whole is not None:
            blocks.append(whole.transform([whole_text(d) for d in documents]))
        return sparse.hstack(blocks, format="csr")

    def _transform_once(
        self, documents: Sequence[Document], offsets: list[int], idf: np.ndarray
    ) -> sparse.csr_matrix:
        """`transform` with the headline and the body tokenised and looked up once: the
        whole-text block's tokens are the headline's followed by the body's (the text is
        lower-cased, and a line break always separates tokens), so its word ids come from
        the same lookups by NumPy indexing, at no cost in Python per token."""
        assert self.whole is not None
        preprocess, tokenize = self.body.build_preprocessor(), self.body.build_tokenizer()
        get = self._union.get
        ids: list[list[int]] = [[], []]
        lengths: list[list[int]] = [[], []]
        for document in documents:
            for part, text in enumerate((document.title, document.text)):
                tokens = [get(token, -1) for token in tokenize(preprocess(text))]
                lengths[part].append(len(tokens))
                ids[part].extend(tokens)
        title_ids, body_ids = (np.array(i, dtype=np.int64) for i in ids)
        title_lengths, body_lengths = (np.array(n, dtype=np.int64) for n in lengths)
        rows = np.arange(len(documents))
        order = np.argsort(
            np.concatenate([np.repeat(rows, title_lengths), np.repeat(rows, body_lengths)]),
            kind="stable",
        )
        whole_ids = np.concatenate([title_ids, body_ids])[order]
        blocks = (self.title, self.body, self.whole)
        n_documents = len(documents)
        # Each block's documents are its own segments (block × document), so that one pass
        # weights and normalises the three blocks' terms together; their columns follow
        # each other as in the matrix.
        segments, columns = [], []
        streams = (
            (title_ids, title_lengths), (body_ids, body_lengths),
            (whole_ids, title_lengths + body_lengths),
        )  # fmt: skip
        for index, (block, own, (word_ids, word_counts)) in enumerate(
            zip(blocks, self._own_ids, streams, strict=True)
        ):
            token_rows = np.repeat(rows, word_counts)
            block_rows, block_columns = block._term_occurrences(own[word_ids], token_rows)
            segments.append(block_rows + index * n_documents)
            columns.append(block_columns + offsets[index])
        n_columns = offsets[-1]
        cells, counts = np.unique(
            np.concatenate(segments) * n_columns + np.concatenate(columns), return_counts=True
        )
        term_segments, term_columns = np.divmod(cells, n_columns)
        # The blocks' own weighting (the same for all three: see `_joined_blocks`):
        # sublinear tf, idf, and L2 norm per block of each document.
        values = (np.log(counts.astype(np.float64)) + 1.0) * idf[term_columns]
        norms = np.sqrt(
            np.bincount(term_segments, weights=values * values, minlength=3 * n_documents)
        )
        values /= norms[term_segments]
        if self.title_weight != 1.0:
            values[term_segments < n_documents] *= self.title_weight
        term_rows = term_segments % n_documents
        # Segments run block by block: a stable sort by row puts each row's headline terms
        # first, then its body's, then its whole text's, as the columns run.
        order = np.argsort(term_rows, kind="stable")
        shape = (n_documents, n_columns)
        return _csr(term_rows[order], term_columns[order], values[order], shape, self.whole.dtype)

    def _joined_blocks(self) -> tuple[list[int], np.ndarray] | None:
        """Where each block's columns start (and, last, the matrix's width), and the idf of
        every column: computed once per loaded model, never stored with it. None if the
        blocks are not all weighted alike (sublinear tf, idf, L2), which the joined pass of
        `_transform_once` assumes."""
        if not hasattr(self, "_joined"):
            assert self.whole is not None
            blocks = (self.title, self.body, self.whole)
            alike = all(b.sublinear_tf and b.use_idf and b.norm == "l2" for b in blocks)
            widths = [len(block.vocabulary_) for block in blocks]
            offsets = [0, widths[0], widths[0] + widths[1], sum(widths)]
            idf = np.concatenate([block.idf_ for block in blocks])
            self._joined: tuple[list[int], np.ndarray] | None = (offsets, idf) if alike else None
        return self._joined

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_joined", None)
        return state

    def names(self) -> list[str]:
        """The term of every column, block by block: headline, body, whole text."""
        blocks = [self.title, self.body, getattr(self, "whole", None)]
        return [name for b in blocks if b is not None for name in b.get_feature_names_out()]


def whole_text(document: Document) -> str:
    """The headline and the body as one text, as a wire story prints them."""
    return f"{document.title}\n{document.text}"
