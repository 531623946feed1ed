"""The algorithms that have a distributed form, as per-user top-C candidates on Spark.

Each form takes the TRAIN rows (``user``, ``item``, ``timestamp``, ``pos``) and returns, for
every user with training rows, the ``c + 1`` best unseen items as (user, item, score, rank) —
rank 1 is best, ties to the lower item index as ``fusion.top_k`` breaks them; the (c+1)-th is
the algorithm's floor for the mix. The model is fitted in Spark (counts, MLlib's ALS,
co-occurrences per user bucket); users are scored in buckets (``genre.spark.blocks``).
Parameters carry the local algorithms' names; ``SPARK_PARAMS`` says which each form reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre.algorithms.content import cosine_scores, unit_vectors
from genre.algorithms.item_knn import best_per_row
from genre.errors import ConfigError
from genre.spark.blocks import bucket_count, bucketed, candidates, recent, user_matrix

#: Parameters each Spark form reads (the local names); any other parameter is refused.
SPARK_PARAMS: dict[str, tuple[str, ...]] = {
    "popularity": (),
    "als": ("factors", "iterations", "regularization", "alpha", "num_threads", "random_state"),
    "item_knn": ("k", "shrink", "num_threads"),
    "content": ("weighting",),
}
NO_SPARK_FORM = ("{name} has no distributed form; use als, item_knn, popularity or content with engine: spark"
                 "{why}")
#: Why an algorithm has no Spark form, where a reader may wonder.
NO_FORM_BECAUSE = {
    "sequential": " (its time-window co-occurrence graph keeps every pair, not k per item, so it cannot be "
                  "broadcast at catalog scale)",
    "ease": " (its item × item inverse is dense: items² memory on every executor)",
}


@dataclass
class FormInputs:
    """What every Spark form reads: TRAIN rows, the candidates per user (``c``) and the run's context."""

    train: Any            # DataFrame user, item, timestamp, pos
    c: int
    n_items: int
    seed: int
    settings: Any         # config.spark
    item_vectors: Any = None  # content only: item × d, Spark's item order (genre.spark.content)


def popularity(inputs: FormInputs, params: dict[str, Any]) -> Any:
    """Users per item / n_users (``Popularity``): the ``c + 1`` most popular unseen per user."""
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    train, c, n_items = inputs.train, inputs.c, inputs.n_items
    n_users = train.select("user").distinct().count()
    counts = train.groupBy("item").agg(F.countDistinct("user").alias("n")).toPandas()
    share = np.zeros(n_items, dtype=np.float32)
    share[counts["item"].to_numpy()] = counts["n"].to_numpy() / n_users
    ranking = np.lexsort((np.arange(n_items), -share))  # best first, ties to the lower index

    def score(users: np.ndarray, seen: sp.csr_matrix, side: Any) -> sp.csr_matrix:
        """Only the catalog's head: a user's c + 1 best unseen are within the c + 1 + |seen| most popular."""
        head = np.sort(ranking[:c + 1 + int(seen.getnnz(axis=1).max(initial=0))])
        indptr = np.arange(len(users) + 1) * len(head)
        return sp.csr_matrix((np.tile(share[head], len(users)), np.tile(head, len(users)), indptr),
                             shape=(len(users), n_items))

    return candidates(train, score, c, n_items)


def als(inputs: FormInputs, params: dict[str, Any]) -> Any:
    """``pyspark.ml.recommendation.ALS`` with implicit preferences on the binary TRAIN matrix.

    The local ALS's parameters, translated to Spark's conventions: factors → rank, iterations →
    maxIter; alpha → alpha − 1 (Spark's observed confidence is 1 + alpha, ``implicit``'s is alpha);
    regularization → regParam = regularization / (mean TRAIN interactions per user), since
    Spark's ALS-WR multiplies regParam by each user's and item's interaction count while
    ``implicit`` adds it unscaled. Spark also solves each step exactly (Cholesky) where
    ``implicit`` runs a few conjugate-gradient steps, and seeds differently: the factors differ.
    Scoring: item factors broadcast, each bucket's user factors co-grouped with its TRAIN rows.
    """
    from pyspark.ml.recommendation import ALS  # lazy: pyspark is an optional extra
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    train, c, n_items = inputs.train, inputs.c, inputs.n_items
    rank = int(params.get("factors", 128))
    rows, n_users = train.agg(F.count("*"), F.countDistinct("user")).first()
    model = ALS(rank=rank, maxIter=int(params.get("iterations", 15)),
                regParam=float(params.get("regularization", 10.0)) * n_users / rows,
                alpha=max(float(params.get("alpha", 1.0)) - 1.0, 0.0),
                implicitPrefs=True, userCol="user", itemCol="item", ratingCol="value",
                seed=int(inputs.seed)).fit(train.select("user", "item", F.lit(1.0).alias("value")))
    found = model.itemFactors.toPandas()
    item_factors = np.zeros((n_items, rank), dtype=np.float32)  # an item with no TRAIN row scores 0
    if len(found):
        item_factors[found["id"].to_numpy()] = np.stack(found["features"].to_numpy())
    shared = train.sparkSession.sparkContext.broadcast(item_factors)

    def score(users: np.ndarray, seen: sp.csr_matrix, side: pd.DataFrame) -> np.ndarray:
        at = pd.Index(side["user"].to_numpy()).get_indexer(users)
        factors = np.zeros((len(users), rank), dtype=np.float32)
        known = at >= 0
        if known.any():
            factors[known] = np.stack(side["features"].to_numpy()[at[known]])
        return factors @ shared.value.T

    return candidates(train, score, c, n_items,
                      side=model.userFactors.select(F.col("id").alias("user"), "features"))


