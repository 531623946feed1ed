"""What the candidate store costs in exactness: the tuned mix through the store vs dense scores.

Run: ``.venv/bin/python bench/store_exactness.py [--candidates 100 50 20] [--render-only]``

Trains ``configs/tuned_mix.yaml`` on the sample once (tuning included), then evaluates its
tuned mix on the test users (a) densely — every algorithm's normalized (users × items) block,
their weighted sum, full ranking: the pre-store path — and (b) through candidate stores of
several sizes C. Writes ``bench/store_exactness.json`` and the "store" section of
``bench/RESULTS.md``: NDCG@10 / Recall@10 / AUC differences and the largest difference of any
metric per C, candidates per user, store memory and the time of one re-mix + evaluation.
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
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

RESULTS_JSON = ROOT / "bench" / "store_exactness.json"


def dense_evaluation(trained, weights: dict[str, float]):
    """The pre-store path: dense normalized blocks of every model, weighted sum, full ranking."""
    from genre import fusion
    from genre.evaluate import evaluate_scores

    split, users, config = trained.split_, trained.users_, trained.config
    train = split.train_matrix()
    mixed = np.zeros((len(users), split.n_items), dtype=np.float32)
    for name, model in trained.models_.items():
        if weights.get(name):
            block = fusion.normalize_rows(model.score(users), train[users], split.candidate_items, config.fusion)
            mixed += np.float32(weights[name]) * block
    return evaluate_scores(mixed, users, split, ks=tuple(config.evaluation.ks),
                           item_vectors=trained.features_.item_vectors)


def store_evaluation(trained, weights: dict[str, float], candidates: int):
    """(Evaluation through a store of ``candidates`` per user, the store, seconds of one re-mix)."""
    from genre.evaluate import evaluate_store
    from genre.store import build_store

    config = trained.config
    store = build_store(trained.models_, trained.split_, trained.users_, config.fusion,
                        candidates=candidates, seed=config.seed)
    began = time.perf_counter()
    evaluation = evaluate_store(store, {"mix": weights}, ks=tuple(config.evaluation.ks),
                                item_vectors=trained.features_.item_vectors)["mix"]
    return evaluation, store, time.perf_counter() - began


def differences(dense, stored) -> dict[str, float]:
    """|store − dense| for every metric both report."""
    return {k: abs(stored.means[k] - v) for k, v in dense.means.items() if k in stored.means}


def train_tuned_mix():
    from genre.config import load_config
    from genre.run import Experiment

    return Experiment(load_config(ROOT / "configs" / "tuned_mix.yaml")).train()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, nargs="+", default=[100, 50, 20],
                        help="C values (the default C and two smaller ones, as issue 11 asks)")
    parser.add_argument("--render-only", action="store_true", help="rebuild the section from the JSON")
    args = parser.parse_args()
    if not args.render_only:
        from bench.results import provenance

        record = provenance(ROOT, {n: ROOT / "sample_data" / n for n in ("ratings.csv", "movies.csv", "tags.csv")},
                            sys.argv)
        trained = train_tuned_mix()
        weights = dict(trained.weights_)
        dense = dense_evaluation(trained, weights)
        rows = []
        for candidates in args.candidates:
            stored, store, seconds = store_evaluation(trained, weights, candidates)
            gaps = differences(dense, stored)
            worst = max(gaps, key=gaps.get)
            per_user = np.diff(store.indptr)
            rows.append({"candidates": candidates, "ndcg@10": gaps["ndcg@10"], "recall@10": gaps["recall@10"],
                         "auc": gaps["auc"], "max_metric": worst, "max_diff": gaps[worst],
                         "mean_candidates": float(per_user.mean()), "max_candidates": int(per_user.max()),
                         "store_mb": store.nbytes / 2**20, "remix_evaluate_s": seconds})
            print(json.dumps(rows[-1]), flush=True)
        result = {**record, "config": "configs/tuned_mix.yaml", "weights": weights, "users": int(len(trained.users_)),
                  "items": int(trained.split_.n_items), "dense": {"ndcg@10": dense.means["ndcg@10"],
                                                                 "recall@10": dense.means["recall@10"]},
                  "rows": rows}
        RESULTS_JSON.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    from bench.results import write_section

    write_section(ROOT / "bench" / "RESULTS.md", "store", "Candidate store: exactness and cost of C",
                  render(json.loads(RESULTS_JSON.read_text(encoding="utf-8"))))


def render(result: dict) -> str:
    """The RESULTS.md section, from the JSON alone."""
    lines = ["| C | Δ NDCG@10 | Δ Recall@10 | Δ AUC | largest Δ (metric) | candidates / user (max) | store MB "
             "| re-mix + evaluate s |", "|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['candidates']} | {r['ndcg@10']:.5f} | {r['recall@10']:.5f} | {r['auc']:.5f} | "
                     f"{r['max_diff']:.5f} ({r['max_metric']}) | {r['mean_candidates']:.0f} ({r['max_candidates']}) "
                     f"| {r['store_mb']:.1f} | {r['remix_evaluate_s']:.2f} |")
    dense = result["dense"]
    return (f"Command: `{' '.join(result['argv'])}` (commit `{result['commit'][:10]}`, {result['date']}, "
            f"load average {result['load_average']:.1f}): the tuned mix of `configs/tuned_mix.yaml` on the "
            f"sample ({result['users']} test users × {result['items']:,} items), evaluated densely (every "
            f"algorithm's normalized users × items block, the pre-store path; NDCG@10 "
            f"{dense['ndcg@10']:.4f}, Recall@10 {dense['recall@10']:.4f}) and through candidate "
            f"stores: per user the union of every algorithm's top-C items, with every algorithm's exact score "
            f"of each. AUC comes from exact scores of held-out items and a seeded sample of negatives in every row "
            f"(sampling noise, not C).\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
