"""The metrics of ``genre.evaluate`` for top-k lists made on Spark, over a seeded user sample.

Only the evaluated users' top-k lists and test rows leave Spark (≤ ``evaluation.max_users``
users, chosen as ``genre.evaluate.sample_users`` chooses them), so the driver's memory does
not grow with the log; the per-user values and their 95 % intervals are genre.evaluate's.
AUC needs every item's score for every evaluated user and is left out (NaN, with a note).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre import metrics
from genre.evaluate import RANKING_METRICS, half_width, sample_users


def evaluated_users(split_frame: Any, max_users: int, seed: int) -> tuple[np.ndarray, str | None]:
    """Users with test and training rows (``Split.test_users``), or ``sample_users``' sample."""
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    rows = split_frame.groupBy("user").agg(F.max(F.col("is_test").cast("int")).alias("t"),
                                           F.min(F.col("is_test").cast("int")).alias("f"))
    users = np.sort(np.asarray([r[0] for r in rows.where("t = 1 AND f = 0").select("user").collect()],
                               dtype=np.int64))
    return sample_users(SimpleNamespace(test_users=users), max_users, seed)


def collect_lists(tops: Any, users_frame: Any, users: np.ndarray, k: int, n_items: int) -> np.ndarray:
    """(len(users), k) item indices best first; a short list is padded with ``n_items`` (never relevant)."""
    rows = tops.join(users_frame, "user").select("user", "item", "rank").toPandas()
    out = np.full((len(users), k), n_items, dtype=np.int64)
    where = np.searchsorted(users, rows["user"].to_numpy())
    out[where, rows["rank"].to_numpy() - 1] = rows["item"].to_numpy()
    return out


def relevance(test_rows: pd.DataFrame, users: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Binary (len(users), n_items + 1) matrix of the users' test items (the extra column: padding)."""
    rows = np.searchsorted(users, test_rows["user"].to_numpy())
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, test_rows["item"].to_numpy())), shape=(len(users), n_items + 1))


def list_metrics(top: np.ndarray, relevant: sp.csr_matrix, popularity: np.ndarray, n_items: int,
                 ks: Sequence[int]) -> tuple[pd.DataFrame, dict[str, float], dict[str, float]]:
    """Per-user ranking metrics, then means and 95 % half-widths with the list metrics, as
    ``genre.evaluate`` names them (``ndcg@10``, ..., ``auc``, ``coverage@10``, ``novelty@10``...)."""
    per_user = pd.DataFrame({f"{name}@{k}": function(top, relevant, k)
                             for k in ks for name, function in RANKING_METRICS.items()})
    per_user["auc"] = np.nan
    means = {c: float(per_user[c].mean()) for c in per_user.columns}
    intervals = {c: half_width(per_user[c].to_numpy()) for c in per_user.columns}
    short = bool((top == n_items).any())  # padding counted as popular as the most popular item
    padded = np.append(popularity, popularity.max()) if short else popularity
    for k in ks:
        listed = np.unique(top[:, :k])
        means[f"coverage@{k}"] = float(len(listed[listed < n_items]) / n_items)
        intervals[f"coverage@{k}"] = float("nan")
        for name, values in ((f"novelty@{k}", metrics.novelty_at_k(top, padded, k)),
                             (f"popularity_bias@{k}", metrics.popularity_bias_at_k(top, padded, k))):
            means[name], intervals[name] = float(values.mean()), half_width(values)
    return per_user, means, intervals
