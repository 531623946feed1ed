"""Sequential transformer recommender (SASRec-style, torch): what a user takes next, from their history in order.

A causal self-attention encoder reads each user's training items oldest first (the last
``max_len``, left-padded; equal timestamps ordered by item index) and, at every position,
predicts the next item with a softmax over the whole catalog — all positions of a sequence in
one pass, never one copy per prefix. Item representations are a learned id embedding, a learned
linear map of the items' content vectors (``features.item_vectors``; sparse TF-IDF is reduced
once with TruncatedSVD), or their sum, and the output layer is tied to them: an item nobody has
taken yet is still represented, and scored, by its content. A per-item output bias starts at the
log share of each item in training, so the first epochs start from popularity. Above ``SAMPLED_ABOVE`` items the
full softmax gives way to a sampled softmax with log-Q correction. The number of epochs is chosen
by early stopping on each user's last training item, held out inside ``fit`` (test data is never
seen by ``fit``); with ``refit`` the network is then trained again, from the same seed, on every
training item for that many epochs, so the latest items (the ones nearest what comes next) are
learnt too. Weight averaging (``ema_decay``) is torch's ``AveragedModel``. With ``n_models`` above 1,
that many networks are fitted from consecutive seeds and their scores averaged.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from genre.algorithms._torch_state import load_net, restore_plain, state_with_net
from genre.algorithms._transformer_data import (
    Validation,
    batch_rows,
    carve_last,
    centred_content,
    epoch_windows,
    last_windows,
    sampler,
    time_ordered,
)
from genre.algorithms.base import Progress, Recommender
from genre.algorithms.two_tower import _content_matrix
from genre.constraints import (
    BATCH,
    FACTORS,
    LEARNING_RATE,
    SEED,
    THREADS,
    Bound,
    Constraints,
    OneOf,
)
from genre.errors import ConfigError

logger = logging.getLogger("genre")

#: ``loss="auto"`` switches from the full softmax to the sampled one above this many items.
SAMPLED_ABOVE = 20_000
#: Full-softmax logits are built at most this many floats at a time (64 MB, ~3 copies live).
_MAX_LOGITS = 2**24
#: A micro-batch's activations stay under this many floats (a batch is accumulated over micro-batches).
_MAX_ACTIVATIONS = 2**26
#: Users scored per forward pass.
_SCORE_BATCH = 512


class TransformerSeq(Recommender):
    """Causal self-attention over each user's time-ordered history, tied to id and / or content item vectors.

    Parameters
    ----------
    dim : int
        Size of item representations and sequence states.
    n_blocks, n_heads : int
        Transformer blocks and attention heads (``dim`` must be a multiple of ``n_heads``).
    max_len : int
        The most recent items read per user (longer histories train in windows of this length).
    dropout : float
        Dropout on embeddings, attention weights and block outputs.
    lr, weight_decay, batch_size : AdamW schedule; ``batch_size`` counts windows of ``max_len`` (defaults, and
        ``patience``'s: bench/tune_transformer.py's choice on the sample's validation carve).
    epochs : int
        Cap on training epochs; the epoch with the best validation NDCG@10 is kept.
    patience : int
        Epochs without a better validation NDCG@10 before training stops.
    refit : bool
        Train again on all training items (the held-out latest ones included) for the chosen number
        of epochs; about doubles the fit time.
    loss : {"auto", "full", "sampled"}
        Softmax over all items, or over ``n_negatives`` shared popularity-sampled negatives with
        log-Q correction; "auto" samples above ``SAMPLED_ABOVE`` items.
    n_negatives : int
        Negatives per micro-batch for the sampled softmax.
    item_repr : {"id", "content", "both"}
        Item representation: learned id embedding, learned linear map of ``features.item_vectors``,
        or their sum (items without training interactions get no id part).
    content_weight : float
        Scale of the content part in "both" (the map is learned either way).
    ema_decay : float
        Above 0, the weights validated, kept and scored are a moving average of the trained ones over the
        last ~``1 / (1 - ema_decay)`` steps: it evens out small batches' noise. Off by default (a long
        average lags the few steps of a small log); configs/transformer_seq.yaml ships 0.999.
    n_models : int
        Networks fitted from seeds ``seed``, ``seed + 1``, …, their scores averaged: on a small log the
        epoch early stopping picks, and so the score, varies from seed to seed; the mean varies less.
        Costs ``n_models`` × the fit time; ``epoch_stats_`` rows then name their ``network``.
    seed, threads : randomness and torch CPU threads; fits are deterministic per seed and thread count on CPU.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from genre.features import Features
    >>> train = sp.random(40, 30, density=0.3, format="csr", random_state=0)
    >>> times = train.copy(); times.data = np.arange(times.nnz, dtype=float)
    >>> model = TransformerSeq(dim=8, epochs=2).fit(train, Features(interaction_times=times))
    >>> model.score([0, 1]).shape
    (2, 30)
    """

    name = "transformer_seq"
    requires = ("interaction_times",)
    tune_grid: ClassVar[dict[str, list]] = {"dropout": [0.2, 0.35, 0.5], "max_len": [50, 100, 200]}  # in order
    fold_in_reason = None  # the network reads any history; it saves as its state_dict arrays
    #: Checked by ``Recommender.fit``; ``dim`` a multiple of ``n_heads`` and content for "content" /
    #: "both" are checked in ``_fit``. Batch memory is bounded inside ``fit`` whatever the values.
    _parameter_constraints: ClassVar[Constraints] = {
        "dim": FACTORS, "n_blocks": Bound(1, 16, int), "n_heads": Bound(1, 64, int),
        "max_len": Bound(1, 1000, int), "dropout": Bound(0.0, 1.0, high_open=True), "lr": LEARNING_RATE,
        "batch_size": BATCH, "epochs": Bound(1, 1000, int), "patience": Bound(1, 1000, int),
        "refit": OneOf((False, True)), "loss": OneOf(("auto", "full", "sampled")), "n_negatives": Bound(1, 100_000, int),
        "item_repr": OneOf(("id", "content", "both")), "content_weight": Bound(0.0, 1e3),
        "weight_decay": Bound(0.0, 10.0), "ema_decay": Bound(0.0, 1.0, high_open=True),
        "n_models": Bound(1, 16, int), "seed": SEED, "threads": THREADS}

    def __init__(self, dim: int = 64, n_blocks: int = 2, n_heads: int = 1, max_len: int = 50,
                 dropout: float = 0.3, lr: float = 2e-3, batch_size: int = 16, epochs: int = 200,
                 patience: int = 5, refit: bool = False, loss: str = "auto", n_negatives: int = 256, item_repr: str = "id",
                 content_weight: float = 1.0, weight_decay: float = 0.0, ema_decay: float = 0.0, n_models: int = 1,
                 seed: int = 0, threads: int = 1) -> None:
        self.dim = dim
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.max_len = max_len
        self.dropout = dropout
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.refit = refit
        self.loss = loss
        self.n_negatives = n_negatives
        self.item_repr = item_repr
        self.content_weight = content_weight
        self.weight_decay = weight_decay
        self.ema_decay = ema_decay
        self.n_models = n_models
        self.seed = seed
        self.threads = threads

    # ------------------------------------------------------------------ fit
    def _fit(self, train: sp.csr_matrix, features: Any, progress: Progress | None) -> None:
        from genre.algorithms._transformer_nn import (  # lazy: imports torch
            Ensemble,
            item_table,
            last_states,
            torch_session,
        )

        self._check_params(features)
        n_items = train.shape[1]
        starts, sequence = time_ordered(train, features.interaction_times)
        content = None
        if self.item_repr != "id":
            content = centred_content(_content_matrix(features.item_vectors, n_items, self.seed))
        self.loss_ = ("sampled" if n_items > SAMPLED_ABOVE else "full") if self.loss == "auto" else self.loss
        carve = carve_last(starts, sequence, n_items, int(self.max_len))  # the same for every network
        self.epoch_stats_, self.refit_stats_, nets = [], [], []
        with torch_session(self.seed, self.threads) as device:
            for network in range(int(self.n_models)):
                nets.append(self._fit_network(network, n_items, starts, sequence, carve, content, device, progress))
            net = nets[0] if len(nets) == 1 else Ensemble(nets)
            self.item_factors_ = item_table(net).cpu().numpy().astype(np.float32)
            self.user_factors_ = last_states(net, last_windows(starts, sequence, int(self.max_len), n_items), device)
            self.net_ = net.cpu().eval()  # kept for fold-in (a new history's state) and saved with the run

    def _fit_network(self, network: int, n_items: int, starts: np.ndarray, sequence: np.ndarray, carve: tuple,
                     content: np.ndarray | None, device: Any, progress: Progress | None) -> Any:
        """Network number ``network`` (seed ``seed + network``): trained with early stopping on the validation
        carve, then refitted on every training item when asked; its stats join ``epoch_stats_``."""
        import torch  # lazy: torch is a slow import

        seed, many = int(self.seed) + network, int(self.n_models) > 1
        what = f"network {network + 1}/{int(self.n_models)}, " if many else ""
        report = progress
        if many and progress is not None:  # one bar over every network's epochs
            def report(done: int, total: int, message: str) -> None:
                progress(network * total + done, int(self.n_models) * total, message)
        torch.manual_seed(seed)
        (sub_starts, sub_sequence), validation = carve
        net = self._network(n_items, sub_sequence, content, device)
        stats = self._train(net, sub_starts, sub_sequence, validation, np.random.default_rng(seed), device,
                            report, what=what)
        best = max(stats, key=lambda r: r["val_ndcg"])["epoch"] if validation.n_users else len(stats)
        if network == 0:
            self.best_epoch_ = best
        if self.refit and validation.n_users:
            torch.manual_seed(seed)  # the same start as the first pass, on every item
            net = self._network(n_items, sequence, content, device)
            self.refit_stats_ += self._train(net, starts, sequence, Validation.empty(), np.random.default_rng(seed),
                                             device, report, epochs=best,
                                             what=what + "refit on every training item, ")
        self.epoch_stats_ += [{**row, "network": network + 1} if many else row for row in stats]
        return net.eval()

    def _network(self, n_items: int, sequence: np.ndarray, content: np.ndarray | None, device: Any) -> Any:
        """A fresh network whose output bias starts at the log share of each item in ``sequence``."""
        from genre.algorithms._transformer_nn import SequenceNet  # lazy: imports torch

        counts = np.bincount(sequence, minlength=n_items)
        return SequenceNet(n_items, int(self.dim), int(self.n_blocks), int(self.n_heads), int(self.max_len),
                           float(self.dropout), self.item_repr, content, float(self.content_weight),
                           counts > 0, np.log((counts + 1.0) / (counts.sum() + n_items))).to(device)

    def _check_params(self, features: Any) -> None:
        if int(self.dim) % int(self.n_heads):
            raise ConfigError(f"{self.name}: dim ({self.dim}) must be a multiple of n_heads ({self.n_heads}); "
                              f"e.g. dim {int(self.n_heads) * max(1, int(self.dim) // int(self.n_heads))}")
        if self.item_repr != "id" and features.item_vectors is None:
            raise ConfigError(f"{self.name}: item_repr={self.item_repr!r} needs features.item_vectors; add a "
                              f"text modality (encoder) or set item_repr: id")

    def _train(self, net: Any, starts: np.ndarray, sequence: np.ndarray, validation: Validation,
               rng: np.random.Generator, device: Any, progress: Progress | None, epochs: int | None = None,
               what: str = "") -> list[dict[str, float]]:
        """Run the epochs (``epochs``, else the cap); keep the best validation epoch's weights when there is a
        validation carve (with ``ema_decay``, the averaged weights are the ones validated and kept).
        Returns per-epoch stats."""
        import torch  # lazy: torch is a slow import

        from genre.algorithms._transformer_nn import window_scores  # lazy: imports torch

        optimizer = torch.optim.AdamW(net.parameters(), lr=float(self.lr), betas=(0.9, 0.98),
                                      weight_decay=float(self.weight_decay))
        averaged = None
        if float(self.ema_decay) > 0:  # torch's own averaging: a copy of the net, updated after every step
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn  # lazy: torch

            averaged = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(float(self.ema_decay)), use_buffers=True)
        kept = net if averaged is None else averaged.module  # the weights validated, kept and scored
        n_items, length, epochs = net.n_items, int(self.max_len), int(epochs or self.epochs)
        draw = sampler(sequence, n_items, int(self.n_negatives), rng) if self.loss_ == "sampled" else None
        stats: list[dict[str, float]] = []
        best, best_state, stale, began = -np.inf, None, 0, time.perf_counter()
        for epoch in range(1, epochs + 1):
            net.train()
            windows = epoch_windows(starts, length, rng)
            total, count = 0.0, 0
            for begin in range(0, len(windows), int(self.batch_size)):
                inputs, targets = batch_rows(starts, sequence, windows[begin:begin + int(self.batch_size)],
                                             length, n_items)
                optimizer.zero_grad()
                batch_loss, batch_count = self._batch(net, inputs, targets, draw, device)
                optimizer.step()
                if averaged is not None:
                    averaged.update_parameters(net)
                total, count = total + batch_loss, count + batch_count
            row = {"epoch": epoch, "loss": total / max(count, 1)}
            if validation.n_users:
                row["val_ndcg"] = validation.ndcg(lambda windows: window_scores(kept, windows, device))
            stats.append(row)
            elapsed = time.perf_counter() - began
            message = (f"{what}epoch {epoch}/{epochs}: loss {row['loss']:.4f}"
                       + (f", validation NDCG@10 {row['val_ndcg']:.4f}" if "val_ndcg" in row else "")
                       + f", at most {elapsed / epoch * (epochs - epoch):.0f} s left")
            logger.info("%s %s", self.name, message)
            if progress is not None:
                progress(epoch, epochs, message)  # raising here (the app's cancel) stops the fit
            if "val_ndcg" not in row:
                continue
            if row["val_ndcg"] > best:
                best, stale = row["val_ndcg"], 0
                best_state = {k: v.detach().clone() for k, v in kept.state_dict().items()}
            else:
                stale += 1
                if stale >= int(self.patience):
                    break
        if best_state is None and averaged is not None:  # no carve (the refit): the last averaged weights
            best_state = kept.state_dict()
        if best_state is not None:
            net.load_state_dict(best_state)
        return stats

    def _batch(self, net: Any, inputs: np.ndarray, targets: np.ndarray, draw: Any, device: Any
               ) -> tuple[float, int]:
        """Accumulate one batch's gradient over memory-bounded micro-batches: (summed loss, targets)."""
        import torch  # lazy: torch is a slow import

        from genre.algorithms._transformer_nn import (  # lazy: torch
            full_softmax_backward,
            sampled_softmax_loss,
        )

        n_valid = int((targets >= 0).sum())
        if not n_valid:
            return 0.0, 0
        per_row = self._activation_floats()
        micro = max(1, _MAX_ACTIVATIONS // per_row)
        total = 0.0
        for begin in range(0, len(inputs), micro):
            chunk_targets = torch.from_numpy(targets[begin:begin + micro]).to(device)
            chunk = torch.from_numpy(inputs[begin:begin + micro]).to(device)
            valid = chunk_targets >= 0
            if not bool(valid.any()):
                continue
            table = net.items()
            states = net.encode(chunk, table)[valid]
            table = net.output(table)
            wanted = chunk_targets[valid]
            if draw is None:
                total += full_softmax_backward(states, table, wanted, 1.0 / n_valid, _MAX_LOGITS)
            else:
                negatives, log_q = draw()
                loss = sampled_softmax_loss(states, table, wanted, torch.from_numpy(negatives).to(device),
                                            torch.from_numpy(log_q).to(device))
                (loss / n_valid).backward()
                total += float(loss.detach())
        return total, n_valid

    def _activation_floats(self) -> int:
        """Rough floats one sequence row keeps for backward (attention maps, block activations, logits)."""
        length, dim = int(self.max_len), int(self.dim)
        per_block = 16 * length * dim + 3 * int(self.n_heads) * length * length
        logits = 3 * length * (int(self.n_negatives) + 1) if self.loss_ == "sampled" else 0
        return int(self.n_blocks) * per_block + logits + 4 * length * dim

    # ------------------------------------------------------------------ persistence & fold-in
    def _state(self, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        return state_with_net(self, skip)

    def _restore(self, state: dict[str, Any]) -> "TransformerSeq":
        """Set the state and rebuild the network(s) from their arrays (no training)."""
        from genre.algorithms._transformer_nn import Ensemble, SequenceNet  # lazy: imports torch

        tensors = restore_plain(self, state)
        n_items, many = int(self.n_items_), int(self.n_models) > 1
        content = tensors.get("members.0.content" if many else "content")  # a buffer: saved values replace zeros
        nets = [SequenceNet(n_items, int(self.dim), int(self.n_blocks), int(self.n_heads), int(self.max_len),
                            float(self.dropout), self.item_repr, None if content is None else np.zeros_like(content),
                            float(self.content_weight), np.ones(n_items, bool), np.zeros(n_items))
                for _ in range(int(self.n_models))]
        net = Ensemble(nets) if many else nets[0]
        return load_net(self, net, tensors)

    def _fold_in(self, items: np.ndarray, timestamps: np.ndarray | None) -> np.ndarray:
        """The network's state after the history's latest ``max_len`` distinct items (each at its
        latest place, as a training sequence holds it), times the item table."""
        import torch  # lazy: torch is a slow import

        from genre.algorithms._transformer_nn import last_states  # lazy: imports torch

        latest_first = items[::-1]
        _, first = np.unique(latest_first, return_index=True)
        recent = latest_first[np.sort(first)][: int(self.max_len)][::-1]
        window = np.full((1, int(self.max_len)), int(self.n_items_), dtype=np.int64)
        window[0, window.shape[1] - len(recent):] = recent
        return self.item_factors_ @ last_states(self.net_, window, torch.device("cpu"))[0]

    # ------------------------------------------------------------------ score
    def _score(self, users: np.ndarray) -> np.ndarray:
        out = np.empty((len(users), self.item_factors_.shape[0]), dtype=np.float32)
        for begin in range(0, len(users), _SCORE_BATCH):
            rows = users[begin:begin + _SCORE_BATCH]
            np.matmul(self.user_factors_[rows], self.item_factors_.T, out=out[begin:begin + len(rows)])
        return out

