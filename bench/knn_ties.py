"""How much do item-kNN's metrics move with nothing but the tie-break among equal neighbours?

Run: ``.venv/bin/python bench/knn_ties.py [--config configs/item_knn.yaml]``

Issue 11 moved item-kNN from a dense block-by-block cosine (``np.argpartition`` picks each
item's k neighbours: among equal similarities at the k-th place, whichever its introselect
leaves) to implicit's C++ all-pairs kNN (a bounded heap: again, whichever equal neighbour it
meets first). On the sample, many items share a similarity with their k-th neighbour (items
seen by one or two users have identical co-occurrence columns), so the metrics of the
config depend on a choice neither implementation defines. This script measures that choice:
the issue's base implementation (dense cosine, as it was) with its own ``argpartition``
pick, with the lowest-index tie-break, with the highest-index tie-break, and GENRE's current
item-kNN, all evaluated the same way (``genre.evaluate``). Writes bench/knn_ties.json and its
RESULTS.md section (rendered from that JSON only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from bench.results import provenance, write_section  # noqa: E402
from genre.algorithms import make_algorithm  # noqa: E402
from genre.config import load_config  # noqa: E402
from genre.evaluate import evaluate  # noqa: E402
from genre.run import load_from_config  # noqa: E402
from genre.split import split_interactions  # noqa: E402

RESULTS_JSON = ROOT / "bench" / "knn_ties.json"
PICKS = ("argpartition (base commit)", "lowest index", "highest index")


def dense_cosine_knn(train: sp.csr_matrix, k: int, pick: str, block: int = 512) -> sp.csr_matrix:
    """The base commit's item × item cosine (dense blocks of target items, float32, +1e-12 in
    the denominator, self-similarity zeroed, positives only), each item keeping k neighbours
    chosen by ``pick`` among equal similarities. Column j = target j's neighbours."""
    n_items = train.shape[1]
    item_user = sp.csr_matrix(train.T)
    norms = np.sqrt(np.asarray(train.multiply(train).sum(axis=0)).ravel()).astype(np.float32)
    rows, cols, values = [], [], []
    for start in range(0, n_items, block):
        stop = min(start + block, n_items)
        sims = (item_user[start:stop] @ train).toarray()
        sims = sims / (norms[start:stop, None] * norms[None, :] + 1e-12)
        sims[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if pick == PICKS[0]:
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:  # a stable sort on -sim keeps the lower index first among ties; reversed columns the higher
            order = sims if pick == PICKS[1] else sims[:, ::-1]
            best = np.argsort(-order, axis=1, kind="stable")[:, :k]
            best = best if pick == PICKS[1] else n_items - 1 - best
        picked = np.take_along_axis(sims, best, axis=1)
        keep = picked > 0
        rows.append(np.repeat(np.arange(start, stop), keep.sum(axis=1)))
        cols.append(best[keep])
        values.append(picked[keep].astype(np.float32))
    rows, cols, values = (np.concatenate(a) for a in (rows, cols, values))
    return sp.csr_matrix((values, (cols, rows)), shape=(n_items, n_items), dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/item_knn.yaml")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if not args.render_only:
        config = load_config(ROOT / args.config)
        dataset = load_from_config(config)
        split = split_interactions(dataset.interactions, dataset.n_users, dataset.n_items, config.split.method,
                                   **{"seed": config.seed, **config.split.params})
        params = config.algorithm("item_knn").params
        k, ks = int(params.get("k", 400)), tuple(config.evaluation.ks)
        train = split.train_matrix()
        model = make_algorithm("item_knn", **params).fit(train)
        rows = {"GENRE item_knn (implicit all-pairs kNN)": evaluate(model.score, split, ks=ks).means}
        for pick in PICKS:
            similarity = dense_cosine_knn(train, min(k, dataset.n_items - 1), pick)
            rows[f"dense cosine, ties: {pick}"] = evaluate(lambda users: (train[users] @ similarity).toarray(),
                                                           split, ks=ks).means
        results = {**provenance(ROOT, {"ratings.csv": ROOT / "sample_data" / "ratings.csv"}, sys.argv),
                   "config": args.config, "k": k, "rows": rows, "items": int(dataset.n_items)}
        RESULTS_JSON.write_text(json.dumps(results, indent=1, default=float) + "\n")
    write_section(ROOT / "bench" / "RESULTS.md", "knn-ties", "Item-kNN: what the tie-break alone moves",
                  render(json.loads(RESULTS_JSON.read_text())))


def render(results: dict) -> str:
    rows = results["rows"]
    metrics = [m for m in next(iter(rows.values())) if "@" in m and not m.startswith(("coverage", "novelty",
                                                                                    "popularity", "diversity"))]
    base = rows[f"dense cosine, ties: {PICKS[0]}"]
    lines = [f"Command: `{' '.join(results['argv'])}` (commit `{results['commit'][:7]}`, {results['date']}); "
             f"`{results['config']}` (k={results['k']}) on the sample, every metric; the last column is the "
             f"largest |difference| from the base commit's own implementation (argpartition pick).", "",
             "| implementation | " + " | ".join(metrics) + " | largest difference from base |",
             "|---|" + "---|" * (len(metrics) + 1)]
    for name, values in rows.items():
        worst = max(abs(values[m] - base[m]) for m in metrics)
        lines.append(f"| {name} | " + " | ".join(f"{values[m]:.4f}" for m in metrics) + f" | {worst:.4f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
