"""The per-user temporal and random holdouts of ``genre.split``, with Spark window functions.

Same rule, same rows: a user with n ≥ ``min_interactions`` rows puts the last
``min(ceil(n · test_fraction), n - 1)`` of their ordered rows in TEST. The order is
(timestamp, then the seeded tie-break) for the temporal split and the tie-break alone for
the random one. The tie-break is genre.split's: the position of the row in
``numpy.random.default_rng(seed).permutation(n_rows)``. The driver computes that
permutation (8 bytes per row, once) but ships only what the split needs: the keys of rows
whose (user, timestamp) is shared — usually a small fraction — for the temporal split, and
every row's key for the random one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from genre.errors import ConfigError
from genre.spark.load import SparkData
from genre.split import _check_count, _exact_fraction

SPARK_SPLITS = ("temporal", "random")
_VALID = ("test_fraction", "min_interactions", "seed")


def _inverse_permutation(n_rows: int, seed: int) -> np.ndarray:
    """Where each row lands in ``default_rng(seed).permutation(n_rows)``: genre.split's tie order."""
    order = np.random.default_rng(seed).permutation(n_rows)
    inverse = np.empty(n_rows, dtype=np.int64)
    inverse[order] = np.arange(n_rows, dtype=np.int64)
    return inverse


def _keys_frame(spark: Any, positions: np.ndarray, keys: np.ndarray, chunk: int = 5_000_000) -> Any:
    """(pos, tie) rows as a Spark DataFrame, built from Arrow in chunks."""

    parts = [spark.createDataFrame(pd.DataFrame({"pos": positions[s:s + chunk], "tie": keys[s:s + chunk]}))
             for s in range(0, max(len(positions), 1), chunk)]
    frame = parts[0]
    for part in parts[1:]:
        frame = frame.unionByName(part)
    return frame


def tie_keys(data: SparkData, seed: int, by_time: bool) -> Any:
    """``data.frame`` with a ``tie`` column: genre.split's seeded order where it decides anything."""
    from pyspark.sql import Window  # lazy: pyspark is an optional extra
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    frame = data.frame
    inverse = _inverse_permutation(data.n_rows, seed)
    spark = frame.sparkSession
    if by_time:
        shared = F.count("*").over(Window.partitionBy("user", "timestamp"))
        tied = np.sort(np.asarray([r[0] for r in frame.withColumn("_n", shared).where("_n > 1")
                                   .select("pos").collect()], dtype=np.int64))
        if len(tied) == 0:
            return frame.withColumn("tie", F.lit(0).cast("long"))
        keys = _keys_frame(spark, tied, inverse[tied])
        return frame.join(F.broadcast(keys) if len(tied) < 2_000_000 else keys, "pos", "left").fillna(0, ["tie"])
    return frame.join(_keys_frame(spark, np.arange(data.n_rows, dtype=np.int64), inverse), "pos")


def spark_split(data: SparkData, method: str = "temporal", *, seed: int = 42, test_fraction: float = 0.2,
                min_interactions: int = 5) -> Any:
    """``data.frame`` with a boolean ``is_test`` column: genre.split's TRAIN/TEST, row for row."""
    from pyspark.sql import Window  # lazy: pyspark is an optional extra
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    if method not in SPARK_SPLITS:
        raise ConfigError(f"split method {method!r} has no Spark form; use one of {', '.join(SPARK_SPLITS)}")
    fraction = _exact_fraction(test_fraction, "test_fraction")
    minimum = _check_count(min_interactions, "min_interactions", 2)
    by_time = method == "temporal"
    frame = tie_keys(data, seed, by_time)
    order = ["timestamp", "tie"] if by_time else ["tie"]
    per_user = Window.partitionBy("user")
    size = F.count("*").over(per_user)
    rank = F.row_number().over(per_user.orderBy(*order)) - 1
    # ceil(n · p / q) in integer arithmetic, as genre.split's -((-n·p) // q); capped at n - 1
    n_test = F.least(F.expr(f"(_n * {fraction.numerator} + {fraction.denominator - 1}) div {fraction.denominator}"),
                     F.col("_n") - 1)
    return (frame.withColumn("_n", size).withColumn("_r", rank)
            .withColumn("is_test", (F.col("_n") >= minimum) & (F.col("_r") >= F.col("_n") - n_test))
            .drop("_n", "_r", "tie"))


def split_params(config: Any) -> dict[str, Any]:
    """The split keywords of a config, checked against what the Spark split takes."""
    params = {"seed": config.seed, **config.split.params}
    unknown = sorted(set(params) - set(_VALID))
    if unknown:
        raise ConfigError(f"split method {config.split.method!r} has no parameter(s) {', '.join(unknown)}; "
                          f"valid parameters: {', '.join(_VALID)}")
    return params
