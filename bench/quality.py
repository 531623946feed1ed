"""Quality of each algorithm and of the auto-tuned mix on the docs/benchmark.md protocol.

Run: ``.venv/bin/python bench/quality.py [--config configs/tuned_mix.yaml] [--extra popularity bpr ...]
[--render-only]``

One Experiment fits every algorithm of the tuned-mix config (weights chosen on the validation
carve of TRAIN only, then refit on TRAIN and evaluated once on TEST); its per-algorithm rows
are the single-model figures. Extra algorithms (e.g. BPR, two-tower) are fitted in a second
run with fixed parameters. Every number goes into bench/quality_results.json (with argv, commit,
date and input hashes); the RESULTS.md "quality" section and the README's quality block are
rendered from that JSON alone (``--render-only`` re-renders from the committed JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import readme  # noqa: E402
from bench.results import provenance, provenance_line  # noqa: E402

RESULTS_JSON = readme.JSONS["quality"]
TITLE = "Quality: single models and the tuned mix"
#: docs/benchmark.md's reference NDCG@10 and this project's bars (copied into the JSON with each row).
REFERENCE = {"popularity": 0.0885, "item_knn": 0.1220, "ease": 0.1326, "als": 0.1294, "bpr": 0.1077}
BARS = {"popularity": 0.0885, "item_knn": 0.118, "ease": 0.130, "als": 0.125, "mix": 0.136}
REFUSE_REPEATS = 5


def refuse_seconds(trained, repeats: int = REFUSE_REPEATS) -> float:
    """Median time of a weight change: re-mix the candidate store and take every user's top 10."""
    names = trained.store_.names
    times = []
    for r in range(repeats):
        weights = {n: float((i + r) % len(names) + 1) for i, n in enumerate(names)}
        start = time.perf_counter()
        trained.store_.top_k(weights, 10)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _plain(value):
    """A JSON-ready copy of a hyper-parameter value (tuples → lists; anything else → its repr)."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value if value is None or isinstance(value, (bool, int, float, str)) else repr(value)


def _rows(result, in_mix: bool) -> list[dict]:
    """One record per algorithm of ``result``: its effective parameters, metrics and fit seconds."""
    from genre.algorithms import make_algorithm

    rows = []
    for algo in result.config.algorithms:
        if algo.name not in result.metrics.index:  # disabled in the config
            continue
        metrics = result.metrics.loc[algo.name]
        params = make_algorithm(algo.kind, **algo.params).get_params()
        rows.append({"model": algo.name, "params": {k: _plain(v) for k, v in params.items()}, "in_mix": in_mix,
                     "ndcg@10": float(metrics["ndcg@10"]), "recall@10": float(metrics["recall@10"]),
                     "fit_s": float(result.timings.get(f"fit {algo.name}", 0.0)),
                     "reference": REFERENCE.get(algo.name), "bar": BARS.get(algo.name)})
    return rows


def measure(config_path: str, extras: list[str]) -> dict:
    """Train the config's mix (and the extras alone) and return every number the section shows."""
    from genre.config import AlgorithmConfig, load_config
    from genre.run import Experiment

    began = time.perf_counter()
    inputs = {name: ROOT / "sample_data" / name for name in ("ratings.csv", "movies.csv", "tags.csv")}
    record = provenance(ROOT, inputs, sys.argv)
    config = load_config(config_path)
    mix = Experiment(config).train(progress=lambda d, t, m: print(m, file=sys.stderr) if not t else None)
    result = mix.result_
    rows = _rows(result, in_mix=True)
    if extras:
        extra_config = load_config(config_path)
        extra_config.algorithms = [AlgorithmConfig(name=n) for n in extras]
        extra_config.tuning.enabled = False
        rows += _rows(Experiment(extra_config, dataset=mix.dataset_).run(), in_mix=False)
    mix_metrics = result.metrics.loc["mix"]
    best_single = max((r["reference"] for r in rows if r["reference"] is not None), default=None)
    return {
        **record, "config": readme.relative(Path(config_path)),
        "split": config.split.method, "users": int(len(mix.users_)),
        "features": [{"name": m.name, "fields": list(m.fields), "encoder": m.encoder}
                     for m in config.features.modalities],
        "rows": rows,
        "mix": {"weights": {k: float(v) for k, v in result.weights.items()},
                "ndcg@10": float(mix_metrics["ndcg@10"]), "recall@10": float(mix_metrics["recall@10"]),
                "fit_s": float(sum(v for k, v in result.timings.items() if k.startswith("fit "))),
                "validation_metric": result.tuning.metric, "validation_score": float(result.tuning.score),
                "n_trials": int(config.tuning.n_trials),
                "reference": best_single and f"{best_single} (best single)", "bar": BARS["mix"]},
        "refuse_s": refuse_seconds(mix), "refuse_repeats": REFUSE_REPEATS,
        "seconds": time.perf_counter() - began,
    }


