"""The torch side of ``minilm-adapted``: frozen lower layers run once, the top layer(s) trained.

Why this shape: a full fine-tuning step (every layer, forward and backward for each pair) costs
seconds on a small CPU, so an epoch over a catalog's consecutive pairs takes hours. The lower
layers stay frozen: their token-level hidden states are computed ONCE per catalog (kept as
float16, only real tokens) and every step runs only the top ``layers`` transformer layer(s) over
the distinct items of the batch. Loss: symmetric in-batch InfoNCE over (item, next item) pairs,
with in-batch copies of the positive (and the anchor itself) masked out as negatives, and each
candidate's logit lowered by the log of its share of the pairs (negatives come by popularity). Every
``val_every`` steps the whole catalog is re-encoded and each held-out pair's next item is ranked
among all items (MRR, hit@10); the best top layers seen (step 0 = the frozen model) are kept.

Every function imports torch itself (``import torch  # lazy``) so ``genre.encoders`` stays cheap.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from genre.encoders.sentence import offline
from genre.errors import EncoderError

#: Items per forward pass when encoding without gradients (validation, final vectors).
_ENCODE_BATCH = 256
#: Steps of linear learning-rate warm-up: the first full-rate steps knock the pretrained layer about
#: (validation MRR fell before it rose in a probe on the sample at lr 5e-4).
_WARMUP = 20


@dataclass
class Base:
    """A loaded model folder split into frozen bottom and trainable top."""

    tokenizer: Any
    model: Any
    top: Any          # torch.nn.ModuleList: the top ``layers`` transformer layers (frozen copies)
    pooling: str      # "mean" or "cls"
    hidden: int
    device: Any


@dataclass
class TokenStates:
    """The lower layers' output for a list of texts: real tokens only, float16, flattened."""

    flat: np.ndarray      # (total tokens, hidden) float16
    offsets: np.ndarray   # (n,) int64: first row of each text in ``flat``
    lengths: np.ndarray   # (n,) int64: tokens of each text (0 for an empty text)


def device() -> Any:
    """A GPU when torch sees one, else the CPU."""
    import torch  # lazy: torch is a slow import

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def threads(count: int) -> Iterator[None]:
    """Torch on ``count`` CPU threads for the block (on a busy machine one thread can beat two)."""
    import torch  # lazy: torch is a slow import

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _pooling(folder: Path) -> tuple[str, str]:
    """(transformer sub-folder, pooling mode) from a sentence-transformers folder's modules.json."""
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return "", "mean"  # a plain transformers folder: mean pooling, as GENRE's "transformers" encoder
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = {m.get("type", "").rsplit(".", 1)[-1]: m.get("path", "") for m in modules}
    extra = sorted(set(kinds) - {"Transformer", "Pooling", "Normalize"})
    if extra:
        raise EncoderError(f"minilm-adapted adapts transformer + pooling models; {folder.name} also has "
                           f"{', '.join(extra)} modules")
    pooling = {"pooling_mode_mean_tokens": True}
    if "Pooling" in kinds and (folder / kinds["Pooling"] / "config.json").is_file():
        pooling = json.loads((folder / kinds["Pooling"] / "config.json").read_text(encoding="utf-8"))
    mode = "mean" if pooling.get("pooling_mode_mean_tokens") else "cls" if pooling.get("pooling_mode_cls_token") \
        else None
    if mode is None:
        raise EncoderError(f"minilm-adapted supports mean or CLS pooling; {folder.name} pools otherwise")
    return kinds.get("Transformer", ""), mode


@functools.lru_cache(maxsize=2)
def load_base(folder: str, layers: int) -> Base:
    """The model of ``folder`` (offline), with its top ``layers`` layers checked to reproduce it."""
    import torch  # lazy: torch is a slow import
    from transformers import AutoModel, AutoTokenizer  # lazy: a slow import

    sub, pooling = _pooling(Path(folder))
    path = str(Path(folder) / sub)
    with offline():
        try:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, local_files_only=True, attn_implementation="eager")
        except Exception as exc:  # not a transformers folder
            raise EncoderError(f"cannot load a transformer model from {folder}: {exc}".splitlines()[0]) from exc
    stack = getattr(getattr(model, "encoder", None), "layer", None)
    if stack is None or len(stack) <= layers:
        raise EncoderError(f"minilm-adapted needs a BERT-style encoder with more than {layers} layers; "
                           f"{Path(folder).name} ({type(model).__name__}) is not one")
    model.eval().requires_grad_(False).to(device())
    base = Base(tokenizer, model, torch.nn.ModuleList(stack[-layers:]), pooling,
                int(model.config.hidden_size), device())
    probe = ["Toy Story (1995) | Animation", "Heat"]
    batch = tokenizer(probe, padding=True, return_tensors="pt").to(base.device)
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
        mine = run_top(base.top, out.hidden_states[-1 - layers], batch["attention_mask"])
    mask = batch["attention_mask"].bool()
    if not torch.allclose(mine[mask], out.last_hidden_state[mask], atol=1e-3):
        raise EncoderError(f"minilm-adapted cannot run the top layers of {Path(folder).name} "
                           f"({type(model).__name__}) on their own: use a BERT-style model")
    return base


