"""One run of a config on Spark: load → split → candidates per algorithm → mix → top-k → metrics.

The result is the local engine's ``RunResult`` (metrics per algorithm and for the mix, 95 %
intervals, weights, timings, notes), so the registry, ``genre runs --compare`` and the app's
Metrics page show a Spark run beside a local one. Every user's top-k list (raw ids) is
written to Parquet for serving.

Examples
--------
>>> from genre.config import load_config
>>> result = run_on_spark(load_config("configs/tuned_mix_spark.yaml"), master="local[2]")  # doctest: +SKIP
>>> result.metrics.loc["mix", "ndcg@10"]                                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from genre.config import RunConfig
from genre.errors import ConfigError
from genre.paths import data_home
from genre.run import RunResult
from genre.spark.algorithms import SPARK_ALGORITHMS, FormInputs, check_spark_algorithms
from genre.spark.content import check_content, spark_item_vectors
from genre.spark.evaluate import collect_lists, evaluated_users, list_metrics, relevance
from genre.spark.load import load_interactions
from genre.spark.mix import check_fusion, normalize, top_k, weighted_mix
from genre.spark.session import spark_session
from genre.spark.split import SPARK_SPLITS, spark_split, split_params

log = logging.getLogger("genre")

Progress = Callable[[int, int, str], None]


def check_spark_config(config: RunConfig) -> None:
    """Everything the Spark engine refuses, before a JVM starts (seconds, not a minute)."""
    check_spark_algorithms(config)
    check_content(config)
    check_fusion(config.fusion)
    if config.split.method not in SPARK_SPLITS:
        raise ConfigError(f"split method {config.split.method!r} has no Spark form; use "
                          f"{' or '.join(SPARK_SPLITS)} with engine: spark")
    split_params(config)
    if config.tuning.enabled:
        raise ConfigError("tuning runs on the local engine: tune on a sample in the app or with engine: local, "
                          "then run the exported config (its weights) with engine: spark and tuning.enabled: false")


def default_output(config: RunConfig) -> Path:
    """Where the top-k Parquet goes when ``spark.output`` is unset: beside the run registry."""

    return data_home() / "spark-topk" / f"{config.name}-{time.strftime('%Y%m%d-%H%M%S')}"


@contextmanager
def _stage(timings: dict[str, float], name: str, progress: Progress | None) -> Iterator[None]:
    log.info(name)
    if progress:
        progress(0, 0, name)
    began = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - began


def run_on_spark(config: RunConfig, *, master: str | None = None, spark: Any = None,
                 progress: Progress | None = None, stage_hook: Callable[[str], None] | None = None) -> RunResult:
    """Run ``config`` on a SparkSession (``spark``, or one started on ``master`` / ``config.spark.master``).

    ``stage_hook(name)`` is called after each stage (the benchmark samples memory there).
    """
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra


    config = RunConfig.from_dict({**config.to_dict(), "engine": "spark"})
    if master:
        config.spark.master = master
    check_spark_config(config)
    timings: dict[str, float] = {}
    hook = stage_hook or (lambda name: None)

    def stage(name: str):
        return _stage(timings, name, progress)

    if spark is None:
        with stage("start spark"):
            spark = spark_session(config.spark.master, driver_memory=config.spark.driver_memory,
                                  shuffle_partitions=config.spark.shuffle_partitions)
        hook("start spark")
    with stage("load"):
        data = load_interactions(spark, config.data)
    hook("load")
    with stage("split"):
        # checkpoints cut the lineage: later plans (and their explain strings) stay small
        rows = spark_split(data, config.split.method, **split_params(config)).localCheckpoint()
        train = rows.where(~F.col("is_test")).select("user", "item", "timestamp", "pos").localCheckpoint()
        users, note = evaluated_users(rows, config.evaluation.max_users, config.seed)
    hook("split")
    notes = list(data.notes) + [n for n in (note,) if n]
    c = int(config.fusion.candidates)
    k = max(config.evaluation.ks)
    if c < k:
        raise ConfigError(f"fusion.candidates ({c}) must be at least the largest cut-off ({k})")
    enabled = [a for a in config.algorithms if a.enabled]
    inputs = FormInputs(train, c, data.n_items, config.seed, config.spark)
    if any(a.name == "content" for a in enabled):
        with stage("encode items"):
            inputs.item_vectors, more = spark_item_vectors(data, config, progress)
            notes += more
        hook("encode items")
    parts, tops = {}, {}
    for algo in enabled:
        with stage(f"fit + candidates {algo.name}"):
            candidates = SPARK_ALGORITHMS[algo.name](inputs, algo.params).localCheckpoint()
            parts[algo.name] = normalize(candidates, c, config.fusion.normalization, data.n_items)
            tops[algo.name] = candidates.where(F.col("rank") <= k)
        hook(f"fit + candidates {algo.name}")
    weights = {a.name: float(a.weight) for a in enabled}
    with stage("mix + top-k"):
        tops["mix"] = top_k(weighted_mix(parts, weights), k).localCheckpoint()
    hook("mix + top-k")
    with stage("evaluate"):
        metrics, intervals, per_user = _evaluate(spark, rows, train, tops, users, data.n_items, config)
    hook("evaluate")
    with stage("write top-k"):
        output = Path(config.spark.output) if config.spark.output else default_output(config)
        _raw_ids(tops["mix"], data.ids).write.mode("overwrite").parquet(str(output))
    hook("write top-k")
    notes += [f"engine spark on {spark.sparkContext.master}: top-{k} lists of every user in {output}",
              "AUC needs every item's score per user and is not computed on Spark",
              "the Spark mix gives an item outside an algorithm's candidates that algorithm's floor"]
    if "item_knn" in weights:
        notes.append(f"item_knn on Spark computes similarities from each user's latest {config.spark.knn_history} "
                     f"interactions (spark.knn_history)")
    return RunResult(metrics=metrics, per_user=per_user, slices=pd.DataFrame(), weights=weights, timings=timings,
                     config=config, notes=notes, intervals=intervals)


def _raw_ids(tops: Any, ids: dict[str, Any]) -> Any:
    """(user_id, item_id, score, rank): the top-k lists under the source's raw ids."""
    users = ids["user"].withColumnRenamed("user", "user_id").withColumnRenamed("index", "user")
    items = ids["item"].withColumnRenamed("item", "item_id").withColumnRenamed("index", "item")
    return tops.join(users, "user").join(items, "item").select("user_id", "item_id", "score", "rank")


