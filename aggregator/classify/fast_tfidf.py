"""The vectorised TF-IDF transform: Biowire's stand-in for scikit-learn's
`TfidfVectorizer.transform` of each feature block and the `sparse.hstack` that joins them,
taken only while `aggregator.speedups.enabled()` (`aggregator.classify.features` decides).

scikit-learn's `transform` builds every n-gram of a new article as a string and looks it
up; most bigrams are unseen, and that per-n-gram Python work was nearly all of prediction
time. Here each token is looked up once, as a word id, and the bigrams are found as pairs
of ids with NumPy; the tf-idf weighting and the row normalisation are scikit-learn's, done
on the arrays directly. (`TfidfTransformer.transform` validates its input on every call,
which cost as much as the rest of a small batch's transform.) The matrix is
scikit-learn's: the tests build it both ways and compare them. What it saves is in
BENCHMARKS.md.

Nothing here is stored with a model: `FastFeatures` derives its word ids from the fitted
vocabularies, once per loaded model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from aggregator.classify.types import Document

# scikit-learn's default token pattern, and a pattern that finds the same tokens sooner.
_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_WORD_RUNS = re.compile(r"\w\w+")


def tokenizer(vectorizer: TfidfVectorizer) -> Callable[[str], list[str]]:
    """The vectorizer's tokenizer; for scikit-learn's default pattern, the same tokens
    found faster. `\\b\\w\\w+\\b` and `\\w\\w+` find the same words: a greedy run of word
    characters ends at a boundary, and a search never starts inside a run it could have
    matched from the run's start, and the boundary checks are what the regex engine spent
    much of its search on."""
    if vectorizer.tokenizer is None and vectorizer.token_pattern == _DEFAULT_TOKEN_PATTERN:
        return _WORD_RUNS.findall
    tokenize: Callable[[str], list[str]] = vectorizer.build_tokenizer()
    return tokenize


def supports(blocks: Sequence[TfidfVectorizer]) -> bool:
    """Whether `FastFeatures` computes these blocks' matrix: word 1–2-grams of scikit-learn's
    default tokens, counted (not binary), every block preprocessed alike, and weighted
    alike: sublinear tf, idf and L2 norm, in the same dtype."""
    first = blocks[0]
    return all(
        block.analyzer == "word"
        and tuple(block.ngram_range) == (1, 2)
        and not block.binary
        and block.stop_words is None
        and block.tokenizer is None
        and block.preprocessor is None
        and block.token_pattern == _DEFAULT_TOKEN_PATTERN
        and (block.lowercase, block.strip_accents) == (first.lowercase, first.strip_accents)
        and block.dtype == first.dtype
        and block.sublinear_tf
        and block.use_idf
        and block.norm == "l2"
        for block in blocks
    )


class _BlockIndex:
    """One block's vocabulary in word ids (one numbering for every block: see
    `FastFeatures`): the column of each word that is a unigram of the block, and each of
    its bigrams as a pair of word ids, in order, for a binary search."""

    def __init__(
        self, unigram_column: np.ndarray, pair_keys: np.ndarray, pair_columns: np.ndarray
    ) -> None:
        self.n_words = len(unigram_column)
        self.unigram_column = unigram_column
        self.pair_keys = pair_keys
        self.pair_columns = pair_columns

    def term_occurrences(self, word: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every occurrence of a vocabulary term, unigrams and bigrams, in
        tokens given as word ids (−1: not a word of the vocabulary) and each token's row."""
        known = word >= 0
        unigram = np.full(len(word), -1, dtype=np.int64)
        unigram[known] = self.unigram_column[word[known]]
        rows, columns = [row[unigram >= 0]], [unigram[unigram >= 0]]
        if len(word) > 1 and len(self.pair_keys):
            both = known[:-1] & known[1:] & (row[:-1] == row[1:])
            keys = word[:-1][both] * self.n_words + word[1:][both]
            at = np.minimum(np.searchsorted(self.pair_keys, keys), len(self.pair_keys) - 1)
            found = self.pair_keys[at] == keys
            rows.append(row[:-1][both][found])
            columns.append(self.pair_columns[at[found]])
        return np.concatenate(rows), np.concatenate(columns)


def _index_vocabularies(
    blocks: Sequence[TfidfVectorizer],
) -> tuple[dict[str, int], list[_BlockIndex]]:
    """A word id for every word of the blocks' vocabularies, and each block's index in them.
    Built with as little Python per term as can be: every parse worker builds it."""
    words: dict[str, int] = {}
    number = words.setdefault
    found = []
    for block in blocks:
        unigram_words, unigram_columns, pair_words, pair_columns = [], [], [], []
        for term, column in block.vocabulary_.items():
            if " " not in term:
                unigram_words.append(number(term, len(words)))
                unigram_columns.append(column)
                continue
            pair = term.split(" ")
            # A longer term is no 1–2-gram of an article: scikit-learn never counts it.
            if len(pair) == 2:
                first, second = pair
                pair_words.append(number(first, len(words)))
                pair_words.append(number(second, len(words)))
                pair_columns.append(column)
        found.append((unigram_words, unigram_columns, pair_words, pair_columns))
    indexes = []
    for unigram_words, unigram_columns, pair_words, pair_columns in found:
        unigram_column = np.full(len(words), -1, dtype=np.int64)
        unigram_column[np.array(unigram_words, dtype=np.int64)] = unigram_columns
        pairs = np.array(pair_words, dtype=np.int64).reshape(-1, 2)
        keys = pairs[:, 0] * len(words) + pairs[:, 1]
        order = np.argsort(keys)
        columns = np.array(pair_columns, dtype=np.int64)[order]
        indexes.append(_BlockIndex(unigram_column, keys[order], columns))
    return words, indexes