def run_top(top: Any, hidden: Any, mask: Any) -> Any:
    """The top layers over hidden states ``(B, L, H)`` with a 0/1 token ``mask`` ``(B, L)``."""
    import torch  # lazy: torch is a slow import

    additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
    for layer in top:
        hidden = layer(hidden, attention_mask=additive)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
    return hidden


def token_states(base: Base, texts: Sequence[str], layers: int, max_tokens: int, batch_size: int,
                 progress: Callable[[int, int, str], None] | None = None) -> TokenStates:
    """Run the frozen lower layers once over ``texts`` (longest first, padded per batch)."""
    import torch  # lazy: torch is a slow import

    ids = base.tokenizer(list(texts), truncation=True, max_length=max_tokens)["input_ids"]
    lengths = np.array([len(row) if text.strip() else 0 for row, text in zip(ids, texts)], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    flat = np.zeros((int(lengths.sum()), base.hidden), dtype=np.float16)
    todo = sorted(np.flatnonzero(lengths), key=lambda i: -lengths[i])
    for start in range(0, len(todo), batch_size):
        rows = todo[start:start + batch_size]
        batch = base.tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt").to(base.device)
        with torch.no_grad():
            hidden = base.model(**batch, output_hidden_states=True).hidden_states[-1 - layers]
        hidden = hidden.float().cpu().numpy()
        for j, i in enumerate(rows):
            flat[offsets[i]:offsets[i] + lengths[i]] = hidden[j, :lengths[i]]
        if progress is not None:
            progress(min(start + batch_size, len(todo)), len(todo), "frozen layers over the catalog")
    return TokenStates(flat, offsets, lengths)


def pooled(base: Base, top: Any, states: TokenStates, items: np.ndarray) -> Any:
    """L2-normalized sentence vectors of ``items`` (rows of ``states``, none empty) through ``top``."""
    import torch  # lazy: torch is a slow import

    lengths = states.lengths[items]
    width = int(lengths.max())
    steps = np.arange(width)
    valid = steps[None, :] < lengths[:, None]
    rows = np.where(valid, states.offsets[items][:, None] + steps[None, :], 0)
    hidden = torch.from_numpy(states.flat[rows].astype(np.float32)).to(base.device)
    mask = torch.from_numpy(valid.astype(np.float32)).to(base.device)
    hidden = run_top(top, hidden * mask[..., None], mask)
    if base.pooling == "cls":
        vectors = hidden[:, 0]
    else:
        vectors = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return torch.nn.functional.normalize(vectors, dim=1)


def encode_states(base: Base, top: Any, states: TokenStates) -> np.ndarray:
    """Vectors of every row of ``states`` (zero rows for empty texts), without gradients."""
    import torch  # lazy: torch is a slow import

    out = np.zeros((len(states.lengths), base.hidden), dtype=np.float32)
    todo = np.array(sorted(np.flatnonzero(states.lengths), key=lambda i: -states.lengths[i]), dtype=np.int64)
    was_training = top.training
    top.eval()
    with torch.no_grad():
        for start in range(0, len(todo), _ENCODE_BATCH):
            rows = todo[start:start + _ENCODE_BATCH]
            out[rows] = pooled(base, top, states, rows).cpu().numpy()
    top.train(was_training)
    return out


def _ranks(vectors: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """0-based rank of each pair's next item among all items by cosine to the first (itself excluded)."""
    scores = vectors[pairs[:, 0]] @ vectors.T
    scores[np.arange(len(pairs)), pairs[:, 0]] = -np.inf
    target = scores[np.arange(len(pairs)), pairs[:, 1]]
    return (scores > target[:, None]).sum(axis=1)


def validate(vectors: np.ndarray, pairs: np.ndarray) -> dict[str, float]:
    """Held-out pairs' MRR and hit@10 of the next item over the whole catalog."""
    ranks = _ranks(vectors, pairs)
    return {"mrr": float(np.mean(1.0 / (ranks + 1))), "hit@10": float(np.mean(ranks < 10))}


def _info_nce(torch: Any, vectors: Any, inverse: np.ndarray, batch: np.ndarray, temperature: float,
              log_q: np.ndarray | None) -> Any:
    """Symmetric in-batch InfoNCE; other rows holding the positive's (or the anchor's) item are not negatives.

    ``log_q`` (log of each item's share of the pairs) is subtracted from every candidate's logit: in-batch
    negatives are drawn by popularity, and without the correction the loss learns to push popular items
    away from everything (Yi et al. 2019, "sampling-bias-corrected" retrieval)."""
    first, second = vectors[inverse[:, 0]], vectors[inverse[:, 1]]
    logits = first @ second.T / temperature
    logits_t = logits.T  # rows: the second items, columns: the first items as candidates
    if log_q is not None:
        logits = logits - torch.from_numpy(log_q[batch[:, 1]]).to(logits)[None, :]
        logits_t = logits_t - torch.from_numpy(log_q[batch[:, 0]]).to(logits)[None, :]
    a, b = batch[:, 0], batch[:, 1]
    eye = np.eye(len(batch), dtype=bool)
    forward_mask = ((b[None, :] == b[:, None]) | (b[None, :] == a[:, None])) & ~eye
    backward_mask = ((a[None, :] == a[:, None]) | (a[None, :] == b[:, None])) & ~eye
    target = torch.arange(len(batch), device=vectors.device)
    fill = torch.finfo(logits.dtype).min
    loss_ab = torch.nn.functional.cross_entropy(
        logits.masked_fill(torch.from_numpy(forward_mask).to(vectors.device), fill), target)
    loss_ba = torch.nn.functional.cross_entropy(
        logits_t.masked_fill(torch.from_numpy(backward_mask).to(vectors.device), fill), target)
    return (loss_ab + loss_ba) / 2


def adapt(base: Base, states: TokenStates, pairs: np.ndarray, val_pairs: np.ndarray, *, lr: float,
          temperature: float, batch_pairs: int, budget_s: float, max_steps: int, val_every: int,
          patience: int, seed: int, popularity_correction: bool = True,
          progress: Callable[[int, int, str], None] | None = None) -> tuple[Any, dict[str, Any]]:
    """Train a copy of ``base.top`` on ``pairs``; return the best top layers (by validation MRR) and a report."""
    import torch  # lazy: torch is a slow import

    log_q = None
    if popularity_correction:
        counts = np.bincount(pairs.ravel(), minlength=len(states.lengths)).astype(np.float64)
        log_q = np.log(np.maximum(counts, 1.0) / counts.sum()).astype(np.float32)

    began = time.perf_counter()
    on_cpu = base.device.type == "cpu"
    deterministic_before = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(on_cpu)
        try:
            top = copy.deepcopy(base.top).requires_grad_(True).train()
            optimizer = torch.optim.AdamW(top.parameters(), lr=lr, weight_decay=0.01)
            warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda done: min(1.0, (done + 1) / _WARMUP))
            rng = np.random.default_rng(seed)
            order, position, step, losses = rng.permutation(len(pairs)), 0, 0, []
            checks = [{"step": 0, "seconds": 0.0, **validate(encode_states(base, top, states), val_pairs)}]
            best_state, best, waited, stopped = copy.deepcopy(top.state_dict()), checks[0], 0, "max_steps"
            while step < max_steps:
                if time.perf_counter() - began >= budget_s:
                    stopped = "budget"
                    break
                if position + batch_pairs > len(order):
                    order, position = rng.permutation(len(pairs)), 0
                batch = pairs[order[position:position + batch_pairs]]
                position += batch_pairs
                items, inverse = np.unique(batch, return_inverse=True)
                loss = _info_nce(torch, pooled(base, top, states, items), inverse.reshape(batch.shape), batch,
                                 temperature, log_q)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(top.parameters(), 1.0)
                optimizer.step()
                warmup.step()
                step += 1
                losses.append(float(loss.detach()))
                if step % val_every == 0 or step == max_steps:
                    check = {"step": step, "seconds": round(time.perf_counter() - began, 2),
                             "loss": float(np.mean(losses[-val_every:])),
                             **validate(encode_states(base, top, states), val_pairs)}
                    checks.append(check)
                    if check["mrr"] > best["mrr"]:
                        best, best_state, waited = check, copy.deepcopy(top.state_dict()), 0
                    else:
                        waited += 1
                    if progress is not None:
                        left = max(0.0, budget_s - (time.perf_counter() - began))
                        progress(min(int(time.perf_counter() - began), int(budget_s)), int(budget_s),
                                 f"adapting: step {step}, loss {check['loss']:.3f}, validation MRR "
                                 f"{check['mrr']:.4f} (best {best['mrr']:.4f} at step {best['step']}), "
                                 f"{left:.0f} s left")
                    if waited >= patience:
                        stopped = "patience"
                        break
            top.load_state_dict(best_state)
        finally:
            torch.use_deterministic_algorithms(deterministic_before)
    report = {"steps": step, "best_step": best["step"], "stopped": stopped, "train_pairs": int(len(pairs)),
              "val_pairs": int(len(val_pairs)), "pairs_seen": step * batch_pairs,
              "val_mrr_frozen": checks[0]["mrr"], "val_hit@10_frozen": checks[0]["hit@10"],
              "val_mrr_best": best["mrr"], "val_hit@10_best": best["hit@10"],
              "train_s": round(time.perf_counter() - began, 2), "checks": checks}
    return top.eval().requires_grad_(False), report
