"""Torch modules and losses of the sequential transformer recommender (``transformer_seq``).

Kept apart from ``genre.algorithms.transformer_seq`` because defining ``nn.Module`` subclasses
needs torch at import time; that module imports this one only inside ``fit``, so importing the
algorithm registry never loads torch.

Layout of a sequence batch (B, L): left-padded item indices, most recent in the last column.
Index ``n_items`` is the padding token; it doubles as the "start of history" token: the padding
slot right before a user's first item is trained to predict that first item, so a user with no
history is scored by what people start with, and every query attends at least to itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class _Block(nn.Module):
    """Pre-norm causal self-attention + position-wise feed-forward, both residual (SASRec's block)."""

    def __init__(self, dim: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.norm_attention = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        heads, width = self.n_heads, dim // self.n_heads
        q, k, v = self.qkv(self.norm_attention(x)).view(batch, length, 3, heads, width).permute(2, 0, 3, 1, 4)
        logits = (q @ k.transpose(-1, -2)) / math.sqrt(width)            # (B, heads, L, L)
        logits = logits.masked_fill(~allowed.unsqueeze(1), float("-inf"))  # every row keeps itself: finite
        weights = self.dropout(torch.softmax(logits, dim=-1))
        attended = (weights @ v).transpose(1, 2).reshape(batch, length, dim)
        x = x + self.dropout(self.out(attended))
        return x + self.dropout(self.ff(self.norm_ff(x)))


class SequenceNet(nn.Module):
    """Item table (id embedding and / or a linear map of content) and a causal transformer encoder.

    ``items()`` gives every item's representation; ``encode()`` the state at each position of a
    left-padded batch; a position's scores are its state · the item table (tied weights) + an item bias.
    """

    def __init__(self, n_items: int, dim: int, n_blocks: int, n_heads: int, max_len: int, dropout: float,
                 item_repr: str, content: np.ndarray | None, content_weight: float,
                 has_id: np.ndarray, log_prior: np.ndarray) -> None:
        super().__init__()
        self.n_items, self.content_weight = n_items, float(content_weight)
        self.item_id = None
        if item_repr in ("id", "both"):
            self.item_id = nn.Embedding(n_items, dim)
            nn.init.normal_(self.item_id.weight, std=1.0 / math.sqrt(dim))
            # items with no training interaction keep a zero id part: content alone describes them
            self.register_buffer("has_id", torch.from_numpy(has_id.astype(np.float32)).unsqueeze(1))
        self.content_map = None
        if item_repr in ("content", "both"):
            self.register_buffer("content", torch.from_numpy(content))
            self.content_map = nn.Linear(content.shape[1], dim, bias=False)
            # content rows have norm sqrt(d_content): mapped vectors start at the id embeddings' scale
            nn.init.normal_(self.content_map.weight, std=1.0 / math.sqrt(dim * content.shape[1]))
        # per-item output bias, starting at the log share of each item in training: the first
        # steps begin from popularity instead of a uniform guess (unseen items share one low value)
        self.bias = nn.Parameter(torch.from_numpy(log_prior.astype(np.float32)))
        self.start = nn.Parameter(torch.zeros(dim))  # the padding / start-of-history token
        self.position = nn.Embedding(max_len, dim)
        nn.init.normal_(self.position.weight, std=0.02)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(_Block(dim, n_heads, dropout) for _ in range(n_blocks))
        self.norm = nn.LayerNorm(dim)

    def items(self) -> torch.Tensor:
        """(n_items, dim) representations of every item."""
        table = 0.0
        if self.item_id is not None:
            table = self.item_id.weight * self.has_id
        if self.content_map is not None:
            mapped = self.content_map(self.content)
            table = table + (mapped if self.item_id is None else self.content_weight * mapped)
        return table

    def output(self, table: torch.Tensor) -> torch.Tensor:
        """(n_items, dim + 1) output table: item representations and the bias as a last column."""
        return torch.cat([table, self.bias.unsqueeze(1)], dim=1)

    def encode(self, sequences: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """States (B, L, dim + 1) of left-padded ``sequences`` (B, L), given the item table; the last
        column is 1 (it meets the output table's bias column)."""
        length = sequences.shape[1]
        real = sequences != self.n_items
        padded = torch.cat([table, self.start.unsqueeze(0)])
        x = padded[sequences] * math.sqrt(table.shape[1]) + self.position.weight[-length:]
        x = self.dropout(x)
        causal = torch.ones(length, length, dtype=torch.bool, device=sequences.device).tril()
        own = torch.eye(length, dtype=torch.bool, device=sequences.device)
        allowed = causal & (real.unsqueeze(1) | own)  # (B, L, L): earlier real items, and oneself
        for block in self.blocks:
            x = block(x, allowed)
        x = self.norm(x)
        return torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)


def full_softmax_backward(states: torch.Tensor, table: torch.Tensor, targets: torch.Tensor,
                          scale: float, max_logits: int) -> float:
    """Cross-entropy over ALL items of each state's target; backpropagates ``scale`` × its sum.

    The (rows × n_items) logits are built ``max_logits`` elements at a time: each chunk's
    gradient flows into detached copies of the states and the table, and those gradients are
    pushed through the network once at the end, so memory stays one chunk whatever the batch.
    Returns the summed (unscaled) loss.
    """
    state_leaf = states.detach().requires_grad_()
    table_leaf = table.detach().requires_grad_()
    rows = max(1, max_logits // max(table.shape[0], 1))
    total = 0.0
    for begin in range(0, len(targets), rows):
        span = slice(begin, begin + rows)
        loss = F.cross_entropy(state_leaf[span] @ table_leaf.T, targets[span], reduction="sum")
        (loss * scale).backward()
        total += float(loss.detach())
    torch.autograd.backward([states, table], [state_leaf.grad, table_leaf.grad])
    return total


def sampled_softmax_loss(states: torch.Tensor, table: torch.Tensor, targets: torch.Tensor,
                         negatives: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """Summed softmax loss of each state's target against shared sampled negatives (log-Q corrected).

    ``log_q`` holds log(expected draws) of every item under the sampler; subtracting it from
    each candidate's logit makes the sampled softmax an unbiased stand-in for the full one
    (popular items, drawn often, are not over-penalised). A negative that is the row's own
    target is masked out.
    """
    positive = (states * table[targets]).sum(dim=1, keepdim=True) - log_q[targets].unsqueeze(1)
    negative = states @ table[negatives].T - log_q[negatives]
    negative = negative.masked_fill(negatives.unsqueeze(0) == targets.unsqueeze(1), float("-inf"))
    logits = torch.cat([positive, negative], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(targets), dtype=torch.long, device=states.device),
                           reduction="sum")


class Ensemble(nn.Module):
    """Networks fitted from consecutive seeds, scored as one (``transformer_seq``'s ``n_models``).

    Their states and item tables sit side by side and each state is divided by their number, so
    a user's score is the mean of the networks' scores: the candidate store, fold-in and saving
    see one network.
    """

    def __init__(self, members: list[SequenceNet]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)


def _members(net: nn.Module) -> list[SequenceNet]:
    return list(net.members) if isinstance(net, Ensemble) else [net]


@torch.no_grad()
def item_table(net: nn.Module) -> torch.Tensor:
    """(n_items, width) output table of ``net`` (an ``Ensemble``'s: its members' side by side)."""
    return torch.cat([member.output(member.items()) for member in _members(net)], dim=1)


def last_states(net: nn.Module, windows: np.ndarray, device: torch.device, batch: int = 512) -> np.ndarray:
    """The last position's state of each left-padded window (n, max_len), in batches, without gradients
    (an ``Ensemble``'s: its members' side by side, each divided by their number)."""
    members = _members(net)
    widths = [member.norm.normalized_shape[0] + 1 for member in members]
    out = np.empty((len(windows), sum(widths)), dtype=np.float32)
    was_training = net.training
    net.eval()
    with torch.no_grad():
        for member, begin, width in zip(members, np.cumsum([0, *widths[:-1]]), widths, strict=True):
            table, columns = member.items(), slice(int(begin), int(begin) + width)
            for row in range(0, len(windows), batch):
                chunk = torch.from_numpy(windows[row:row + batch]).to(device)
                out[row:row + len(chunk), columns] = member.encode(chunk, table)[:, -1].cpu().numpy()
    net.train(was_training)
    if len(members) > 1:
        out /= np.float32(len(members))
    return out


def window_scores(net: nn.Module, windows: np.ndarray, device: torch.device) -> np.ndarray:
    """Scores (n, n_items) of every item after each window."""
    items = item_table(net).cpu().numpy()
    return last_states(net, windows, device) @ items.T


@contextmanager
def torch_session(seed: int, threads: int) -> Iterator[torch.device]:
    """Seeded, deterministic torch on ``threads`` CPU threads (or CUDA when available); global state restored.

    On CUDA determinism is asked for with ``warn_only``: a kernel without a deterministic
    version warns instead of failing the fit.
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    threads_before = torch.get_num_threads()
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[torch.cuda.current_device()] if device.type == "cuda" else []):
        torch.manual_seed(int(seed))
        torch.set_num_threads(int(threads))
        torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
        try:
            yield device
        finally:
            torch.set_num_threads(threads_before)
            torch.use_deterministic_algorithms(deterministic_before)