def metric_label(metric: str) -> str:
    """``ndcg@10`` → ``NDCG@10``, as the tables spell it."""
    return metric.replace("ndcg", "NDCG").replace("recall", "Recall")


def _cell(value) -> str:
    return "—" if value is None else f"{value}"


def render(results: dict) -> str:
    """The RESULTS.md section, built only from ``results`` (the JSON ``measure`` wrote)."""
    readme.require(results, "quality")
    mix = results["mix"]
    lines = ["| model | NDCG@10 | Recall@10 | reference NDCG@10 | bar | fit s |", "|---|---|---|---|---|---|"]
    for row in results["rows"]:
        lines.append(f"| {row['model']} | {row['ndcg@10']:.4f} | {row['recall@10']:.4f} | "
                     f"{_cell(row['reference'])} | {_cell(row['bar'])} | {row['fit_s']:.1f} |")
    weights = ", ".join(f"{k} {v:.3f}" for k, v in mix["weights"].items())
    lines.append(f"| **tuned mix** ({weights}) | **{mix['ndcg@10']:.4f}** | {mix['recall@10']:.4f} | "
                 f"{_cell(mix['reference'])} | {_cell(mix['bar'])} | {mix['fit_s']:.1f} |")
    return "\n".join([
        f"{provenance_line(results)} {results['seconds']:.0f} s in all; config `{results['config']}`. "
        f"Protocol: docs/benchmark.md {results['split']} split of ml-latest-small, variant all; mix weights tuned on "
        f"the validation carve of TRAIN ({mix['n_trials']} random simplex points + coordinate ascent; validation "
        f"{metric_label(mix['validation_metric'])} {mix['validation_score']:.4f}), then refit on TRAIN and "
        f"evaluated once on TEST. Rows outside the mix are fitted alone with their default parameters. "
        f"Numbers: `bench/quality_results.json`.", "",
        *lines, "",
        f"Re-fuse + top-10 for all {results['users']} users after a weight change: **{results['refuse_s']:.3f} s** "
        f"(median of {results['refuse_repeats']}; goal ≤ 0.3 s).",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "tuned_mix.yaml"))
    parser.add_argument("--extra", nargs="*", default=["popularity", "bpr", "genre_pref", "two_tower"],
                        help="algorithms reported alone (not in the mix)")
    parser.add_argument("--render-only", action="store_true", help="re-render from bench/quality_results.json")
    parser.add_argument("--out", help="write this JSON instead and add its own RESULTS.md section (a candidate "
                        "mix measured beside the shipped one: the README's headline block is left alone)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else RESULTS_JSON
    if not args.render_only:
        out.write_text(json.dumps(measure(args.config, args.extra), indent=1, default=float) + "\n")
    if args.out:
        from bench.results import write_section

        results = json.loads(out.read_text())
        write_section(ROOT / "bench" / "RESULTS.md", f"quality-{out.stem}", f"{TITLE}: `{results['config']}`",
                      render(results).replace("`bench/quality_results.json`", f"`{readme.relative(out)}`"))
        return
    readme.publish("quality", TITLE, render)


if __name__ == "__main__":
    main()