def _evaluate(spark: Any, rows: Any, train: Any, tops: dict[str, Any], users: np.ndarray, n_items: int,
              config: RunConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Metrics per algorithm and for the mix on the evaluated users (only their lists leave Spark)."""
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    ks, k = tuple(config.evaluation.ks), max(config.evaluation.ks)
    users_frame = F.broadcast(spark.createDataFrame(pd.DataFrame({"user": users.astype(np.int64)})))
    test = rows.where("is_test").join(users_frame, "user").select("user", "item").toPandas()
    relevant = relevance(test, users, n_items)
    counts = train.groupBy("item").count().toPandas()
    popularity = np.zeros(n_items, dtype=np.float64)
    popularity[counts["item"].to_numpy()] = counts["count"].to_numpy()
    means, halves, per_user = {}, {}, None
    for name, top in tops.items():
        lists = collect_lists(top, users_frame, users, k, n_items)
        values, means[name], halves[name] = list_metrics(lists, relevant, popularity, n_items, ks)
        if name == "mix":
            per_user = values.set_index(pd.Index(users, name="user"))
    order = [*[n for n in tops if n != "mix"], "mix"]
    return (pd.DataFrame.from_dict(means, orient="index").loc[order],
            pd.DataFrame.from_dict(halves, orient="index").loc[order], per_user)
