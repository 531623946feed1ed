"""The algorithms that have a distributed form, as per-user top-C candidates on Spark.

Each function takes the TRAIN rows (``user``, ``item``, ``timestamp``, ``pos``) and returns,
for every user with training rows, the ``c + 1`` best unseen items as (user, item, score,
rank) — rank 1 is best, ties to the lower item index as ``fusion.top_k`` breaks them; the
(c+1)-th is the algorithm's floor for the mix. Parameters carry the local algorithms'
names; ``SPARK_PARAMS`` says which ones each form understands.
"""

from __future__ import annotations

from typing import Any, Callable

from genre.errors import ConfigError

#: Parameters each Spark form reads (the local names); any other parameter is refused.
SPARK_PARAMS: dict[str, tuple[str, ...]] = {
    "popularity": (),
    "als": ("factors", "iterations", "regularization", "alpha", "num_threads", "random_state"),
    "item_knn": ("k", "shrink", "num_threads"),
}
NO_SPARK_FORM = "{name} has no distributed form; use als or item_knn (or popularity) with engine: spark"
#: Items ranked per user beyond C + 1 when a form ranks before excluding history; users with a
#: longer history are ranked again, deeper (``_ranked``).
_SEEN_SLACK = 200


def _best(scored: Any, c: int) -> Any:
    """The ``c + 1`` best unseen-scored rows per user, ranked (ties → lower item index)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = Window.partitionBy("user").orderBy(F.col("score").desc(), F.col("item").asc())
    return scored.withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= c + 1)


def _unseen(scored: Any, train: Any) -> Any:
    return scored.join(train.select("user", "item"), ["user", "item"], "left_anti")


def _deep_users(train: Any) -> tuple[Any, int]:
    """Users with more than ``_SEEN_SLACK`` training rows, and the longest history among them."""
    from pyspark.sql import functions as F

    deep = train.groupBy("user").agg(F.count("*").alias("n")).where(F.col("n") > _SEEN_SLACK).persist()
    longest = deep.agg(F.max("n")).first()[0] or 0
    return deep.select("user"), int(longest)


def _ranked(ranked: Callable[[Any, int], Any], train: Any, c: int) -> Any:
    """The ``c + 1`` best unseen per user from ``ranked(users, depth)`` (a user's ``depth`` best items).

    Why two passes: every user's ``c + 1 + _SEEN_SLACK`` best hold their c + 1 best unseen unless
    their history is longer than the slack; only those users are ranked again, deep enough
    (c + 1 + their longest history) to be exact.
    """
    deep, longest = _deep_users(train)
    users = train.select("user").distinct()
    shallow = _unseen(ranked(users.join(deep, "user", "left_anti"), c + 1 + _SEEN_SLACK), train)
    if not longest:
        return _best(shallow, c)
    full = _unseen(ranked(deep, c + 1 + longest), train)
    return _best(shallow.unionByName(full.select(*shallow.columns)), c)


def popularity(train: Any, c: int, params: dict[str, Any], seed: int, settings: Any) -> Any:
    """Users per item / n_users (``Popularity``): the ``c + 1`` most popular unseen per user."""
    from pyspark.sql import functions as F

    n_users = train.select("user").distinct().count()
    counts = train.groupBy("item").agg((F.countDistinct("user") / F.lit(n_users)).alias("score")).persist()

    def ranked(users: Any, depth: int) -> Any:
        head = counts.orderBy(F.col("score").desc(), F.col("item").asc()).limit(depth)
        return users.crossJoin(F.broadcast(head))

    return _ranked(ranked, train, c)


def als(train: Any, c: int, params: dict[str, Any], seed: int, settings: Any) -> Any:
    """``pyspark.ml.recommendation.ALS`` with implicit preferences on the binary TRAIN matrix.

    The local ALS's parameters, translated to Spark's conventions: factors → rank, iterations →
    maxIter; alpha → alpha − 1 (Spark's observed confidence is 1 + alpha, ``implicit``'s is alpha);
    regularization → regParam = regularization / (mean TRAIN interactions per user), since
    Spark's ALS-WR multiplies regParam by each user's and item's interaction count while
    ``implicit`` adds it unscaled. Spark also solves each step exactly (Cholesky) where
    ``implicit`` runs a few conjugate-gradient steps, and seeds differently: the factors differ.
    """
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    rows, n_users = train.agg(F.count("*"), F.countDistinct("user")).first()
    model = ALS(rank=int(params.get("factors", 128)), maxIter=int(params.get("iterations", 15)),
                regParam=float(params.get("regularization", 10.0)) * n_users / rows,
                alpha=max(float(params.get("alpha", 1.0)) - 1.0, 0.0),
                implicitPrefs=True, userCol="user", itemCol="item", ratingCol="value", seed=int(seed),
                coldStartStrategy="drop").fit(train.select("user", "item", F.lit(1.0).alias("value")))

    def ranked(users: Any, depth: int) -> Any:
        top = model.recommendForUserSubset(users, depth)
        return top.select("user", F.explode("recommendations").alias("r")).select(
            "user", F.col("r.item").alias("item"), F.col("r.rating").alias("score"))

    return _ranked(ranked, train, c)


def item_knn(train: Any, c: int, params: dict[str, Any], seed: int, settings: Any) -> Any:
    """Shrunk cosine item-kNN (``ItemKNN``): co-occurrences counted in Spark, top-k per target.

    ``sim(i, j) = co(i, j) / (√n_i √n_j + shrink)``; each target j keeps its k best neighbours
    and a user's score for j sums the similarities of j's neighbours in the user's history.
    Co-occurrence costs Σ history² per user, so the similarities (counts and norms) come from
    each user's latest ``spark.knn_history`` interactions (all of them when a user has fewer);
    a user's score still sums over their whole history (cost: TRAIN rows × k).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    k, shrink = int(params.get("k", 400)), float(params.get("shrink", 0.0))
    if k < 1 or shrink < 0:
        raise ConfigError(f"item_knn: k must be ≥ 1 and shrink ≥ 0, got k={k}, shrink={shrink}")
    latest = Window.partitionBy("user").orderBy(F.col("timestamp").desc(), F.col("pos").desc())
    recent = (train.withColumn("_r", F.row_number().over(latest))
              .where(F.col("_r") <= int(settings.knn_history)).select("user", "item").persist())
    n = recent.groupBy("item").agg(F.sqrt(F.count("*")).alias("norm"))  # cosine on the same rows
    pairs = (recent.alias("a").join(recent.alias("b"), "user")
             .where(F.col("a.item") != F.col("b.item"))
             .groupBy(F.col("a.item").alias("i"), F.col("b.item").alias("j")).agg(F.count("*").alias("co")))
    sims = (pairs.join(n.withColumnRenamed("item", "i").withColumnRenamed("norm", "ni"), "i")
            .join(n.withColumnRenamed("item", "j").withColumnRenamed("norm", "nj"), "j")
            .select("i", "j", (F.col("co") / (F.col("ni") * F.col("nj") + shrink)).alias("sim")))
    neighbours = Window.partitionBy("j").orderBy(F.col("sim").desc(), F.col("i").asc())
    kept = sims.withColumn("_r", F.row_number().over(neighbours)).where(F.col("_r") <= k).drop("_r")
    scored = (train.select("user", F.col("item").alias("i")).join(kept, "i")
              .groupBy("user", F.col("j").alias("item")).agg(F.sum("sim").alias("score")))
    return _best(_unseen(scored, train), c)


SPARK_ALGORITHMS: dict[str, Callable[..., Any]] = {"popularity": popularity, "als": als, "item_knn": item_knn}


def check_spark_algorithms(config: Any) -> None:
    """Refuse, before Spark starts, an enabled algorithm or parameter with no Spark form."""
    for algo in (a for a in config.algorithms if a.enabled):
        if algo.name not in SPARK_ALGORITHMS:
            raise ConfigError(NO_SPARK_FORM.format(name=algo.name))
        unknown = sorted(set(algo.params) - set(SPARK_PARAMS[algo.name]))
        if unknown:
            raise ConfigError(f"{algo.name} on Spark has no parameter(s) {', '.join(unknown)}; "
                              f"it reads: {', '.join(SPARK_PARAMS[algo.name]) or 'none'}")
