"""On-disk embedding cache: a second run over unchanged items encodes nothing.

Vectors are keyed by (encoder ``id``, sha256 of each input), so only new or changed items are
encoded. Each encoder id has one folder under ``<cache dir>/embeddings`` holding ``index.json`` plus one generation of
``vectors-<token>.npy`` (float32, ``n x dim``) and ``keys-<token>.npy`` (sorted 32-byte
digests). Writes go to a temporary file then ``os.replace``; ``index.json`` is written last
and names the current generation, so a reader sees the old or the new one, never a mix.
The index stores each file's sha256: a file that fails its checksum, shape or load is
logged, dropped and rebuilt on the next write. Only numpy ``.npy`` and JSON: no pickle.
Two processes adding at once is safe but the last writer wins (the other's additions are
simply encoded again next time).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from genre.encoders.base import Encoder, Progress, Vectors, report_progress
from genre.paths import cache_dir

log = logging.getLogger("genre")

_FORMAT = 1
_MISSING = hashlib.sha256(b"genre:missing-input").digest()


def input_digest(value: Any) -> bytes:
    """sha256 of one input: text as UTF-8, bytes as is, a path by its file's content."""
    if value is None:
        return _MISSING
    if isinstance(value, bytes):
        return hashlib.sha256(b"b" + value).digest()
    if isinstance(value, os.PathLike):
        try:
            return hashlib.sha256(b"b" + Path(value).read_bytes()).digest()
        except OSError:
            return _MISSING
    if isinstance(value, str):
        return hashlib.sha256(b"s" + value.encode("utf-8")).digest()
    return hashlib.sha256(b"j" + json.dumps(value, sort_keys=True, default=str).encode()).digest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _atomic_save(path: Path, array: np.ndarray) -> None:
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", suffix=".npy", delete=False)
    try:
        with handle:
            np.save(handle, array, allow_pickle=False)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _atomic_write_text(path: Path, text: str) -> None:
    handle = tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".tmp-", suffix=".json",
                                         delete=False, encoding="utf-8")
    try:
        with handle:
            handle.write(text)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


class EmbeddingCache:
    """Vectors on disk under ``root / "embeddings"``, one folder per encoder id.

    Parameters
    ----------
    root : str or path, optional
        GENRE's cache folder (shared with the LLM output cache); default ``genre.paths.cache_dir()``.

    Examples
    --------
    >>> cache = EmbeddingCache("/tmp/genre-cache")          # doctest: +SKIP
    >>> vectors = encode_cached(encoder, texts, cache=cache)  # doctest: +SKIP
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir()
        self.directory = self.root / "embeddings"
        self._memory: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}

    def folder(self, encoder_id: str) -> Path:
        """The folder of one encoder id (readable prefix + hash of the full id)."""
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", encoder_id)[:40]
        return self.directory / f"{slug}-{hashlib.sha256(encoder_id.encode()).hexdigest()[:16]}"

    # ------------------------------------------------------------------ reading
    def _load(self, encoder_id: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any] | None]:
        """Sorted keys, their vectors, and the index they came from (None when empty or corrupt)."""
        folder = self.folder(encoder_id)
        empty = (np.zeros(0, dtype="S32"), np.zeros((0, 0), dtype=np.float32), None)
        index_path = folder / "index.json"
        if not index_path.exists():
            return empty
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            token = index["token"]
            remembered = self._memory.get(encoder_id)
            if remembered is not None and remembered[0] == token:
                return remembered[1], remembered[2], index
            if index.get("format") != _FORMAT or index.get("encoder_id") != encoder_id:
                raise ValueError("written by another format or for another encoder id")
            keys_path, vectors_path = folder / index["keys_file"], folder / index["vectors_file"]
            for path, field in ((keys_path, "keys_sha256"), (vectors_path, "vectors_sha256")):
                if _file_sha256(path) != index[field]:
                    raise ValueError(f"{path.name} fails its checksum")
            keys = np.load(keys_path, allow_pickle=False)
            vectors = np.load(vectors_path, allow_pickle=False)
            n, dim = int(index["n"]), int(index["dim"])
            if keys.shape != (n,) or keys.dtype != np.dtype("S32") or vectors.shape != (n, dim) \
                    or vectors.dtype != np.float32:
                raise ValueError(f"shape {keys.shape} / {vectors.shape} differs from the index ({n}, {dim})")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("embedding cache %s is corrupt (%s): dropping it; its items will be "
                        "encoded again", folder, exc)
            self._memory.pop(encoder_id, None)
            return empty
        self._memory[encoder_id] = (token, keys, vectors)
        return keys, vectors, index

    def lookup(self, encoder_id: str, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which ``digests`` (array of S32) are cached, and their vectors (``found`` rows only)."""
        keys, vectors, _ = self._load(encoder_id)
        if len(keys) == 0:
            return np.zeros(len(digests), dtype=bool), np.zeros((0, 0), dtype=np.float32)
        position = np.minimum(np.searchsorted(keys, digests), len(keys) - 1)
        found = keys[position] == digests
        return found, vectors[position[found]]

    # ------------------------------------------------------------------ writing
    def add(self, encoder_id: str, digests: np.ndarray, vectors: np.ndarray) -> None:
        """Store ``vectors`` under ``digests`` (merged with what is cached; new rows win)."""
        if len(digests) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        old_keys, old_vectors, old_index = self._load(encoder_id)
        if len(old_keys) and old_vectors.shape[1] != vectors.shape[1]:
            log.warning("embedding cache for %s held %d-d vectors, now %d-d: rebuilding it",
                        encoder_id, old_vectors.shape[1], vectors.shape[1])
            old_keys, old_vectors = old_keys[:0], np.zeros((0, vectors.shape[1]), dtype=np.float32)
        keys = np.concatenate([np.asarray(digests, dtype="S32"), old_keys])
        stacked = np.concatenate([vectors, old_vectors]) if len(old_keys) else vectors
        keys, first = np.unique(keys, return_index=True)  # sorted; first occurrence = newest
        stacked = np.ascontiguousarray(stacked[first])
        folder = self.folder(encoder_id)
        folder.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex[:12]
        keys_path, vectors_path = folder / f"keys-{token}.npy", folder / f"vectors-{token}.npy"
        _atomic_save(keys_path, keys)
        _atomic_save(vectors_path, stacked)
        index = {
            "format": _FORMAT, "encoder_id": encoder_id, "token": token, "n": len(keys),
            "dim": int(stacked.shape[1]), "keys_file": keys_path.name, "vectors_file": vectors_path.name,
            "keys_sha256": _file_sha256(keys_path), "vectors_sha256": _file_sha256(vectors_path),
            "updated": time.time(),
        }
        _atomic_write_text(folder / "index.json", json.dumps(index, indent=1))
        self._memory[encoder_id] = (token, keys, stacked)
        if old_index is not None:
            stale = {old_index["keys_file"], old_index["vectors_file"]}
        else:  # nothing valid was there: clear leftovers of a corrupt generation too
            stale = {p.name for p in folder.glob("*.npy") if not p.name.startswith(".tmp-")}
        for name in stale - {keys_path.name, vectors_path.name}:
            (folder / name).unlink(missing_ok=True)

    # ------------------------------------------------------------------ housekeeping
    def info(self) -> list[dict[str, Any]]:
        """One row per cached encoder: ``encoder_id``, ``n`` vectors, ``dim``, ``bytes`` on disk."""
        rows = []
        for index_path in sorted(self.directory.glob("*/index.json")):
            try:
                index = json.loads(index_path.read_text(encoding="utf-8"))
                size = sum(p.stat().st_size for p in index_path.parent.iterdir() if p.is_file())
                rows.append({"encoder_id": index["encoder_id"], "n": int(index["n"]),
                             "dim": int(index["dim"]), "bytes": size})
            except (OSError, ValueError, KeyError):
                rows.append({"encoder_id": f"(unreadable: {index_path.parent.name})", "n": 0,
                             "dim": 0, "bytes": 0})
        return rows

    def clear(self, encoder_id: str | None = None) -> None:
        """Delete one encoder's vectors, or all cached vectors (nothing else under ``root``)."""
        target = self.folder(encoder_id) if encoder_id is not None else self.directory
        shutil.rmtree(target, ignore_errors=True)
        if encoder_id is None:
            self._memory.clear()
        else:
            self._memory.pop(encoder_id, None)


