"""TF-IDF text vectors: a cheap, corpus-fitted baseline to compare neural encoders against.

The output is a float32 CSR matrix (one column per kept term: far too wide to densify).
The vocabulary and IDF weights come from the first corpus encoded (or ``fit``); later calls
(e.g. user-profile texts) are projected into that same space.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from genre.constraints import Bound, Constraints, Either, Flag, Pair
from genre.encoders.base import Progress, l2_normalize, report_progress
from genre.errors import EncoderError, NotFittedError


class TfidfEncoder:
    """scikit-learn ``TfidfVectorizer`` behind the Encoder protocol.

    Parameters
    ----------
    ngram_range : tuple of int
        Smallest and largest word n-gram.
    min_df : int or float
        Drop terms in fewer documents than this (a count, or a fraction when float).
    max_features : int or None
        Keep only the most frequent terms.
    sublinear_tf : bool
        Use 1 + log(tf) instead of raw counts.

    Notes
    -----
    ``id`` and ``dim`` exist once fitted; ``id`` ends with a hash of the fitted corpus, so
    vectors from different corpora are never mixed up. Not cached on disk (``cacheable`` is
    False): fitting is cheap and depends on the whole corpus.

    Examples
    --------
    >>> enc = TfidfEncoder().fit(["toy story", "story of a toy", "heat"])
    >>> enc.encode(["toy"]).shape[0]
    1
    """

    cacheable = False
    #: What to lower when ``peak_bytes`` is over the run's memory budget.
    memory_hint = "max_features or ngram_range"

    _parameter_constraints: ClassVar[Constraints] = {
        "ngram_range": Pair(Bound(1, 5, int)),  # [1, 10**6] would enumerate every phrase of every text
        "min_df": Either((Bound(1, 1_000_000, int), Bound(0.0, 1.0))),  # a document count, else a fraction
        "max_features": Bound(1, 1_000_000, int, none_ok=True), "sublinear_tf": Flag()}

    def __init__(self, ngram_range: tuple[int, int] = (1, 2), min_df: int | float = 1,
                 max_features: int | None = 50_000, sublinear_tf: bool = True) -> None:
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.last_report: dict[str, Any] = {}

    def dense_width(self, n_items: int) -> int:
        """The output is sparse; the widest dense copy an algorithm makes of it is two-tower's SVD (256)."""
        return min(256, int(self.max_features or 256), n_items)

    def peak_bytes(self, n_items: int) -> int:
        """Before encoding (genre.run): CSR rows of at most ``max_features`` terms, taken as 64
        distinct n-grams a text per n-gram length (item texts are short; the readers bound a
        cell), 12 bytes each, about twice (counts, then weights)."""
        low, high = self.ngram_range
        per_item = min(int(self.max_features or 10**9), 64 * (int(high) - int(low) + 1))
        return 2 * 12 * n_items * per_item

    def fit(self, corpus: Sequence[Any]) -> "TfidfEncoder":
        """Learn the vocabulary and IDF weights of ``corpus``."""

        texts = ["" if t is None else str(t) for t in corpus]
        vectorizer = TfidfVectorizer(ngram_range=self.ngram_range, min_df=self.min_df,
                                     max_features=self.max_features, sublinear_tf=self.sublinear_tf,
                                     dtype=np.float32)
        try:
            vectorizer.fit(texts)
        except ValueError as exc:  # e.g. "empty vocabulary": every text is empty or a stop word
            raise EncoderError(f"TF-IDF cannot be fitted on these {len(texts)} texts: {exc}") from exc
        digest = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:16]
        self.vectorizer_ = vectorizer
        self.corpus_hash_ = digest
        return self

    @property
    def id(self) -> str:
        self._check_fitted()
        low, high = self.ngram_range
        return (f"tfidf:ngram{low}-{high}:mindf{self.min_df}:max{self.max_features}"
                f":sub{int(self.sublinear_tf)}:corpus-{self.corpus_hash_}")

    @property
    def dim(self) -> int:
        self._check_fitted()
        return len(self.vectorizer_.vocabulary_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "vectorizer_"):
            raise NotFittedError("This TfidfEncoder instance is not fitted yet. Call 'fit' (or "
                                 "'encode', which fits on its first corpus) before using it.")

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> sp.csr_matrix:
        """Float32 CSR rows, L2-normalized; fits on ``inputs`` when not fitted yet."""
        if not hasattr(self, "vectorizer_"):
            self.fit(inputs)
        texts = ["" if t is None else str(t) for t in inputs]
        report_progress(progress, 0, len(texts), "tfidf: vectorising")
        vectors = l2_normalize(self.vectorizer_.transform(texts))
        report_progress(progress, len(texts), len(texts), "tfidf: done")
        self.last_report = {"empty": int((vectors.getnnz(axis=1) == 0).sum())}
        return vectors
