"""Quality of each algorithm and of the auto-tuned mix on the BENCHMARK.md protocol.

Run: ``.venv/bin/python bench/quality.py [--config configs/tuned_mix.yaml] [--extra two_tower bpr]``

One Experiment fits every algorithm of the tuned-mix config (weights chosen on the validation
carve of TRAIN only, then refit on TRAIN and evaluated once on TEST); its per-algorithm rows
are the single-model figures. Extra algorithms (e.g. BPR, two-tower) are fitted in a second
run with fixed parameters. Prints a markdown table and writes it into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import write_section  # noqa: E402
from genre.config import AlgorithmConfig, load_config  # noqa: E402
from genre.pipeline import Experiment  # noqa: E402

REFERENCE = {"popularity": 0.0885, "item_knn": 0.1220, "ease": 0.1326, "als": 0.1294, "bpr": 0.1077}
BARS = {"popularity": 0.0885, "item_knn": 0.118, "ease": 0.130, "als": 0.125, "mix": 0.136}


def refuse_seconds(trained, repeats: int = 5) -> float:
    """Median time of a weight change: re-mix the candidate store and take every user's top 10."""
    names = trained.store_.names
    times = []
    for r in range(repeats):
        weights = {n: float((i + r) % len(names) + 1) for i, n in enumerate(names)}
        start = time.perf_counter()
        trained.store_.top_k(weights, 10)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "tuned_mix.yaml"))
    parser.add_argument("--extra", nargs="*", default=["bpr", "genre_pref", "two_tower"],
                        help="algorithms reported alone (not in the mix)")
    args = parser.parse_args()

    config = load_config(args.config)
    mix = Experiment(config).train(progress=lambda d, t, m: print(m, file=sys.stderr) if not t else None)
    result = mix.result_
    rows = {name: (result.metrics.loc[name], result.timings.get(f"fit {name}", 0.0))
            for name in result.metrics.index if name != "mix"}
    if args.extra:
        extra_config = load_config(args.config)
        extra_config.algorithms = [AlgorithmConfig(name=n) for n in args.extra]
        extra_config.tuning.enabled = False
        extra = Experiment(extra_config, dataset=mix.dataset_).run()
        rows.update({n: (extra.metrics.loc[n], extra.timings.get(f"fit {n}", 0.0)) for n in args.extra})
    refuse = refuse_seconds(mix)

    lines = ["| model | NDCG@10 | Recall@10 | reference NDCG@10 | bar | fit s |",
             "|---|---|---|---|---|---|"]
    for name, (metrics, seconds) in rows.items():
        lines.append(f"| {name} | {metrics['ndcg@10']:.4f} | {metrics['recall@10']:.4f} | "
                     f"{REFERENCE.get(name, '—')} | {BARS.get(name, '—')} | {seconds:.1f} |")
    weights = ", ".join(f"{k} {v:.3f}" for k, v in result.weights.items())
    mix_metrics = result.metrics.loc["mix"]
    lines.append(f"| **tuned mix** ({weights}) | **{mix_metrics['ndcg@10']:.4f}** | "
                 f"{mix_metrics['recall@10']:.4f} | 0.1326 (best single) | {BARS['mix']} | "
                 f"{sum(v for k, v in result.timings.items() if k.startswith('fit ')):.1f} |")
    body = "\n".join([
        f"Command: `.venv/bin/python bench/quality.py` ({dt.date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores). Protocol: BENCHMARK.md temporal split of ml-latest-small, variant all; "
        f"mix weights tuned on the validation carve of TRAIN ({config.tuning.n_trials} random simplex points "
        f"+ coordinate ascent; validation NDCG@10 {result.tuning.score:.4f}), then refit on TRAIN and "
        f"evaluated once on TEST.", "",
        *lines, "",
        f"Re-fuse + top-10 for all {len(mix.users_)} users after a weight change: "
        f"**{refuse:.3f} s** (median of 5; goal ≤ 0.3 s).",
    ])
    print(body)
    write_section(ROOT / "bench" / "RESULTS.md", "quality", "Quality: single models and the tuned mix", body)


if __name__ == "__main__":
    main()