def encode_with_report(
    encoder: Encoder,
    inputs: Sequence[Any],
    cache: EmbeddingCache | None | bool = None,
    progress: Progress | None = None,
) -> tuple[Vectors, dict[str, Any]]:
    """Encode through the cache; also return what happened.

    ``cache``: an ``EmbeddingCache``, None for the default one, or False for none. Encoders
    with ``cacheable = False`` always encode everything. Rows the encoder flags
    (``last_report["flags"]``, e.g. a missing image) are not stored, so they are tried again
    next time and their counts are always complete.

    Returns
    -------
    vectors, report
        ``report`` has ``cache_hits``, ``cache_misses`` and the encoder's ``last_report`` for
        the inputs it encoded (the misses), with any ``flags`` array expanded to all inputs.
    """
    if cache is None:
        cache = EmbeddingCache()
    if cache is False or not getattr(encoder, "cacheable", True) or len(inputs) == 0:
        vectors = encoder.encode(inputs, progress)
        return vectors, {"cache_hits": 0, "cache_misses": len(inputs), **getattr(encoder, "last_report", {})}
    digests = np.array([input_digest(v) for v in inputs], dtype="S32")
    found, cached = cache.lookup(encoder.id, digests)
    todo = np.flatnonzero(~found)
    report_progress(progress, 0, len(todo), f"cache: {int(found.sum())} of {len(inputs)} found")
    report: dict[str, Any] = {}
    if len(todo) == 0:
        rows = cached
    else:
        fresh = np.asarray(encoder.encode([inputs[i] for i in todo], progress), dtype=np.float32)
        report = dict(getattr(encoder, "last_report", {}))
        if found.any() and cached.shape[1] != fresh.shape[1]:
            log.warning("cached vectors for %s are %d-d but the encoder gives %d-d: encoding all again",
                        encoder.id, cached.shape[1], fresh.shape[1])
            cache.clear(encoder.id)
            return encode_with_report(encoder, inputs, cache, progress)
        flags = np.zeros(len(inputs), dtype=bool)
        if "flags" in report:
            flags[todo] = np.asarray(report["flags"], dtype=bool)
            report["flags"] = flags
        keep = ~flags[todo]
        cache.add(encoder.id, digests[todo][keep], fresh[keep])
        rows = np.empty((len(inputs), fresh.shape[1]), dtype=np.float32)
        rows[todo] = fresh
        if found.any():
            rows[found] = cached
    report.update(cache_hits=int(found.sum()), cache_misses=len(todo))
    return rows, report


def encode_cached(
    encoder: Encoder,
    inputs: Sequence[Any],
    cache: EmbeddingCache | None | bool = None,
    progress: Progress | None = None,
) -> Vectors:
    """``encoder.encode(inputs)`` through the on-disk cache (see ``encode_with_report``)."""
    return encode_with_report(encoder, inputs, cache, progress)[0]