class FastFeatures:
    """The blocks' matrix with the headline and the body tokenised and looked up once: one
    word id for every word of the blocks' vocabularies, the same in every block. Built once
    per loaded model; `supports` says for which blocks.

    The blocks are the headline's, the body's and, if there is one, the whole text's (the
    headline and the body as one text, then on a line of their own the tokens
    `extra_tokens` gives for the article, if it is given); the headline block is weighted
    by `title_weight`.
    """

    def __init__(
        self,
        blocks: Sequence[TfidfVectorizer],
        title_weight: float,
        extra_tokens: Callable[[Document], list[str]] | None = None,
    ) -> None:
        if not 2 <= len(blocks) <= 3 or not supports(blocks):
            raise ValueError("the fast transform does not compute these blocks' matrix")
        if extra_tokens is not None and len(blocks) != 3:
            raise ValueError("extra tokens go to the whole-text block, and there is none")
        self.title_weight = title_weight
        # Tokens as the whole-text block's tokenizer finds them after its preprocessing:
        # lower-case words of word characters (the features' kind tokens are).
        self._extra_tokens = extra_tokens
        self.dtype = blocks[-1].dtype
        self._preprocess = blocks[0].build_preprocessor()
        self._tokenize = tokenizer(blocks[0])
        self._words, self._indexes = _index_vocabularies(blocks)
        # Where each block's columns start (and, last, the matrix's width), and the idf of
        # every column.
        widths = [len(block.vocabulary_) for block in blocks]
        self._offsets = [int(sum(widths[:i])) for i in range(len(widths) + 1)]
        self._idf = np.concatenate([block.idf_ for block in blocks])

    def transform(self, documents: Sequence[Document]) -> sparse.csr_matrix:
        """The whole-text block's tokens are the headline's followed by the body's (the text
        is lower-cased, and a line break always separates tokens) and then the extra
        tokens, so its word ids come from the same lookups by NumPy indexing, at no cost in
        Python per token."""
        preprocess, tokenize, get = self._preprocess, self._tokenize, self._words.get
        extra_tokens = self._extra_tokens
        parts = 2 if extra_tokens is None else 3
        ids: list[list[int]] = [[] for _ in range(parts)]
        lengths: list[list[int]] = [[] for _ in range(parts)]
        for document in documents:
            for part, text in enumerate((document.title, document.text)):
                tokens = [get(token, -1) for token in tokenize(preprocess(text))]
                lengths[part].append(len(tokens))
                ids[part].extend(tokens)
            if extra_tokens is not None:
                tokens = [get(token, -1) for token in extra_tokens(document)]
                lengths[2].append(len(tokens))
                ids[2].extend(tokens)
        part_ids = [np.array(i, dtype=np.int64) for i in ids]
        part_lengths = [np.array(n, dtype=np.int64) for n in lengths]
        rows = np.arange(len(documents))
        streams = [(part_ids[0], part_lengths[0]), (part_ids[1], part_lengths[1])]
        if len(self._indexes) == 3:
            order = np.argsort(
                np.concatenate([np.repeat(rows, n) for n in part_lengths]), kind="stable"
            )
            whole_ids = np.concatenate(part_ids)[order]
            streams.append((whole_ids, sum(part_lengths[1:], part_lengths[0])))
        n_documents, n_blocks = len(documents), len(self._indexes)
        # Each block's documents are its own segments (block × document), so that one pass
        # weights and normalises the blocks' terms together; their columns follow each
        # other as in the matrix.
        segments, columns = [], []
        for number, (index, (word_ids, word_counts)) in enumerate(
            zip(self._indexes, streams, strict=True)
        ):
            token_rows = np.repeat(rows, word_counts)
            block_rows, block_columns = index.term_occurrences(word_ids, token_rows)
            segments.append(block_rows + number * n_documents)
            columns.append(block_columns + self._offsets[number])
        n_columns = self._offsets[-1]
        cells, counts = np.unique(
            np.concatenate(segments) * n_columns + np.concatenate(columns), return_counts=True
        )
        term_segments, term_columns = np.divmod(cells, n_columns)
        # The blocks' own weighting (the same for every block: see `supports`): sublinear
        # tf, idf, and L2 norm per block of each document.
        values = (np.log(counts.astype(np.float64)) + 1.0) * self._idf[term_columns]
        norms = np.sqrt(
            np.bincount(term_segments, weights=values * values, minlength=n_blocks * n_documents)
        )
        values /= norms[term_segments]
        if self.title_weight != 1.0:
            values[term_segments < n_documents] *= self.title_weight
        term_rows = term_segments % n_documents
        # Segments run block by block: a stable sort by row puts each row's headline terms
        # first, then its body's, then its whole text's, as the columns run.
        order = np.argsort(term_rows, kind="stable")
        shape = (n_documents, n_columns)
        return _csr(term_rows[order], term_columns[order], values[order], shape, self.dtype)


def _csr(
    rows: np.ndarray, columns: np.ndarray, values: np.ndarray, shape: tuple[int, int], dtype: Any
) -> sparse.csr_matrix:
    """A CSR matrix from (row, column, value) triples already in row-major order."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sparse.csr_matrix((values.astype(dtype, copy=False), columns, indptr), shape=shape)
