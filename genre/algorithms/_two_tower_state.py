"""The two-tower model's network rebuilt from its saved arrays (``genre.algorithms._torch_state``),
its fold-in and its memory estimate.

Used as ``TwoTower._restore`` / ``_fold_in``; torch is imported inside the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genre.algorithms._torch_state import load_net, restore_plain

def restore_net(model: Any, state: dict[str, Any]) -> Any:
    """Set the state and rebuild the net from its arrays (no training)."""
    from genre.algorithms._two_tower_nn import TwoTowerNet  # heavy optional: imports torch

    tensors = restore_plain(model, state)
    n_items, dims = int(model.n_items_), int(model.content_dims_)
    content = np.zeros((n_items, dims), dtype=np.float32) if dims else None
    net = TwoTowerNet(n_items, int(model.dim), int(model.hidden), int(model.max_history), model.pooling, content)
    return load_net(model, net, tensors)


def fold_in_history(model: Any, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
    """The user tower on the history's latest ``max_history`` distinct items, scored against the items."""
    import torch  # heavy optional: only a two-tower model needs it

    latest_first = items[::-1]
    _, first = np.unique(latest_first, return_index=True)
    recent = latest_first[np.sort(first)][: int(model.max_history)][::-1]
    n_items = int(model.n_items_)
    history = np.full((1, int(model.max_history)), n_items, dtype=np.int64)
    history[0, history.shape[1] - len(recent):] = recent
    vectors = model.item_vectors_
    table = torch.from_numpy(np.vstack([vectors, np.zeros((1, vectors.shape[1]), np.float32)]))
    chunk = torch.from_numpy(history)
    model.net_.eval()
    with torch.no_grad():
        user = model.net_.users(table[chunk], chunk != n_items).numpy()[0]
    return vectors @ user


#: Mirror ``two_tower._BLOCK``, ``_SCORE_BATCH`` and ``MAX_CONTENT_DIMS`` (that module is at its
#: size limit; tests/test_memory_budget.py checks they agree).
_BLOCK, _SCORE_BATCH, _MAX_CONTENT_DIMS = 8, 1024, 256


def two_tower_peak_bytes(model: Any, n_users: int, n_items: int, n_interactions: int, n_features: int) -> int:
    """``TwoTower.peak_bytes``: dominated by one batch's history vectors, blocks × max_history × dim
    float32, where a batch of ``batch_size`` pairs falls into blocks of up to 8 items of one user
    (more blocks when users have fewer items); autograd keeps about four such tensors with
    attention (the gathered vectors, the key layer, its tanh, the weighted product), two with mean.
    Then the softmax logits (batch × (batch + n_negatives), about four copies with the masks and
    gradients), the item tower over the batch's distinct items, and the parameters with AdamW's
    two moments and the best epoch's copy.
    """
    batch, width, dim = int(model.batch_size), int(model.max_history), int(model.dim)
    negatives, hidden = int(model.n_negatives), int(model.hidden)
    per_user = max(1.0, min(_BLOCK, n_interactions / max(n_users, 1)))
    blocks = min(batch, -(-batch // int(per_user)))
    history = (4 if model.pooling == "attention" else 2) * 4 * blocks * width * dim
    logits = 4 * 4 * batch * (batch + negatives)
    content = min(n_features, _MAX_CONTENT_DIMS)
    distinct = min(n_items + 1, blocks * width + batch + negatives)
    towers = 3 * 4 * distinct * (dim + hidden + content)
    parameters = 5 * 4 * (n_items + 1) * (dim + content) + 2 * 4 * _SCORE_BATCH * n_items
    return history + logits + towers + parameters + 2 * 8 * n_users * width + 12 * 3 * n_interactions
