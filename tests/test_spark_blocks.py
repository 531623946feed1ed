"""The Spark engine's pure-Python parts without a JVM: a bucket's candidates are the local store's, block by
block (dense and sparse scorers), and the item table a config points at."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre.fusion import top_k
from genre.config import RunConfig
from genre.spark.blocks import rank_blocks, recent, user_matrix
from genre.spark.load import item_table


def test_candidates_over_many_blocks_are_fusion_top_k_of_the_whole_bucket():
    rng = np.random.default_rng(3)
    n_users, n_items, c = 23, 40, 9
    scores = np.round(rng.random((n_users, n_items)), 1).astype(np.float32)  # many ties
    seen = sp.csr_matrix(rng.random((n_users, n_items)) < 0.3, dtype=np.float32)
    seen[4] = 1.0                                       # a user who has seen everything: no candidates
    seen[5, 3:] = 1.0                                   # three unseen items: fewer than c + 1
    seen = sp.csr_matrix(seen)
    users = np.arange(100, 100 + n_users)

    def score(block_users, block_seen, side):
        assert side is None and block_seen.shape == (len(block_users), n_items)
        return scores[block_users - 100]

    got = rank_blocks(users, seen, None, score, c, n_items, block_cells=5 * n_items)  # five users per block
    expected = top_k(scores, c + 1, seen)
    for row, user in enumerate(users):
        mine = got[got["user"] == user].sort_values("rank")
        unseen = n_items - seen[row].nnz
        assert mine["item"].tolist() == expected[row, :min(c + 1, unseen)].tolist()
        assert mine["rank"].tolist() == list(range(1, min(c + 1, unseen) + 1))
        assert np.array_equal(mine["score"].to_numpy(), scores[row, mine["item"].to_numpy()])
    assert (got["user"] == 104).sum() == 0 and (got["user"] == 105).sum() == 3


def test_recent_keeps_each_users_latest_rows_and_the_matrix_is_binary():
    rows = pd.DataFrame({"user": [7, 7, 7, 2, 2, 7], "item": [0, 1, 2, 3, 3, 4],
                         "timestamp": [5, 9, 9, 1, 2, 1], "pos": [0, 1, 2, 3, 4, 5]})
    latest = recent(rows, 2)
    assert sorted(map(tuple, latest[["user", "item"]].to_numpy())) == [(2, 3), (2, 3), (7, 1), (7, 2)]
    users, matrix = user_matrix(rows, 6)
    assert users.tolist() == [2, 7] and matrix.toarray().tolist() == [[0, 0, 0, 1, 0, 0], [1, 1, 1, 0, 1, 0]]


def test_a_sparse_scorer_ranks_only_listed_items_and_still_equals_fusion_top_k():
    """Unlisted items score 0: they must lose to positive listed ones, beat negative ones, and tie by index."""
    rng = np.random.default_rng(5)
    n_users, n_items, c = 17, 300, 6
    dense = np.zeros((n_users, n_items), dtype=np.float32)
    listed = rng.random((n_users, n_items)) < 0.03
    dense[listed] = rng.choice([-0.5, 0.25, 0.5, 1.0], size=int(listed.sum()))  # ties and negatives
    dense[3] = 0.0                                                            # nothing listed: all zero
    dense[4, :] = 0.0
    dense[4, [250, 260]] = -1.0                                               # only negatives listed
    seen = sp.csr_matrix(rng.random((n_users, n_items)) < 0.02, dtype=np.float32)
    users = np.arange(n_users)

    got = rank_blocks(users, seen, None, lambda u, s, x: sp.csr_matrix(dense[u]), c, n_items, block_cells=4 * n_items)
    expected = top_k(dense, c + 1, seen)
    for row in users:
        mine = got[got["user"] == row].sort_values("rank")
        assert mine["item"].tolist() == expected[row].tolist(), row
        assert np.array_equal(mine["score"].to_numpy(), dense[row, expected[row]])


def test_the_item_table_is_data_items_else_a_movielens_folders_movies_csv(sample_dir, tmp_path):
    def table(**data):
        return item_table(RunConfig.from_dict({"data": data}).data)

    assert table(source=str(sample_dir)) == str(sample_dir / "movies.csv")
    assert table(source=str(sample_dir), items=str(tmp_path / "items.csv")) == str(tmp_path / "items.csv")
    assert table(source=str(sample_dir / "ratings.csv")) is None          # a file: no folder to look in
    assert table(source=str(tmp_path)) is None                            # a folder without a preset
