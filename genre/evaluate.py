"""Full-ranking evaluation of a scorer on a ``Split``, per-user results and slices.

Protocol (docs/benchmark.md): every evaluated user is ranked against the whole catalog (or the
split's ``candidate_items`` only, for cold-start); the user's training items are excluded and
nothing else is; ties go to the lower item index; metrics are averaged uniformly over users.
Users are scored in batches so memory stays bounded on large catalogs.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from genre.split import temporal_split
>>> rows = pd.DataFrame({"user": [0] * 6, "item": [0, 1, 2, 3, 4, 5],
...                      "rating": 1.0, "timestamp": [1, 2, 3, 4, 5, 6]})
>>> split = temporal_split(rows, n_users=1, n_items=8)
>>> result = evaluate(lambda users: np.tile(np.arange(8.0)[::-1], (len(users), 1)), split, ks=(2,))
>>> result.top_items.tolist(), result.means["recall@2"]
([[4, 5]], 1.0)
"""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Hashable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre import metrics
from genre import batching
from genre.batching import DEFAULT_BATCH_SIZE, rows_per_batch
from genre.errors import ConfigError, DataError, GenreError
from genre.fusion import top_k
from genre.split import Split
from genre.store import CandidateStore

logger = logging.getLogger("genre")

#: score_fn(users) -> (len(users), n_items) float scores, higher is better.
ScoreFn = Callable[[np.ndarray], np.ndarray]

#: Per-user ranking metrics, in column order ("ndcg@10", "recall@10", ...).
RANKING_METRICS = {
    "ndcg": metrics.ndcg_at_k,
    "recall": metrics.recall_at_k,
    "precision": metrics.precision_at_k,
    "hit_rate": metrics.hit_rate_at_k,
    "mrr": metrics.mrr_at_k,
    "map": metrics.map_at_k,
}


@dataclass
class Evaluation:
    """What one evaluation found.

    Attributes
    ----------
    per_user : DataFrame
        Index = user index; columns ``"ndcg@k"``, ``"recall@k"``, ``"precision@k"``,
        ``"hit_rate@k"``, ``"mrr@k"``, ``"map@k"`` for each k, and ``"auc"``.
    means : dict
        Mean of each per-user column, plus ``"coverage@k"``, ``"novelty@k"``,
        ``"popularity_bias@k"`` and (given item vectors) ``"diversity@k"``.
    top_items : ndarray
        (n_evaluated_users, max(ks)) item indices, best first.
    users : ndarray
        The evaluated user indices (the rows of ``top_items``).
    intervals : dict
        Half-width of the 95 % confidence interval of each mean (normal approximation over the
        per-user values: 1.96 · sd / √n); NaN for coverage, which has no per-user value.
    """

    per_user: pd.DataFrame
    means: dict[str, float]
    top_items: np.ndarray
    users: np.ndarray
    intervals: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------- checks
def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    values = tuple(ks) if isinstance(ks, (list, tuple, np.ndarray)) else (ks,)
    if not values or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1
                         for k in values):
        raise ConfigError(f"ks must be one or more positive integers (e.g. (10, 20)), got {ks!r}")
    return tuple(sorted({int(k) for k in values}))


def _check_users(users: np.ndarray | None, split: Split) -> np.ndarray:
    chosen = split.test_users if users is None else np.asarray(users).ravel()
    if len(chosen) == 0:
        raise DataError("no users to evaluate: no user has both training and test interactions; "
                        "check the split (e.g. lower min_interactions)")
    if not np.issubdtype(chosen.dtype, np.integer) or chosen.min() < 0 or chosen.max() >= split.n_users:
        raise DataError(f"users must be user indices in 0..{split.n_users - 1}, got {chosen[:5]}...")
    return chosen


def _check_vectors(item_vectors: np.ndarray | sp.spmatrix | None,
                   n_items: int) -> np.ndarray | sp.spmatrix | None:
    if item_vectors is None:
        return None
    vectors = item_vectors if sp.issparse(item_vectors) else np.asarray(item_vectors)
    if vectors.ndim != 2 or vectors.shape[0] != n_items:
        raise DataError(f"item_vectors must have one row per item ({n_items} rows), "
                        f"got shape {vectors.shape}")
    return vectors


