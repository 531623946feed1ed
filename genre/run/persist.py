"""A trained run on disk, in safe formats only: safetensors arrays, JSON, YAML and Parquet; never pickle.

Layout of a saved run (a folder)::

    manifest.json        format, GENRE version, config hash, data fingerprint, sizes, sha256 of every file
    config.yaml          the run's config with the live weights
    run.json             weights, timings, notes, dataset / features / store / model settings
    dataset/*.parquet    interactions, item table, raw user and item ids (the id maps), tags
    split/*.parquet      train and test rows (their original index kept)
    metrics/*.parquet    the mix's metrics, intervals, per-user values and slices
    arrays.safetensors   features (item vectors, genres, ...), candidate store, split candidates
    models/NAME.safetensors  each algorithm's learned state (``Recommender._state``)

Loading checks the manifest (format, every file's sha256, the config hash and the data fingerprint)
before it builds anything and never fits a model. Anything off is refused with one ``PersistError`` line.

Examples
--------
>>> from genre.run import TrainedRun
>>> trained.save("runs/tuned")                                  # doctest: +SKIP
>>> TrainedRun.load("runs/tuned").recommend(1, k=10)            # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from safetensors.numpy import load_file, save_file

from genre import __version__
from genre.algorithms import Recommender, make_algorithm
from genre.auc_probe import Probe
from genre.config import RunConfig, dump_config, parse_config_text
from genre.data import Dataset
from genre.errors import GenreError, PersistError
from genre.features import Features
from genre.split import Split
from genre.store import CandidateStore

#: Bumped whenever the layout changes; a run saved in another format is refused, not guessed at.
FORMAT = 1
MANIFEST = "manifest.json"
REQUIRED = frozenset({"config.yaml", "run.json", "arrays.safetensors", "dataset/interactions.parquet",
                      "dataset/items.parquet", "dataset/user_ids.parquet", "dataset/item_ids.parquet",
                      "split/train.parquet", "split/test.parquet"})
_FEATURE_FIELDS = ("item_vectors", "item_genres", "interaction_times", "interaction_ratings", "user_vectors")


@dataclass
class SavedMetrics:
    """One algorithm's saved means and intervals (what ``TrainedRun.set_weights`` reads of an Evaluation)."""

    means: dict[str, float]
    intervals: dict[str, float]


# ---------------------------------------------------------------------------- arrays
def _pack(arrays: dict[str, np.ndarray], key: str, value: Any) -> str:
    """Put ``value`` (None, dense, sparse) under ``key``; returns its kind for the JSON side."""
    if value is None:
        return "none"
    if sp.issparse(value):
        csr = sp.csr_matrix(value)
        arrays.update({f"{key}.data": csr.data, f"{key}.indices": csr.indices, f"{key}.indptr": csr.indptr,
                       f"{key}.shape": np.asarray(csr.shape, dtype=np.int64)})
        return "csr"
    array = np.asarray(value)
    if array.dtype == object:
        raise PersistError(f"{key} holds Python objects, which cannot be saved without pickle")
    arrays[key] = array
    return "dense"


def _unpack(arrays: dict[str, np.ndarray], key: str, kind: str) -> Any:
    if kind == "none":
        return None
    if kind == "csr":
        return sp.csr_matrix((arrays[f"{key}.data"], arrays[f"{key}.indices"], arrays[f"{key}.indptr"]),
                             shape=tuple(int(n) for n in arrays[f"{key}.shape"]))
    return arrays[key]


def _save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))


