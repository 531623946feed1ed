"""Torch modules of the two-tower recommender.

Kept apart from ``genre.algorithms.two_tower`` because defining ``nn.Module`` subclasses
needs torch at import time; that module imports this one only inside ``fit`` / ``score``,
so importing the algorithm registry never loads torch.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


class TwoTowerNet(nn.Module):
    """Item tower (id embedding + MLP over content) and user tower (pooled history).

    Item index ``n_items`` is the padding slot of the right-aligned history matrices
    (oldest left, most recent in the last column); the caller masks it out of the pooling.
    """

    def __init__(self, n_items: int, dim: int, hidden: int, max_history: int, pooling: str,
                 content: np.ndarray | None) -> None:
        super().__init__()
        self.pooling = pooling
        self.item_id = nn.Embedding(n_items + 1, dim, padding_idx=n_items)
        nn.init.normal_(self.item_id.weight, std=1.0 / math.sqrt(dim))
        with torch.no_grad():
            self.item_id.weight[n_items].zero_()
        if content is not None:
            padded = np.vstack([content, np.zeros((1, content.shape[1]), dtype=np.float32)])
            self.register_buffer("content", torch.from_numpy(padded))
            self.content_mlp = _mlp(content.shape[1], hidden, dim)
        else:
            self.content = None
            self.content_mlp = None
        if pooling == "attention":
            # Query starts at zero and the recency bias at zero: training starts from mean pooling.
            self.attention_key = nn.Linear(dim, dim)
            self.attention_query = nn.Parameter(torch.zeros(dim))
            self.recency = nn.Parameter(torch.zeros(max_history))
        self.user_mlp = _mlp(dim, hidden, dim)

    def items(self, ids: torch.Tensor) -> torch.Tensor:
        """Item vectors (…, dim) of item indices (padding allowed)."""
        vectors = self.item_id(ids)
        if self.content_mlp is not None:
            vectors = vectors + self.content_mlp(self.content[ids])
        return vectors

    def users(self, history: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """User vectors (B, dim) from history item vectors (B, L, dim) and their mask (B, L).

        Histories are right-aligned (most recent last), so the recency bias lines up with
        the last ``L`` positions whatever ``L`` is.
        """
        mask = mask.to(history.dtype)
        if self.pooling == "attention":
            logits = torch.tanh(self.attention_key(history)) @ self.attention_query
            logits = logits + self.recency[-history.shape[1]:]
            logits = logits.masked_fill(mask == 0, -1e9)
            weights = torch.softmax(logits, dim=1) * mask  # rows with no history get all zeros
        else:
            weights = mask / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        pooled = (weights.unsqueeze(-1) * history).sum(dim=1)
        return pooled + self.user_mlp(pooled)


def sampled_softmax_loss(users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
                         pos_ids: torch.Tensor, neg_ids: torch.Tensor, owners: torch.Tensor,
                         log_q: torch.Tensor) -> torch.Tensor:
    """Softmax of each (user, positive) row over in-batch positives plus shared uniform negatives.

    ``owners`` names each row's user. Another row's positive is masked out of a row when it
    is the same item (an accidental hit) or belongs to the same user (a known positive), and
    so is a uniform negative that happens to be the row's own positive.
    """
    rows = torch.arange(len(pos_ids))
    in_batch = (pos_ids.unsqueeze(0) == pos_ids.unsqueeze(1)) | (owners.unsqueeze(0) == owners.unsqueeze(1))
    in_batch[rows, rows] = False
    clash = torch.cat([in_batch, neg_ids.unsqueeze(0) == pos_ids.unsqueeze(1)], dim=1)
    logits = (users @ torch.cat([positives, negatives]).T - log_q).masked_fill(clash, -1e9)
    return F.cross_entropy(logits, rows)


def bpr_loss(users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking: each (user, positive) row against every shared negative."""
    positive = (users * positives).sum(dim=1, keepdim=True)
    return -F.logsigmoid(positive - users @ negatives.T).mean()
