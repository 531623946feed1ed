"""Genre tagging: give items without genres some, from their content vectors or a language model.

Three ways: zero-shot (nearest genre-label descriptions in the same embedding space; needs no
labelled items), supervised (one-vs-rest logistic regression trained on the items that have
genres), and asking a language model to pick from the label list (``llm_genres``, through the
same batched / concurrent ``complete_many`` as the other LLM uses). ``evaluate_tagging``
measures the first two on held-out labelled items so the user can see which to trust.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Sequence, Union

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import normalize

from genre.errors import ConfigError, DataError, NotFittedError
from genre.llm.base import complete_many
from genre.llm.prompts import check_template, render

#: Item vectors: dense, or sparse when too wide to densify (TF-IDF).
Vectors = Union[np.ndarray, sp.spmatrix]
#: Text that stands for a genre when embedding labels for zero-shot tagging.
LABEL_TEMPLATE = "a {genre} movie"
#: Prompt of ``llm_genres``: the item's title and the allowed labels. (Given the title on a first
#: line of its own, SmolLM2-135M echoes that line; listing labels first, it echoes the list.)
TAG_TEMPLATE = "Which genres fit the movie {title}? Choose from: {labels}."


def label_texts(labels: Sequence[str], template: str = LABEL_TEMPLATE) -> list[str]:
    """One description per genre label, to embed with the item encoder."""
    check_template(template, ["genre"])
    return [template.format(genre=label) for label in labels]


def zero_shot_scores(item_vectors: Vectors, label_vectors: Vectors) -> np.ndarray:
    """Cosine similarity of every item to every label: dense (n_items, n_labels)."""

    if item_vectors.shape[1] != label_vectors.shape[1]:
        raise DataError(f"item vectors have {item_vectors.shape[1]} dimensions but label vectors "
                        f"have {label_vectors.shape[1]}; embed both with the same encoder")
    scores = normalize(_float32(item_vectors)) @ normalize(_float32(label_vectors)).T
    return scores.toarray() if sp.issparse(scores) else np.asarray(scores)


def zero_shot_genres(item_vectors: Vectors, label_vectors: Vectors, labels: Sequence[str],
                     *, top_n: int | None = 2, threshold: float | None = None) -> list[list[str]]:
    """Genres per item by similarity to the label descriptions.

    Keeps each item's ``top_n`` most similar labels, or every label with cosine at least
    ``threshold`` (the best label when none passes); give exactly one of the two.
    """
    if len(labels) != label_vectors.shape[0]:
        raise DataError(f"{len(labels)} labels but {label_vectors.shape[0]} label vectors")
    return _decode(zero_shot_scores(item_vectors, label_vectors), labels, top_n, threshold)


class GenreClassifier:
    """One-vs-rest logistic regression from item vectors to a multi-label genre set.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of each logistic regression.
    threshold : float
        Probability above which a genre is assigned (the most probable genre always is).

    Examples
    --------
    >>> model = GenreClassifier().fit(vectors[labelled], genre_matrix[labelled], labels)  # doctest: +SKIP
    >>> model.predict(vectors[unlabelled])[:1]  # doctest: +SKIP
    [['Comedy', 'Romance']]
    """

    def __init__(self, C: float = 1.0, threshold: float = 0.5) -> None:
        self.C = C
        self.threshold = threshold

    def fit(self, vectors: Vectors, genres: sp.spmatrix | np.ndarray,
            labels: Sequence[str]) -> "GenreClassifier":
        """Learn from labelled items (every row of ``genres`` must have at least one genre)."""

        target = _dense_labels(genres)
        if vectors.shape[0] != len(target):
            raise DataError(f"{vectors.shape[0]} vectors but {len(target)} genre rows")
        if target.shape[1] != len(labels):
            raise DataError(f"{target.shape[1]} genre columns but {len(labels)} labels")
        if not (target.sum(axis=1) > 0).all():
            raise DataError("train the genre classifier on items that have genres only")
        present = target.sum(axis=0) > 0
        self.labels_ = [label for label, keep in zip(labels, present) if keep]
        self.model_ = OneVsRestClassifier(LogisticRegression(C=self.C, max_iter=1000))
        self.model_.fit(_float32(vectors), target[:, present])
        return self

    def predict_proba(self, vectors: Vectors) -> np.ndarray:
        """Probability of each of ``labels_`` per item."""
        if not hasattr(self, "model_"):
            raise NotFittedError("This GenreClassifier instance is not fitted yet. Call 'fit' "
                                 "with appropriate arguments before using this estimator.")
        return self.model_.predict_proba(_float32(vectors))

    def predict(self, vectors: Vectors) -> list[list[str]]:
        """Genres per item: those above ``threshold``, at least the most probable one."""
        return _decode(self.predict_proba(vectors), self.labels_, None, self.threshold)


def tag_missing_genres(item_vectors: Vectors, genres: sp.spmatrix, labels: Sequence[str],
                       *, C: float = 1.0, threshold: float = 0.5) -> dict[int, list[str]]:
    """Predicted genres for every item without any, by a classifier trained on the rest."""
    has = np.asarray(_dense_labels(genres).sum(axis=1) > 0).ravel()
    if has.all():
        return {}
    if has.sum() < 2:
        raise DataError("too few items have genres to learn from; use zero_shot_genres instead")
    model = GenreClassifier(C=C, threshold=threshold).fit(item_vectors[has], genres[has], labels)
    missing = np.flatnonzero(~has)
    return dict(zip(missing.tolist(), model.predict(item_vectors[missing])))


def evaluate_tagging(item_vectors: Vectors, genres: sp.spmatrix, labels: Sequence[str], *,
                     label_vectors: Vectors | None = None, test_size: float = 0.2, seed: int = 42,
                     C: float = 1.0, threshold: float = 0.5, top_n: int = 2) -> pd.DataFrame:
    """Tagging quality on a seeded hold-out of labelled items.

    Rows: ``classifier``, ``zero-shot`` (when ``label_vectors`` are given) and
    ``most-frequent`` (always the training set's most common genre: the floor to beat).
    Columns: ``top1_hit`` (the first predicted genre is a true one), ``subset_accuracy``
    (exact set match), ``sample_f1`` (mean per-item F1) and ``macro_f1`` (mean per-genre F1),
    plus ``n_test``.
    """
    if not 0.0 < test_size < 1.0:
        raise ConfigError(f"test_size must lie strictly between 0 and 1, got {test_size}")
    target = _dense_labels(genres)
    labelled = np.flatnonzero(target.sum(axis=1) > 0)
    if len(labelled) < 10:
        raise DataError(f"only {len(labelled)} items have genres; evaluating needs at least 10")
    order = np.random.default_rng(seed).permutation(labelled)
    n_test = max(1, int(round(len(order) * test_size)))
    test, fit = np.sort(order[:n_test]), np.sort(order[n_test:])
    labels = list(labels)
    model = GenreClassifier(C=C, threshold=threshold).fit(item_vectors[fit], target[fit], labels)
    results = {"classifier": model.predict(item_vectors[test])}
    if label_vectors is not None:
        results["zero-shot"] = zero_shot_genres(item_vectors[test], label_vectors, labels, top_n=top_n)
    common = labels[int(target[fit].sum(axis=0).argmax())]
    results["most-frequent"] = [[common] for _ in test]
    rows = [{"method": name, **_scores(predicted, target[test], labels), "n_test": len(test)}
            for name, predicted in results.items()]
    return pd.DataFrame(rows).set_index("method")


def _scores(predicted: list[list[str]], truth: np.ndarray, labels: list[str]) -> dict[str, float]:

    column = {label: j for j, label in enumerate(labels)}
    guess = np.zeros_like(truth)
    for row, genres in enumerate(predicted):
        guess[row, [column[g] for g in genres]] = 1
    first = np.array([truth[row, column[genres[0]]] for row, genres in enumerate(predicted)])
    return {"top1_hit": float(first.mean()),
            "subset_accuracy": float((guess == truth).all(axis=1).mean()),
            "sample_f1": float(f1_score(truth, guess, average="samples", zero_division=0)),
            "macro_f1": float(f1_score(truth, guess, average="macro", zero_division=0))}


def _decode(scores: np.ndarray, labels: Sequence[str], top_n: int | None,
            threshold: float | None) -> list[list[str]]:
    """Label lists from a score matrix, best first."""
    if (top_n is None) == (threshold is None):
        raise ConfigError("give exactly one of top_n and threshold")
    if top_n is not None and top_n < 1:
        raise ConfigError(f"top_n must be at least 1, got {top_n}")
    order = np.argsort(-scores, axis=1, kind="stable")
    result = []
    for row, ranked in zip(scores, order):
        keep = ranked[:top_n] if top_n is not None else ranked[row[ranked] >= threshold]
        result.append([labels[j] for j in (keep if len(keep) else ranked[:1])])
    return result


def tagging_input_digest(texts: Sequence[str], genres: sp.spmatrix | np.ndarray, labels: Sequence[str]) -> str:
    """sha256 of everything a tagging result is computed from (item texts, genre matrix, labels):
    the key for caching it, so two datasets that merely share a name never share a result.

    >>> tagging_input_digest(["a"], np.array([[1]]), ["Drama"]) != tagging_input_digest(["b"], np.array([[1]]), ["Drama"])
    True
    """
    digest = hashlib.sha256()
    for text in texts:
        data = str(text).encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)
    marks = sp.csr_matrix(genres, dtype=np.float64)  # sparse: never densify a wide genre matrix to hash it
    marks.sum_duplicates()
    marks.sort_indices()
    for part in (np.asarray(marks.shape, dtype=np.int64), marks.indptr.astype(np.int64),
                 marks.indices.astype(np.int64), marks.data):
        digest.update(np.ascontiguousarray(part).tobytes())
    for label in labels:
        data = str(label).encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def _dense_labels(genres: sp.spmatrix | np.ndarray) -> np.ndarray:
    dense = genres.toarray() if sp.issparse(genres) else np.asarray(genres)
    return (dense > 0).astype(np.int64)


def _float32(vectors: Vectors) -> Vectors:
    """float32 rows, sparse (e.g. TF-IDF) kept sparse."""
    if sp.issparse(vectors):
        return sp.csr_matrix(vectors, dtype=np.float32)
    return np.asarray(vectors, dtype=np.float32)


def llm_genres(titles: Sequence[str], labels: Sequence[str], client: Any, *,
               template: str = TAG_TEMPLATE, max_tokens: int = 24, **options: Any) -> list[list[str]]:
    """Genres per item chosen by a language model from ``labels``, in the order it names them.

    Labels are matched in the reply case-insensitively as whole words; a reply naming none
    gives an empty list (counted, not guessed). ``options`` go to ``complete_many`` (cache,
    progress, should_stop, max_concurrency).
    """

    check_template(template, ["title", "labels"])
    listed = ", ".join(labels)
    prompts = [render(template, {"title": str(t), "labels": listed}) for t in titles]
    replies = complete_many(client, prompts, max_tokens=max_tokens, **options)
    patterns = [(label, re.compile(rf"(?<!\w){re.escape(label)}(?!\w)", re.IGNORECASE)) for label in labels]
    result = []
    for reply in replies:
        found = sorted((m.start(), label) for label, p in patterns if (m := p.search(reply)))
        result.append([label for _, label in found])
    return result
