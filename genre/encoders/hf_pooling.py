"""Mean pooling over any local Hugging Face ``AutoModel`` (BERT-like) folder.

For models that are not packaged for sentence-transformers: the text vector is the mean of
the last hidden states over the real (non-padding) tokens, the pooling all-MiniLM-L6-v2 and
most sentence-transformers models use.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from genre.constraints import ENCODER_BATCH, MODEL_NAME, Bound, Constraints
from genre.encoders.base import Progress, encode_texts_in_chunks
from genre.encoders.sentence import folder_fingerprint, minilm_path, offline, resolve_model_dir
from genre.errors import EncoderError


def _transformer_folder(folder: Path) -> Path:
    """The folder holding ``config.json``: the root, or a sentence-transformers module subfolder."""
    if (folder / "config.json").is_file():
        return folder
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if (sub / "config.json").is_file():
            return sub
    raise EncoderError(f"{folder} holds no config.json: it is not a transformers model folder")


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> tuple[Any, Any]:
    with offline():
        from transformers import AutoModel, AutoTokenizer  # lazy: transformers is a slow import

        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModel.from_pretrained(folder, local_files_only=True)
        except Exception as exc:  # wrong folder, missing weights, unknown architecture
            raise EncoderError(f"cannot load a transformers model from {folder}: {exc}") from exc
    model.eval()
    return tokenizer, model


class TransformersEncoder:
    """Mean-pooled last hidden states of a local transformers model.

    Parameters
    ----------
    model : str or path, optional
        A model folder (or a sentence-transformers folder, whose transformer part is found),
        or a hub name already in the local cache. Default: the packaged all-MiniLM-L6-v2.
    batch_size : int
        Texts per forward pass.
    max_length : int
        Tokens kept per text (longer texts are truncated).

    Examples
    --------
    >>> TransformersEncoder().encode(["Heat (1995)", "Casino (1995)"]).shape
    (2, 384)
    """

    cacheable = True

    _parameter_constraints: ClassVar[Constraints] = {
        "model": MODEL_NAME, "batch_size": ENCODER_BATCH, "max_length": Bound(1, 8192, int)}

    def __init__(self, model: str | os.PathLike[str] | None = None, batch_size: int = 32,
                 max_length: int = 256) -> None:
        self.model = model
        self.batch_size = batch_size
        self.max_length = max_length
        root = minilm_path() if model is None else resolve_model_dir(model)
        self.folder = _transformer_folder(root)
        self.id = (f"transformers-mean:{root.name}:{folder_fingerprint(self.folder)}"
                   f":len{max_length}")
        self.last_report: dict[str, Any] = {}

    @property
    def dim(self) -> int:
        return int(_load(str(self.folder))[1].config.hidden_size)

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> np.ndarray:
        """L2-normalized float32 rows; empty texts give zero rows."""
        import torch  # lazy: torch is a slow import

        tokenizer, model = _load(str(self.folder))

        def chunk(texts: list[str]) -> np.ndarray:
            parts = []
            for start in range(0, len(texts), self.batch_size):
                batch = tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="pt")
                with torch.inference_mode():
                    hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                parts.append(pooled.float().numpy())
            return np.concatenate(parts)

        vectors, empty = encode_texts_in_chunks(inputs, self.dim, chunk, self.batch_size * 16,
                                                progress, self.folder.name)
        self.last_report = {"empty": empty}
        return vectors
