"""Per-user normalization of each algorithm's candidates, the weighted mix and top-k, on Spark.

Like the candidate store (genre.store), each algorithm contributes its C best unseen items
and a floor (its (C+1)-th best value). ``minmax`` maps a user's best to 1 and the floor to 0
(the local engine maps the user's lowest unseen item to 0, which needs every item's score);
``rank`` and ``none`` are exact. In the mix an item outside an algorithm's C best gets that
algorithm's floor: the store keeps its exact score instead, so the two mixes can differ below
the candidates' tails (the tolerance test measures it).
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from genre.errors import ConfigError

SPARK_NORMALIZATIONS = ("minmax", "rank", "none")


def check_fusion(fusion: Any) -> None:
    """Refuse the fusion settings that need every item's score (zscore, temperature)."""
    if fusion.normalization not in SPARK_NORMALIZATIONS:
        raise ConfigError(f"fusion.normalization {fusion.normalization!r} needs every item's score; on Spark "
                          f"use one of {', '.join(SPARK_NORMALIZATIONS)}")
    if fusion.temperature is not None:
        raise ConfigError("fusion.temperature needs every item's score; leave it empty with engine: spark")


def normalize(candidates: Any, c: int, method: str, n_items: int) -> tuple[Any, Any]:
    """(user, item, norm) of the C best, and (user, floor) — from ``c + 1`` ranked candidates."""
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    if method == "rank":  # fusion.normalize's rank share: best = 1, next (n - 2)/(n - 1), ...
        valued = candidates.withColumn("norm", (F.lit(n_items) - F.col("rank")) / F.lit(max(n_items - 1, 1)))
    elif method == "none":
        valued = candidates.withColumn("norm", F.col("score"))
    else:
        stats = candidates.groupBy("user").agg(F.max("score").alias("_hi"), F.min("score").alias("_lo"))
        span = F.col("_hi") - F.col("_lo")
        valued = (candidates.join(stats, "user")
                  .withColumn("norm", F.when(span > 0, (F.col("score") - F.col("_lo")) / span).otherwise(0.0)))
    last = candidates.groupBy("user").agg(F.max("rank").alias("_last"))
    floors = (valued.join(last, "user").where(F.col("rank") == F.col("_last"))
              .select("user", F.when(F.col("_last") > c, F.col("norm")).otherwise(0.0).alias("floor")))
    return valued.where(F.col("rank") <= c).select("user", "item", "norm"), floors


def weighted_mix(parts: dict[str, tuple[Any, Any]], weights: dict[str, float]) -> Any:
    """(user, item, score) over the union of candidates: Σ_a w_a · (norm_a, else floor_a)."""

    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    lifts = [norm.join(floors, "user").select("user", "item", (F.lit(weights[name]) * (F.col("norm") - F.col("floor")))
                                              .alias("lift"))
             for name, (norm, floors) in parts.items() if weights.get(name, 0.0)]
    bases = [floors.select("user", (F.lit(weights[name]) * F.col("floor")).alias("base"))
             for name, (norm, floors) in parts.items() if weights.get(name, 0.0)]
    if not lifts:
        raise ConfigError("every algorithm's weight is 0: give at least one a positive weight")
    lifted = reduce(lambda a, b: a.unionByName(b), lifts).groupBy("user", "item").agg(F.sum("lift").alias("lift"))
    base = reduce(lambda a, b: a.unionByName(b), bases).groupBy("user").agg(F.sum("base").alias("base"))
    return lifted.join(base, "user").select("user", "item", (F.col("lift") + F.col("base")).alias("score"))


def top_k(scored: Any, k: int) -> Any:
    """(user, item, score, rank) of each user's k best, ties to the lower item index."""
    from pyspark.sql import Window  # lazy: pyspark is an optional extra
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    order = Window.partitionBy("user").orderBy(F.col("score").desc(), F.col("item").asc())
    return scored.withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= k)