def _check_scores(scores: np.ndarray, n_users: int, n_items: int) -> np.ndarray:
    block = np.asarray(scores)
    if block.shape != (n_users, n_items):
        raise GenreError(f"scores must have shape (n_users, n_items) = ({n_users}, {n_items}), "
                         f"got {block.shape}; the scorer must return one row per user and one "
                         f"column per catalog item")
    if np.isnan(block).any():
        raise GenreError(f"scores contain NaN for {int(np.isnan(block).any(axis=1).sum())} users; "
                         f"the model produced undefined scores (check its inputs and parameters)")
    return block


# ---------------------------------------------------------------------------- ranking
def _rank_batch(scores: np.ndarray, users: np.ndarray, candidates: np.ndarray | None, train: sp.csr_matrix,
                test: sp.csr_matrix, ks: tuple[int, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Top items and per-user metric columns of one batch of users (``candidates`` ascending)."""
    seen, relevant = train[users], test[users]
    if candidates is not None:
        scores, seen = scores[:, candidates], seen[:, candidates]
    top = top_k(scores, max(ks), seen)
    if candidates is not None:
        top = candidates[top]
    columns = {f"{name}@{k}": function(top, relevant, k)
               for k in ks for name, function in RANKING_METRICS.items()}
    columns["auc"] = metrics.auc(scores, relevant if candidates is None else relevant[:, candidates], seen)
    return top, columns


def _gather(tops: list[np.ndarray], parts: list[pd.DataFrame], users: np.ndarray, split: Split,
            train: sp.csr_matrix, n_candidates: int, ks: tuple[int, ...],
            item_vectors: np.ndarray | sp.spmatrix | None) -> Evaluation:
    """One scorer's per-batch results → per-user frame, means and the list metrics."""
    per_user = pd.concat(parts, ignore_index=True)
    per_user.index = pd.Index(users, name="user")
    top_items = np.concatenate(tops)
    means = {column: float(per_user[column].mean()) for column in per_user.columns}
    intervals = {column: half_width(per_user[column].to_numpy()) for column in per_user.columns}
    popularity = np.asarray(train.sum(axis=0)).ravel()
    for k in ks:
        means[f"coverage@{k}"], intervals[f"coverage@{k}"] = \
            metrics.coverage_at_k(top_items, n_candidates, k), float("nan")
        lists = {f"novelty@{k}": metrics.novelty_at_k(top_items, popularity, k),
                 f"popularity_bias@{k}": metrics.popularity_bias_at_k(top_items, popularity, k)}
        if item_vectors is not None:
            lists = {f"diversity@{k}": _diversity(top_items, item_vectors, k), **lists}
        for name, values in lists.items():
            means[name], intervals[name] = float(values.mean()), half_width(values)
    return Evaluation(per_user, means, top_items, users, intervals)


def half_width(values: np.ndarray) -> float:
    """Half-width of the normal-approximation 95 % interval of the mean (NaN values dropped).

    Why normal and not bootstrap: means over ≥ hundreds of users are near-normal, and this
    costs one pass where a bootstrap would redo the mean a thousand times per weight change.
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[~np.isnan(finite)]
    if len(finite) < 2:
        return float("nan")
    return float(1.96 * finite.std(ddof=1) / np.sqrt(len(finite)))


def _diversity(top_items: np.ndarray, item_vectors: np.ndarray | sp.spmatrix, k: int) -> np.ndarray:
    """Intra-list diversity in chunks of users, each given only the vectors of its listed items.

    Dense vectors are summed into a dense (users × dim) array, so users go in chunks; sparse
    ones (TF-IDF) stay sparse all the way (``metrics.intra_list_diversity_at_k``): one chunk.
    """
    dim = item_vectors.shape[1]
    step = len(top_items) if sp.issparse(item_vectors) else max(1, batching.BATCH_BYTES // (8 * max(dim, 1)))
    parts = []
    for start in range(0, len(top_items), step):
        chunk = np.asarray(top_items[start:start + step])[:, :k]
        items, local = np.unique(chunk, return_inverse=True)
        parts.append(metrics.intra_list_diversity_at_k(local.reshape(chunk.shape), item_vectors[items], k))
    return np.concatenate(parts) if parts else np.zeros(0)


def _evaluate_named(batches: Iterable[tuple[np.ndarray, Mapping[Hashable, np.ndarray]]], users: np.ndarray,
                    split: Split, ks: tuple[int, ...],
                    item_vectors: np.ndarray | sp.spmatrix | None) -> dict[Hashable, Evaluation]:
    """Rank every named block of each (users, {name: scores}) batch; one Evaluation per name.

    ``batches``, concatenated, must be ``users``, and every name must appear in every batch.
    """
    train, test = split.train_matrix(), split.test_matrix()
    candidates = None if split.candidate_items is None else np.unique(split.candidate_items)
    tops: dict[Hashable, list[np.ndarray]] = {}
    parts: dict[Hashable, list[pd.DataFrame]] = {}
    covered = 0
    for batch, named in batches:
        for name, scores in named.items():
            block = _check_scores(scores, len(batch), split.n_items)
            top, columns = _rank_batch(block, batch, candidates, train, test, ks)
            tops.setdefault(name, []).append(top)
            parts.setdefault(name, []).append(pd.DataFrame(columns))
        covered += len(batch)
    if covered != len(users) or any(len(p) != len(tops[next(iter(tops))]) for p in parts.values()):
        raise GenreError(f"the score batches covered {covered} users but {len(users)} were to be "
                         f"evaluated, or a scorer skipped a batch; give every scorer every batch")
    n_candidates = split.n_items if candidates is None else len(candidates)
    return {name: _gather(tops[name], parts[name], users, split, train, n_candidates, ks, item_vectors)
            for name in tops}


def evaluate(score_fn: ScoreFn, split: Split, *, ks: Sequence[int] = (10,), users: np.ndarray | None = None,
             batch_size: int = DEFAULT_BATCH_SIZE, item_vectors: np.ndarray | sp.spmatrix | None = None) -> Evaluation:
    """Score users in batches with ``score_fn`` and evaluate the full rankings.

    ``users`` defaults to ``split.test_users``; ``item_vectors`` (one row per item, dense or
    sparse) enables the intra-list diversity metric. Batches hold at most ``batch_size`` users
    and fewer on large catalogs (``rows_per_batch``), so memory stays bounded.
    """
    ks = _check_ks(ks)
    chosen = _check_users(users, split)
    item_vectors = _check_vectors(item_vectors, split.n_items)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    step = rows_per_batch(split.n_items, batch_size)

    def blocks() -> Iterator[tuple[np.ndarray, dict[Hashable, np.ndarray]]]:
        for start in range(0, len(chosen), step):
            batch = chosen[start:start + step]
            yield batch, {None: score_fn(batch)}

    result = _evaluate_named(blocks(), chosen, split, ks, item_vectors)[None]
    logger.debug("evaluated %d users at ks=%s", len(chosen), ks)
    return result


def evaluate_scores(scores: np.ndarray, users: np.ndarray, split: Split, *, ks: Sequence[int] = (10,),
                    item_vectors: np.ndarray | sp.spmatrix | None = None) -> Evaluation:
    """Evaluate precomputed score rows (row ``i`` belongs to ``users[i]``)."""
    ks = _check_ks(ks)
    chosen = _check_users(users, split)
    item_vectors = _check_vectors(item_vectors, split.n_items)
    block = np.asarray(scores)
    if block.ndim != 2 or len(block) != len(chosen):
        raise GenreError(f"scores must have one row per user: {len(chosen)} users, "
                         f"got scores of shape {block.shape}")
    step = rows_per_batch(split.n_items)
    blocks = ((chosen[s:s + step], {None: block[s:s + step]}) for s in range(0, len(chosen), step))
    return _evaluate_named(blocks, chosen, split, ks, item_vectors)[None]


def evaluate_store(store: CandidateStore, mixes: Mapping[Hashable, Mapping[str, float]], *,
                   ks: Sequence[int] = (10,),
                   item_vectors: np.ndarray | sp.spmatrix | None = None) -> dict[Hashable, Evaluation]:
    """Evaluate weighted mixes read from a candidate store (``genre.store``), one per label.

    Same protocol as ``evaluate``: the store holds only rankable items, ties go to the lower
    item index, candidates are ranked by their exact mixed score. AUC compares each user's positives with the store's seeded sample of their
    negatives (``metrics.auc_sampled``; exact when all negatives fit the sample).
    """
    ks = _check_ks(ks)
    split, users = store.split, _check_users(store.users, store.split)
    item_vectors = _check_vectors(item_vectors, split.n_items)
    train, test = split.train_matrix(), split.test_matrix()
    relevant = test[users]
    candidates = None if split.candidate_items is None else np.unique(split.candidate_items)
    n_candidates = split.n_items if candidates is None else len(candidates)
    results = {}
    for label, weights in mixes.items():
        top = store.top_k(dict(weights), max(ks))
        columns = {f"{name}@{k}": function(top, relevant, k)
                   for k in ks for name, function in RANKING_METRICS.items()}
        columns["auc"] = metrics.auc_sampled(store.probe_mix(dict(weights)), store.probe.indptr,
                                             store.probe.positive)
        results[label] = _gather([top], [pd.DataFrame(columns)], users, split, train, n_candidates, ks,
                                 item_vectors)
    return results


def store_metric(store: CandidateStore, weights: Mapping[str, float], metric: str = "ndcg@10") -> float:
    """Mean of ONE ranking metric (e.g. ``"ndcg@10"``) of a mix read from the store.

    The objective a weight search calls a hundred times: only the top-k and that metric.
    Other metrics (``"auc"``, ``"coverage@10"``, ...) go through ``evaluate_store``.
    """
    name, _, cut = metric.partition("@")
    if name not in RANKING_METRICS or not cut.isdigit() or int(cut) < 1:
        k = int(cut) if cut.isdigit() else 10
        return evaluate_store(store, {None: weights}, ks=(k,))[None].means[metric]
    top = store.top_k(dict(weights), int(cut))
    relevant = store.split.test_matrix()[store.users]
    return float(RANKING_METRICS[name](top, relevant, int(cut)).mean())


def sample_users(split: Split, max_users: int, seed: int, what: str = "test") -> tuple[np.ndarray, str | None]:
    """``split.test_users``, or a seeded sorted sample of ``max_users`` of them; with a note
    saying so (None when all are evaluated). Why: ranking 100k users against 200k items per
    algorithm costs hours, and a 20k-user sample gives intervals of a few thousandths."""
    users = split.test_users
    if len(users) <= max_users:
        return users, None
    chosen = np.sort(np.random.default_rng(seed).choice(users, size=int(max_users), replace=False))
    return chosen, (f"{what} metrics are over a seeded random sample of {int(max_users):,} of the "
                    f"{len(users):,} {what} users (evaluation.max_users), each with its 95 % interval")


# ---------------------------------------------------------------------------- slices
def slice_metrics(evaluation: Evaluation, split: Split, *, activity_threshold: int = 20,
                  head_fraction: float = 0.2, k: int = 10) -> pd.DataFrame:
    """Metrics by user activity and by item popularity, to see who a model serves.

    Activity: users with ≤ ``activity_threshold`` training interactions vs the rest (all
    per-user metrics at ``k``). Popularity: the head is the top ``head_fraction`` of items by
    training popularity (ties to the lower index); each slice's recall@k counts only the test
    items in that slice, over the users who have any.
    """
    columns = [c for c in evaluation.per_user.columns if c.endswith(f"@{k}")]
    if not columns:
        available = sorted({c.split("@")[1] for c in evaluation.per_user.columns if "@" in c})
        raise ConfigError(f"k={k} was not evaluated; evaluate with ks including {k} "
                          f"or choose one of: {', '.join(available)}")
    if isinstance(head_fraction, bool) or not isinstance(head_fraction, numbers.Real) \
            or not 0 < head_fraction < 1:
        raise ConfigError(f"head_fraction must be between 0 and 1 (exclusive), got {head_fraction!r}")
    users, per_user = evaluation.users, evaluation.per_user
    activity = np.bincount(split.train["user"].to_numpy(), minlength=split.n_users)[users]
    rows = []
    for label, members in ((f"≤ {activity_threshold} train interactions", activity <= activity_threshold),
                           (f"> {activity_threshold} train interactions", activity > activity_threshold)):
        rows.append({"slice": "user activity", "group": label, "n_users": int(members.sum()),
                     **per_user.loc[members, columns + ["auc"]].mean().to_dict()})
    popularity = np.asarray(split.train_matrix().sum(axis=0)).ravel()
    share = Fraction(head_fraction).limit_denominator(10_000)
    n_head = -((-split.n_items * share.numerator) // share.denominator)
    is_head = np.zeros(split.n_items, dtype=bool)
    is_head[np.argsort(-popularity, kind="stable")[:n_head]] = True
    relevant = split.test_matrix()[users]
    for label, items in ((f"head (top {head_fraction:.0%} of items)", is_head),
                         ("long tail", ~is_head)):
        restricted = sp.csr_matrix(relevant.multiply(items[None, :]))
        members = metrics.n_relevant(restricted) > 0
        recall = metrics.recall_at_k(evaluation.top_items[members], restricted[members], k)
        rows.append({"slice": "item popularity", "group": label, "n_users": int(members.sum()),
                     f"recall@{k}": float(recall.mean()) if len(recall) else np.nan})
    return pd.DataFrame(rows, columns=["slice", "group", "n_users", *columns, "auc"])