def _model_state(model: Recommender) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A model's state split into arrays (safetensors) and plain values (JSON)."""
    arrays, plain = {}, {}
    for key, value in model._state().items():
        if isinstance(value, np.ndarray) and value.ndim:
            _pack(arrays, key, value)
        else:
            plain[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
    return arrays, plain


# ---------------------------------------------------------------------------- fingerprints
def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(dataset: Dataset) -> str:
    """sha256 of the interactions (user, item, rating, timestamp) and the raw ids."""
    digest = hashlib.sha256()
    frame = dataset.interactions
    for column, dtype in (("user", np.int64), ("item", np.int64), ("rating", np.float64), ("timestamp", np.int64)):
        digest.update(np.ascontiguousarray(frame[column].to_numpy(dtype=dtype)).tobytes())
    for ids in (dataset.user_ids, dataset.item_ids):
        digest.update("\x1f".join(map(str, ids)).encode("utf-8"))
    return digest.hexdigest()


def config_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- save
def save_run(trained: Any, path: str | Path) -> dict[str, Any]:
    """Write ``trained`` (a TrainedRun) to the folder ``path`` (replaced if it holds a saved run);
    returns the manifest (``manifest["bytes"]``: size on disk)."""
    root = Path(path)
    if root.exists() and any(root.iterdir()) and not (root / MANIFEST).exists():
        raise PersistError(f"{root} exists and is not a saved run: pick an empty or new folder")
    staging = root.with_name(root.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "dataset").mkdir(parents=True)
    (staging / "split").mkdir()
    (staging / "metrics").mkdir()
    (staging / "models").mkdir()
    try:
        manifest = _write(trained, staging)
    except GenreError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except (OSError, ValueError, TypeError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise PersistError(f"could not save the run to {root}: {error}") from error
    if root.exists():
        shutil.rmtree(root)
    staging.rename(root)
    return manifest


def _write(trained: Any, root: Path) -> dict[str, Any]:
    dataset, split, features, store = trained.dataset_, trained.split_, trained.features_, trained.store_
    config_text = dump_config(trained.config)
    (root / "config.yaml").write_text(config_text, encoding="utf-8")
    dataset.interactions.to_parquet(root / "dataset/interactions.parquet")
    dataset.items.to_parquet(root / "dataset/items.parquet")
    pd.DataFrame({"user_id": dataset.user_ids}).to_parquet(root / "dataset/user_ids.parquet")
    pd.DataFrame({"item_id": dataset.item_ids}).to_parquet(root / "dataset/item_ids.parquet")
    if dataset.tags is not None:
        dataset.tags.to_parquet(root / "dataset/tags.parquet")
    split.train.to_parquet(root / "split/train.parquet")
    split.test.to_parquet(root / "split/test.parquet")
    result = getattr(trained, "result_", None)
    if result is not None:
        for name in ("metrics", "intervals", "per_user", "slices"):
            frame = getattr(result, name)
            if frame is not None:
                frame.to_parquet(root / f"metrics/{name}.parquet")

    arrays: dict[str, np.ndarray] = {}
    feature_kinds = {name: _pack(arrays, f"features.{name}", getattr(features, name)) for name in _FEATURE_FIELDS}
    space_kinds = {name: _pack(arrays, f"spaces.{name}", value) for name, value in features.spaces.items()}
    candidate_kind = _pack(arrays, "split.candidate_items", split.candidate_items)
    for key, value in (("users", store.users), ("indptr", store.indptr), ("items", store.items),
                       ("probe.indptr", store.probe.indptr), ("probe.items", store.probe.items),
                       ("probe.positive", store.probe.positive)):
        arrays[f"store.{key}"] = np.asarray(value)
    for name in store.names:
        arrays[f"store.values.{name}"] = store.values[name]
        arrays[f"store.floors.{name}"] = store.floors[name]
        arrays[f"store.probe.values.{name}"] = store.probe.values[name]
    _save_arrays(arrays, root / "arrays.safetensors")

    models = {}
    for name, model in trained.models_.items():
        model_arrays, plain = _model_state(model)
        _save_arrays(model_arrays, root / f"models/{name}.safetensors")
        models[name] = {"class": type(model).__name__, "algorithm": model.name, "params": model.get_params(),
                        "state": plain}
    run = {
        "weights": trained.weights_, "timings": trained.timings, "notes": trained.notes_,
        "dataset": {"name": dataset.name, "preset": dataset.preset, "notes": dataset.notes,
                    "has_tags": dataset.tags is not None},
        "split": {"n_users": split.n_users, "n_items": split.n_items, "candidate_items": candidate_kind},
        "features": {"fields": feature_kinds, "spaces": space_kinds, "genre_names": list(features.genre_names)},
        "store": {"names": store.names, "candidates": store.candidates, "seconds": store.seconds},
        "singles": {name: {"means": e.means, "intervals": e.intervals}
                    for name, e in (trained.single_evaluations_ or {}).items()},
        "models": models,
    }
    (root / "run.json").write_text(json.dumps(run, default=_plain_json, indent=1), encoding="utf-8")

    files = {str(p.relative_to(root)): {"sha256": sha256_of(p), "bytes": p.stat().st_size}
             for p in sorted(root.rglob("*")) if p.is_file()}
    manifest = {"format": FORMAT, "genre_version": __version__, "config_sha256": config_hash(config_text),
                "data_fingerprint": data_fingerprint(dataset),
                "sizes": {"users": dataset.n_users, "items": dataset.n_items, "interactions": dataset.n_interactions,
                          "train_rows": len(split.train), "test_rows": len(split.test),
                          "stored_users": len(store.users), "models": len(models)},
                "files": files, "bytes": sum(f["bytes"] for f in files.values())}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    manifest["bytes"] += (root / MANIFEST).stat().st_size
    return manifest


def _plain_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise PersistError(f"a {type(value).__name__} value cannot be saved as JSON")


# ---------------------------------------------------------------------------- load
def read_manifest(root: Path) -> dict[str, Any]:
    """The checked manifest of the saved run at ``root`` (format and every file's sha256)."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PersistError(f"{root} is not a saved GENRE run (no {MANIFEST})") from None
    except (OSError, ValueError) as error:
        raise PersistError(f"{root / MANIFEST} is unreadable or damaged: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise PersistError(f"{root} was saved in run format {found!r} (GENRE "
                           f"{manifest.get('genre_version', '?') if isinstance(manifest, dict) else '?'}); "
                           f"this GENRE {__version__} reads format {FORMAT}: re-train and save it again")
    files = manifest.get("files")
    missing = sorted(REQUIRED - set(files)) if isinstance(files, dict) else sorted(REQUIRED)
    if missing:
        raise PersistError(f"{root / MANIFEST} does not list {', '.join(missing)}: the saved run is incomplete")
    for name, entry in files.items():
        path = root / name
        if not path.resolve().is_relative_to(root.resolve()):
            raise PersistError(f"{root / MANIFEST} names a file outside the run folder: {name}")
        if not path.is_file():
            raise PersistError(f"{root} is incomplete: {name} is missing")
        if sha256_of(path) != entry.get("sha256"):
            raise PersistError(f"{root / name} was changed after saving (sha256 mismatch): refusing to load it")
    return manifest


def read_run(path: str | Path) -> dict[str, Any]:
    """The parts of a saved run, checked: keyword arguments for ``TrainedRun`` plus ``weights``,
    ``result`` frames and the ``manifest``. No model is fitted."""
    root = Path(path)
    manifest = read_manifest(root)
    try:
        return _read(root, manifest)
    except GenreError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise PersistError(f"{root} could not be read: {type(error).__name__}: {error}") from None


def _read(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    config_text = (root / "config.yaml").read_text(encoding="utf-8")
    if config_hash(config_text) != manifest.get("config_sha256"):
        raise PersistError(f"{root / 'config.yaml'} does not match the manifest's config hash")
    config: RunConfig = parse_config_text(config_text)
    run = json.loads((root / "run.json").read_text(encoding="utf-8"))
    meta = run["dataset"]
    dataset = Dataset(interactions=pd.read_parquet(root / "dataset/interactions.parquet"),
                      items=pd.read_parquet(root / "dataset/items.parquet"),
                      user_ids=pd.read_parquet(root / "dataset/user_ids.parquet")["user_id"].to_numpy(),
                      item_ids=pd.read_parquet(root / "dataset/item_ids.parquet")["item_id"].to_numpy(),
                      name=meta["name"], preset=meta["preset"], notes=list(meta["notes"]),
                      tags=pd.read_parquet(root / "dataset/tags.parquet") if meta["has_tags"] else None)
    if "genres" in dataset.items:  # Parquet gives list columns back as arrays
        dataset.items["genres"] = [list(g) if g is not None else [] for g in dataset.items["genres"]]
    if data_fingerprint(dataset) != manifest.get("data_fingerprint"):
        raise PersistError(f"{root}: the saved data does not match the manifest's data fingerprint")
    arrays = load_file(str(root / "arrays.safetensors"))
    split = Split(train=pd.read_parquet(root / "split/train.parquet"), test=pd.read_parquet(root / "split/test.parquet"),
                  n_users=int(run["split"]["n_users"]), n_items=int(run["split"]["n_items"]),
                  candidate_items=_unpack(arrays, "split.candidate_items", run["split"]["candidate_items"]))
    kinds = run["features"]
    features = Features(**{name: _unpack(arrays, f"features.{name}", kind) for name, kind in kinds["fields"].items()},
                        genre_names=list(kinds["genre_names"]),
                        spaces={name: _unpack(arrays, f"spaces.{name}", kind) for name, kind in kinds["spaces"].items()})
    names = run["store"]["names"]
    probe = Probe(arrays["store.probe.indptr"], arrays["store.probe.items"], arrays["store.probe.positive"],
                  {n: arrays[f"store.probe.values.{n}"] for n in names})
    store = CandidateStore(arrays["store.users"], split, arrays["store.indptr"], arrays["store.items"],
                           {n: arrays[f"store.values.{n}"] for n in names},
                           {n: arrays[f"store.floors.{n}"] for n in names}, probe,
                           int(run["store"]["candidates"]), dict(run["store"]["seconds"]))
    models = {}
    for name, entry in run["models"].items():
        model = make_algorithm(entry["algorithm"], **entry["params"])
        state = dict(load_file(str(root / f"models/{name}.safetensors")))
        state.update(entry["state"])
        models[name] = model._restore(state)
    frames = {name: pd.read_parquet(root / f"metrics/{name}.parquet")
              for name in ("metrics", "intervals", "per_user", "slices") if (root / f"metrics/{name}.parquet").exists()}
    singles = {name: SavedMetrics(s["means"], s["intervals"]) for name, s in run["singles"].items()}
    return {"config": config, "dataset": dataset, "split": split, "features": features, "models": models,
            "store": store, "single_metrics": singles, "timings": dict(run["timings"]), "notes": list(run["notes"]),
            "weights": {k: float(v) for k, v in run["weights"].items()}, "frames": frames, "manifest": manifest}