def item_knn(inputs: FormInputs, params: dict[str, Any]) -> Any:
    """Shrunk cosine item-kNN (``ItemKNN``): similarities from co-occurrences, each user's history scored.

    ``sim(i, j) = co(i, j) / (√n_i √n_j + shrink)``; each target j keeps its k best neighbours
    (ties to the lower index) and a user's score for j sums the similarities of j's neighbours
    in the user's whole TRAIN history. Co-occurrence costs Σ history² per user, so the counts
    and norms come from each user's latest ``spark.knn_history`` interactions (all of them when
    a user has fewer — then the similarity is the local ``ItemKNN``'s).
    """
    train, n_items = inputs.train, inputs.n_items
    k, shrink = int(params.get("k", 400)), float(params.get("shrink", 0.0))
    if k < 1 or shrink < 0:
        raise ConfigError(f"item_knn: k must be ≥ 1 and shrink ≥ 0, got k={k}, shrink={shrink}")
    similarity = spark_similarity(train, min(k, max(n_items - 1, 1)), shrink, int(inputs.settings.knn_history),
                                  n_items)
    shared = train.sparkSession.sparkContext.broadcast(similarity)

    def score(users: np.ndarray, seen: sp.csr_matrix, side: Any) -> np.ndarray:
        return seen @ shared.value  # sparse: only the items near a user's history are ranked

    return candidates(train, score, inputs.c, n_items)


def content(inputs: FormInputs, params: dict[str, Any]) -> Any:
    """``ContentBased`` with uniform weighting (``check_content``): cosine of each user's mean history vector to
    every item.

    The item vectors are encoded once on the driver (``genre.spark.content``) and broadcast;
    always exact (the local engine may switch to approximate search on large dense catalogs).
    """

    shared = inputs.train.sparkSession.sparkContext.broadcast(unit_vectors(inputs.item_vectors))

    def score(users: np.ndarray, seen: sp.csr_matrix, side: Any) -> np.ndarray:
        return cosine_scores(seen, shared.value)

    return candidates(inputs.train, score, inputs.c, inputs.n_items)


def spark_similarity(train: Any, k: int, shrink: float, history: int, n_items: int) -> sp.csr_matrix:
    """Item × item shrunk cosine (float32 CSR on the driver), column j holding target j's k best.

    Three Spark passes over user buckets and target buckets: per-item counts of the recent rows
    (the norms); per user bucket, the bucket's co-occurrence counts ``XᵀX`` (scipy, so a
    bucket's repeated pairs leave it summed); per target bucket, those partial counts summed
    and each target's k best neighbours kept. Only items × k pairs reach the driver — the model
    every executor then needs, broadcast like any item-item model's.
    """
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra


    n_buckets = bucket_count(train)
    by_user = bucketed(train.select("user", "item", "timestamp", "pos"), n_buckets)

    def item_counts(frame: pd.DataFrame) -> pd.DataFrame:
        counts = np.bincount(recent(frame, history)["item"].to_numpy(), minlength=n_items)
        items = np.flatnonzero(counts)
        return pd.DataFrame({"item": items.astype(np.int32), "n": counts[items].astype(np.int64)})

    counted = by_user.applyInPandas(item_counts, "item int, n long").groupBy("item").agg(F.sum("n").alias("n"))
    counted = counted.toPandas()
    norms = np.zeros(n_items, dtype=np.float64)
    norms[counted["item"].to_numpy()] = np.sqrt(counted["n"].to_numpy())

    def co_occurrences(frame: pd.DataFrame) -> pd.DataFrame:
        _, matrix = user_matrix(recent(frame, history), n_items)
        pairs = (matrix.T @ matrix).tocoo()
        off = pairs.row != pairs.col
        return pd.DataFrame({"i": pairs.row[off].astype(np.int32), "j": pairs.col[off].astype(np.int32),
                             "co": pairs.data[off].astype(np.int32)})

    def neighbours(frame: pd.DataFrame) -> pd.DataFrame:
        summed = sp.coo_matrix((frame["co"].to_numpy(), (frame["j"].to_numpy(), frame["i"].to_numpy())),
                               shape=(n_items, n_items)).tocsr().tocoo()  # duplicates summed
        targets, sources = summed.row.astype(np.int32), summed.col.astype(np.int32)
        sim = (summed.data / (norms[targets] * norms[sources] + shrink)).astype(np.float32)
        targets, sources, sim = best_per_row(targets, sources, sim, n_items, k)
        return pd.DataFrame({"i": sources, "j": targets, "sim": sim})

    partial = by_user.applyInPandas(co_occurrences, "i int, j int, co int")
    kept = bucketed(partial, n_buckets, "j").applyInPandas(neighbours, "i int, j int, sim float").toPandas()
    return sp.csr_matrix((kept["sim"].to_numpy(), (kept["i"].to_numpy(), kept["j"].to_numpy())),
                         shape=(n_items, n_items), dtype=np.float32)


SPARK_ALGORITHMS: dict[str, Callable[[FormInputs, dict[str, Any]], Any]] = {
    "popularity": popularity, "als": als, "item_knn": item_knn, "content": content}


def check_spark_algorithms(config: Any) -> None:
    """Refuse, before Spark starts, an enabled algorithm or parameter with no Spark form."""
    for algo in (a for a in config.algorithms if a.enabled):
        if algo.name not in SPARK_ALGORITHMS:
            raise ConfigError(NO_SPARK_FORM.format(name=algo.name, why=NO_FORM_BECAUSE.get(algo.name, "")))
        unknown = sorted(set(algo.params) - set(SPARK_PARAMS[algo.name]))
        if unknown:
            raise ConfigError(f"{algo.name} on Spark has no parameter(s) {', '.join(unknown)}; "
                              f"it reads: {', '.join(SPARK_PARAMS[algo.name]) or 'none'}")
