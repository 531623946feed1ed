"""Choose transformer_seq's hyper-parameters on the validation carve; measure the choice once on TEST.

Run: ``nice -n 10 .venv/bin/python bench/tune_transformer.py [--config configs/transformer_seq.yaml]
[--threads 2] [--quick]``

docs/benchmark.md protocol: the temporal split of the sample gives TRAIN / TEST; the same split applied
to TRAIN gives TRAIN_SUB / VAL. Every candidate is fitted on TRAIN_SUB (its epochs chosen by early
stopping on each user's last TRAIN_SUB item, inside ``fit``) and scored by NDCG@10 on VAL; the
search goes one parameter at a time (``STAGES``, the best value kept before the next). TEST is read
once per item representation, after the choice: the chosen parameters are refitted on TRAIN with
``item_repr`` "id" and "both". Features are the config's (leak-free: tags on held-out items are
dropped by GENRE's encoder stage). Every number goes into bench/tune_transformer.json with argv,
commit, date and input hashes; configs/transformer_seq.yaml cites it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import provenance  # noqa: E402
from genre.algorithms import make_algorithm  # noqa: E402
from genre.config import load_config  # noqa: E402
from genre.evaluate import evaluate  # noqa: E402
from genre.run import load_from_config  # noqa: E402
from genre.run.fitting import Fitter, Reporter  # noqa: E402
from genre.split import split_interactions, validation_split  # noqa: E402

OUT = ROOT / "bench" / "tune_transformer.json"
#: One parameter at a time, in this order; each stage keeps the best value for the next.
STAGES = [("item_repr", ["id", "both"]), ("dropout", [0.2, 0.35, 0.5]), ("max_len", [50, 100, 200]),
          ("dim", [64, 128]), ("content_weight", [0.5, 1.0, 2.0])]
QUICK = [("item_repr", ["id", "both"]), ("dropout", [0.2, 0.5])]
#: Fixed for the search: small batches (many steps per epoch) and a raised lr converge in far fewer
#: epochs than SASRec's batch 128 / lr 1e-3 on this catalog (epoch 1 validation NDCG@10 0.029 vs 0.002).
START = {"dim": 64, "n_blocks": 2, "n_heads": 1, "max_len": 50, "dropout": 0.3, "lr": 2e-3, "batch_size": 32,
         "epochs": 200, "patience": 5, "seed": 0}


def prepare(config_path: Path) -> dict:
    """The split, the validation carve and the config's features for both (TEST never scored here)."""
    config = load_config(config_path)
    dataset = load_from_config(config)
    split = split_interactions(dataset.interactions, dataset.n_users, dataset.n_items, config.split.method,
                               **{"seed": config.seed, **config.split.params})
    val = validation_split(split, config.split.method, **{"seed": config.seed, **config.split.params})
    fitter = Fitter(dataset, config, None, {}, Reporter(None))
    return {"config": config, "split": split, "val": val,
            "val_features": fitter.features(val), "features": fitter.features(split)}


def fit_and_score(params: dict, split, features, progress=None) -> dict:
    """Fit on ``split``'s training part; NDCG@10 / Recall@10 on its held-out part, epochs, seconds."""
    began = time.perf_counter()
    model = make_algorithm("transformer_seq", **params).fit(split.train_matrix(), features, progress=progress)
    seconds = time.perf_counter() - began
    means = evaluate(model.score, split, ks=(10,)).means
    return {"params": params, "ndcg@10": float(means["ndcg@10"]), "recall@10": float(means["recall@10"]),
            "best_epoch": int(model.best_epoch_), "epochs_run": len(model.epoch_stats_),
            "inner_val_ndcg@10": max((r.get("val_ndcg", 0.0) for r in model.epoch_stats_), default=None),
            "fit_s": seconds}


def search(data: dict, stages: list, base: dict, report) -> tuple[dict, list[dict]]:
    """Coordinate search on VAL: (chosen parameters, every trial); ``report(message, trials)`` after each."""
    chosen, trials, cache = dict(base), [], {}
    for name, values in stages:
        if name == "content_weight" and chosen.get("item_repr") == "id":
            continue
        results = {}
        for value in values:
            params = {**chosen, name: value}
            key = json.dumps(params, sort_keys=True)
            if key not in cache:
                cache[key] = fit_and_score(params, data["val"], data["val_features"])
                cache[key]["stage"] = name
                trials.append(cache[key])
                report(f"VAL {name}={value}: NDCG@10 {cache[key]['ndcg@10']:.4f} (epochs "
                       f"{cache[key]['best_epoch']}/{cache[key]['epochs_run']}, {cache[key]['fit_s']:.0f} s)", trials)
            results[value] = cache[key]["ndcg@10"]
        chosen[name] = max(values, key=lambda v: (results[v], -values.index(v)))
    return chosen, trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "transformer_seq.yaml"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a short search (item_repr, dropout)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    inputs = {name: ROOT / "sample_data" / name for name in ("ratings.csv", "movies.csv", "tags.csv")}
    record = {**provenance(ROOT, inputs, sys.argv), "config": str(Path(args.config).resolve().relative_to(ROOT))}
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.0f} s] {message}", file=sys.stderr, flush=True)

    def save(**parts) -> None:
        record.update(parts, seconds=time.perf_counter() - began)
        Path(args.out).write_text(json.dumps(record, indent=1, default=float) + "\n")

    data = prepare(Path(args.config))
    log("features ready")
    chosen, trials = search(data, QUICK if args.quick else STAGES, {**START, "threads": args.threads},
                            lambda message, trials: (log(message), save(trials=trials)))
    save(chosen=chosen, trials=trials)
    tests = []
    for item_repr in ("id", "both"):
        params = {**chosen, "item_repr": item_repr}
        val_row = next((t for t in trials if t["params"] == params), None)
        row = fit_and_score(params, data["split"], data["features"])
        row["val_ndcg@10"] = None if val_row is None else val_row["ndcg@10"]
        tests.append(row)
        log(f"TEST item_repr={item_repr}: NDCG@10 {row['ndcg@10']:.4f} Recall@10 {row['recall@10']:.4f} "
            f"(epochs {row['best_epoch']}, {row['fit_s']:.0f} s)")
        save(chosen=chosen, trials=trials, test=tests)


if __name__ == "__main__":
    main()
