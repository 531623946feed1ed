"""Per-user work on Spark in batches of users: candidates from dense score blocks, recent histories.

Spark spreads the users over executors in buckets (``user % n_buckets``); inside a bucket a
pandas UDF does what the local candidate store does for one batch: score a block of users
against every item with numpy/scipy/torch, mask what each user has seen, and keep the
``c + 1`` best with ``fusion.top_k`` (the same tie-break as the local engine). Why not Spark
SQL joins: a neighbourhood model's (user, neighbour, target) rows number TRAIN × k — 2·10⁹ at
20M interactions with k = 100 — while one sparse product per block never materialises them;
and a whole-catalog top-C per user is a dense scan that BLAS and ``torch.topk`` do an order of
magnitude faster than a Spark window sort. The model pieces a block needs (an item × item
similarity, item factors, popularity) are broadcast once per executor; per-user pieces (ALS
user factors) travel with their bucket (``cogroup``), so nothing grows with users on one node.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre.fusion import top_k

#: Cells (users × items) in one dense score block: 32M float32 = 128 MB, twice over while masking.
BLOCK_CELLS = 1 << 25
#: TRAIN rows per user bucket: large enough to amortise a task, small enough for one Python worker.
ROWS_PER_BUCKET = 400_000
CANDIDATE_SCHEMA = "user int, item int, score float, rank int"

#: (users of the block, their TRAIN rows as a users × items CSR, per-user side rows or None) → scores:
#: dense over every item, or sparse (an unlisted item scores 0) so that only listed columns are ranked.
BlockScorer = Callable[[np.ndarray, sp.csr_matrix, "pd.DataFrame | None"], "np.ndarray | sp.spmatrix"]


def bucket_count(train: Any) -> int:
    """User buckets for ``train``: at least two tasks per core, at most ``ROWS_PER_BUCKET`` rows each."""
    rows = train.count()
    cores = train.sparkSession.sparkContext.defaultParallelism
    return int(max(2 * cores, -(-rows // ROWS_PER_BUCKET)))


def bucketed(frame: Any, n_buckets: int, column: str = "user") -> Any:
    """``frame`` grouped by ``column % n_buckets`` (the column ``bucket``)."""
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    return frame.withColumn("bucket", F.col(column) % F.lit(n_buckets)).groupBy("bucket")


def user_matrix(rows: pd.DataFrame, n_items: int) -> tuple[np.ndarray, sp.csr_matrix]:
    """(distinct users, binary users × items CSR) of a bucket's (user, item) rows."""
    users, local = np.unique(rows["user"].to_numpy(), return_inverse=True)
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (local, rows["item"].to_numpy())),
                           shape=(len(users), n_items))
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return users, matrix


def recent(rows: pd.DataFrame, history: int) -> pd.DataFrame:
    """Each user's latest ``history`` rows (by timestamp, then position in the file)."""
    ordered = rows.sort_values(["user", "timestamp", "pos"], ascending=[True, False, False], kind="stable")
    return ordered[ordered.groupby("user", sort=False).cumcount().to_numpy() < history]


def rank_blocks(users: np.ndarray, seen: sp.csr_matrix, side: pd.DataFrame | None, score: BlockScorer,
             c: int, n_items: int, block_cells: int = BLOCK_CELLS) -> pd.DataFrame:
    """(user, item, score, rank) of each user's ``c + 1`` best unseen items, block by block."""

    width = min(c + 1, n_items)
    step = max(1, block_cells // max(n_items, 1))
    parts = []
    for start in range(0, len(users), step):
        block = slice(start, start + step)
        block_seen = seen[block]  # a CSR row slice copies: once per block
        scores = score(users[block], block_seen, side)
        if sp.issparse(scores):
            columns, scores = _listed_columns(sp.csr_matrix(scores), block_seen, width)
            cols = top_k(scores, width, block_seen[:, columns])
            values, cols = np.take_along_axis(scores, cols, axis=1), columns[cols]
        else:
            scores = np.asarray(scores, dtype=np.float32)
            cols = top_k(scores, width, block_seen)
            values = np.take_along_axis(scores, cols, axis=1)
        rank = np.broadcast_to(np.arange(1, width + 1, dtype=np.int32), cols.shape)
        # a user with fewer unseen items than ``width`` gets seen ones (-inf) last: drop them
        kept = rank <= (n_items - block_seen.getnnz(axis=1))[:, None]
        owner = np.broadcast_to(users[block, None], cols.shape)
        parts.append(pd.DataFrame({"user": owner[kept].astype(np.int32), "item": cols[kept].astype(np.int32),
                                   "score": values[kept], "rank": rank[kept]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {"user": pd.Series(dtype=np.int32), "item": pd.Series(dtype=np.int32),
         "score": pd.Series(dtype=np.float32), "rank": pd.Series(dtype=np.int32)})


def _listed_columns(scores: sp.csr_matrix, seen: sp.csr_matrix, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(ascending item columns, the block's dense scores on them) that hold every row's ``width`` best unseen.

    Why it is exact: an unlisted item scores 0, and the lowest-index items are kept too, enough
    that each row has ``width`` unseen zero-or-listed items among them; so an unlisted item
    never beats a kept one, and ties still go to the lower index (the columns are ascending).
    A neighbourhood model lists a few thousand of 200k items: this ranks those, not the catalog.
    """
    n_items = scores.shape[1]
    crowd = int((scores.getnnz(axis=1) + seen.getnnz(axis=1)).max(initial=0))
    columns = np.union1d(np.unique(scores.indices), np.arange(min(n_items, width + crowd)))
    return columns, scores[:, columns].toarray().astype(np.float32, copy=False)


def candidates(train: Any, score: BlockScorer, c: int, n_items: int, side: Any = None) -> Any:
    """Every TRAIN user's ``c + 1`` best unseen items under ``score`` as a Spark DataFrame.

    ``side`` (a DataFrame with a ``user`` column) is co-grouped with each user's TRAIN rows and
    handed to ``score`` — for per-user model rows such as ALS user factors.
    """
    n_buckets = bucket_count(train)
    rows = bucketed(train.select("user", "item"), n_buckets)

    def with_side(frame: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:  # Spark reads the arity:
        users, seen = user_matrix(frame, n_items)                           # two frames = co-grouped
        return rank_blocks(users, seen, extra, score, c, n_items)

    if side is None:
        return rows.applyInPandas(lambda frame: with_side(frame, None), CANDIDATE_SCHEMA)
    return rows.cogroup(bucketed(side, n_buckets)).applyInPandas(with_side, CANDIDATE_SCHEMA)
