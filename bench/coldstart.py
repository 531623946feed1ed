"""Cold-start items: content models vs GENRE's ContentToCF on BENCHMARK.md's cold-item protocol.

Run: ``.venv/bin/python bench/coldstart.py``

COLD = a seeded 20 % of ml-latest-small's catalog; TRAIN = interactions with warm items; each of
the evaluated users ranks the COLD items only. Cold items are described by item-side content
alone (title, genres, LLM text written from those). Content rows score by cosine to the
normalised sum of the user's TRAIN item vectors (``ContentBased``). ContentToCF's encoder,
``l2`` and ``knn_weight`` are chosen on the validation carve (a seeded 20 % of the warm items
treated as cold, built from TRAIN only), then it is refitted on TRAIN and evaluated once on TEST.
MiniLM, USE and the tuned ContentToCF also run with the LLM-written item text added to title and
genres (ContentToCF with the parameters chosen without it, so only the text differs).
Prints a markdown table, writes it into bench/RESULTS.md between the coldstart markers and the
numbers (with argv, commit, date and input hashes) into bench/coldstart_results.json.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.results import provenance, write_section  # noqa: E402
from genre import fusion  # noqa: E402
from genre.algorithms import make_algorithm  # noqa: E402
from genre.data import load_dataset  # noqa: E402
from genre.encoders import Modality, build_item_vectors  # noqa: E402
from genre.evaluate import evaluate  # noqa: E402
from genre.features import Features  # noqa: E402
from genre.llm import load_enrichment, with_enrichment  # noqa: E402
from genre.split import Split, cold_item_split, validation_split  # noqa: E402

ENRICHMENT = ROOT / "sample_data" / "enrichment" / "smollm2_items.csv"
TITLE_GENRES = ["title", "genres"]
#: TF-IDF as in BENCHMARK.md's reference (scikit-learn's defaults: words, raw counts).
TFIDF = {"ngram_range": (1, 1), "sublinear_tf": False, "max_features": None}
#: BENCHMARK.md's reference NDCG@10 per content row.
REFERENCE = {"tfidf": 0.1424, "minilm": 0.0735, "genres": 0.0439, "random": 0.0184}
#: ContentToCF's validation grid: encoders tried at the default l2, then l2 for the best one.
MODEL_ENCODERS = ("use", "minilm", "tfidf")
KNN_WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.5, 1.0)
#: Transfer weights tried for the two-space mix (a map on one encoder, a transfer on another).
MIX_WEIGHTS = (0.05, 0.1, 0.15, 0.2, 0.3)


def encode(dataset, name: str, fields: list[str], encoder: str, **params) -> np.ndarray:
    """One modality's item vectors through the on-disk embedding cache."""
    return build_item_vectors(dataset, [Modality(name, fields, encoder, params)]).vectors


def measure(model, split: Split, vectors) -> tuple[dict[str, float], float]:
    """Fit on ``split.train`` and evaluate on its cold candidates: (metrics, fit seconds)."""
    start = time.perf_counter()
    model.fit(split.train_matrix(), Features(item_vectors=vectors))
    seconds = time.perf_counter() - start
    return evaluate(model.score, split).means, seconds


def tune_content_to_cf(val: Split, vectors: dict) -> tuple[str, dict, list[str], dict]:
    """Best (encoder, params) by validation NDCG@10, the validation table's rows and the fitted models."""
    rows, models, best = [], {}, (-1.0, "", {})

    def trial(encoder: str, l2: float) -> None:
        nonlocal best
        model = make_algorithm("content_to_cf", l2=l2)
        start = time.perf_counter()
        model.fit(val.train_matrix(), Features(item_vectors=vectors[encoder]))
        seconds = time.perf_counter() - start
        scores = []
        for weight in KNN_WEIGHTS:  # acts at scoring time: no refit
            ndcg = evaluate(model.set_params(knn_weight=weight).score, val).means["ndcg@10"]
            scores.append(ndcg)
            if ndcg > best[0]:
                best = (ndcg, encoder, {"l2": l2, "knn_weight": weight})
        models[encoder, l2] = model
        rows.append(f"| {encoder} | {l2:g} | " + " | ".join(f"{s:.4f}" for s in scores) + f" | {seconds:.1f} |")
        print(rows[-1], file=sys.stderr)

    default_l2 = make_algorithm("content_to_cf").l2
    for encoder in MODEL_ENCODERS:
        trial(encoder, default_l2)
    chosen = best[1]
    for l2 in make_algorithm("content_to_cf").tune_grid["l2"]:
        if l2 != default_l2:
            trial(chosen, l2)
    return best[1], best[2], rows, models


def two_space_mix(map_model, transfer_model, weight: float) -> Callable[[np.ndarray], np.ndarray]:
    """Scorer mixing one model's content map with another's content-kNN transfer (z-scored parts)."""
    def score(users: np.ndarray) -> np.ndarray:
        seen = map_model.train_[users]
        mapped = map_model.set_params(knn_weight=0.0).score(users)
        transfer = transfer_model.set_params(knn_weight=1.0).score(users)
        return fusion.fuse({"map": fusion.normalize(mapped, "zscore", seen),
                            "transfer": fusion.normalize(transfer, "zscore", seen)},
                           {"map": 1.0 - weight, "transfer": weight})
    return score


def tune_mix(val: Split, encoder: str, l2: float, models: dict) -> tuple[str, float, list[str]]:
    """The other encoder whose transfer best complements ``encoder``'s map, and its weight, on validation."""
    rows, best = [], (-1.0, "", 0.0)
    map_model = models[encoder, l2]
    for other in MODEL_ENCODERS:
        if other == encoder:
            continue
        transfer_model = models[other, make_algorithm("content_to_cf").l2]
        scores = [evaluate(two_space_mix(map_model, transfer_model, w), val).means["ndcg@10"] for w in MIX_WEIGHTS]
        best = max(best, *((s, other, w) for s, w in zip(scores, MIX_WEIGHTS)))
        rows.append(f"| map on {encoder}, transfer on {other} | " + " | ".join(f"{s:.4f}" for s in scores) + " |")
    return best[1], best[2], rows


def main() -> None:
    began = time.perf_counter()
    inputs = {name: ROOT / "sample_data" / name for name in ("ratings.csv", "movies.csv")}
    inputs["enrichment/smollm2_items.csv"] = ENRICHMENT
    record = provenance(ROOT, inputs, sys.argv)  # hashes of the files as read (the enrichment may grow meanwhile)
    runtimes = load_enrichment_runtimes()
    dataset = load_dataset(ROOT / "sample_data")
    split = cold_item_split(dataset.interactions, dataset.n_users, dataset.n_items)
    val = validation_split(split, "cold_items")
    enriched = with_enrichment(dataset, load_enrichment(ENRICHMENT))
    has_llm = np.array([bool(t) for t in enriched.items["llm_text"]])
    llm_cold = int(has_llm[split.candidate_items].sum())

    vectors = {
        "tfidf": encode(dataset, "tfidf", TITLE_GENRES, "tfidf", **TFIDF),
        "minilm": encode(dataset, "minilm", TITLE_GENRES, "minilm"),
        "minilm+llm": encode(enriched, "minilm+llm", TITLE_GENRES + ["llm_text"], "minilm"),
        "use": encode(dataset, "use", TITLE_GENRES, "use-multilingual"),
        "use+llm": encode(enriched, "use+llm", TITLE_GENRES + ["llm_text"], "use-multilingual"),
        "genres": encode(dataset, "genres", ["genres"], "multi-hot"),
        "random": np.random.default_rng(0).standard_normal((dataset.n_items, 64)).astype(np.float32),
    }
    labels = {
        "tfidf": "TF-IDF on title (year) genres",
        "minilm": "all-MiniLM-L6-v2 on title (year) genres",
        "minilm+llm": "all-MiniLM-L6-v2 on title (year) genres + LLM text",
        "use": "multilingual USE on title (year) genres",
        "use+llm": "multilingual USE on title (year) genres + LLM text",
        "genres": "genre multi-hot",
        "random": "random vectors (64-d, seed 0)",
    }
    table = ["| model | NDCG@10 | Recall@10 | reference NDCG@10 | fit s |", "|---|---|---|---|---|"]
    records: list[dict] = []
    for key, label in labels.items():
        metrics, seconds = measure(make_algorithm("content"), split, vectors[key])
        records.append({"model": f"content ({key})", "ndcg@10": metrics["ndcg@10"], "recall@10": metrics["recall@10"],
                        "fit_s": seconds})
        table.append(f"| {label} (profile cosine) | {metrics['ndcg@10']:.4f} | {metrics['recall@10']:.4f} | "
                     f"{REFERENCE.get(key, '—')} | {seconds:.1f} |")
        print(table[-1], file=sys.stderr)

    encoder, params, val_rows, val_models = tune_content_to_cf(val, vectors)
    model = make_algorithm("content_to_cf", **params)
    chosen_repr = repr(model)
    metrics, seconds = measure(model, split, vectors[encoder])
    chosen = ", ".join(f"{k}={v:g}" for k, v in params.items())
    table.append(f"| **ContentToCF** on {labels[encoder]} ({chosen}) | **{metrics['ndcg@10']:.4f}** | "
                 f"**{metrics['recall@10']:.4f}** | bar 0.214 (1.5× TF-IDF), aim 0.285 | {seconds:.1f} |")
    records.append({"model": f"content_to_cf ({encoder})", "params": params, "ndcg@10": metrics["ndcg@10"],
                    "recall@10": metrics["recall@10"], "fit_s": seconds})
    if f"{encoder}+llm" not in vectors:
        vectors[f"{encoder}+llm"] = encode(enriched, f"{encoder}+llm", TITLE_GENRES + ["llm_text"],
                                           {"use": "use-multilingual"}.get(encoder, encoder),
                                           **(TFIDF if encoder == "tfidf" else {}))
    llm_model = make_algorithm("content_to_cf", **params)
    llm_metrics, llm_seconds = measure(llm_model, split, vectors[f"{encoder}+llm"])
    table.append(f"| ContentToCF on {labels[encoder]} + LLM text (same parameters) | {llm_metrics['ndcg@10']:.4f} | "
                 f"{llm_metrics['recall@10']:.4f} | — | {llm_seconds:.1f} |")
    records.append({"model": f"content_to_cf ({encoder}+llm)", "params": params, "ndcg@10": llm_metrics["ndcg@10"],
                    "recall@10": llm_metrics["recall@10"], "fit_s": llm_seconds})
    for part, weight in (("content-to-CF map alone", 0.0), ("content-kNN transfer alone", 1.0)):
        part_metrics = evaluate(model.set_params(knn_weight=weight).score, split).means
        table.append(f"| ↳ its {part} (knn_weight={weight:g}, same fit) | {part_metrics['ndcg@10']:.4f} | "
                     f"{part_metrics['recall@10']:.4f} | — | — |")

    other, mix_weight, mix_rows = tune_mix(val, encoder, params["l2"], val_models)
    transfer_model = make_algorithm("content_to_cf")
    _, transfer_seconds = measure(transfer_model, split, vectors[other])
    mix_metrics = evaluate(two_space_mix(model, transfer_model, mix_weight), split).means
    table.append(f"| two-space mix: ContentToCF map on {encoder} ⊕ ContentToCF kNN transfer on {other} "
                 f"(transfer weight {mix_weight:g}; library only, one app run has one item-vector space) | "
                 f"{mix_metrics['ndcg@10']:.4f} | {mix_metrics['recall@10']:.4f} | — | "
                 f"{seconds + transfer_seconds:.1f} |")

    grid_header = ["| encoder | l2 | " + " | ".join(f"knn_weight {w:g}" for w in KNN_WEIGHTS) + " | fit s |",
                   "|---|---|" + "---|" * len(KNN_WEIGHTS) + "---|"]
    body = "\n".join([
        f"Command: `.venv/bin/python bench/coldstart.py` ({dt.date.today()}, {platform.machine()}, "
        f"{os.cpu_count()} cores; {time.perf_counter() - began:.0f} s in all). Protocol: BENCHMARK.md cold-start "
        f"items on ml-latest-small: {len(split.candidate_items)} cold items (20 % of the catalog), TRAIN = "
        f"interactions with warm items, {len(split.test_users)} evaluated users each ranking the cold items only "
        f"(ties to the lower index). Cold items are described by title and genres only (and LLM text written "
        f"from them); no tags. Content rows: cosine to the normalised sum of the user's TRAIN item vectors.",
        "",
        *table,
        "",
        f"ContentToCF (`{chosen_repr}`: encoder, l2 and knn_weight chosen by NDCG@10 on the "
        f"validation carve: {len(val.candidate_items)} of the warm items treated as cold, built from TRAIN only, "
        f"{len(val.test_users)} users; encoders first at the default l2, then l2 for the best encoder; then "
        f"refitted on TRAIN and evaluated once on TEST). Validation NDCG@10:",
        "",
        *grid_header,
        *val_rows,
        "",
        "Two-space mix (the map of the chosen ContentToCF, the transfer of a ContentToCF fitted on another "
        "encoder, both z-scored per user; other encoder and transfer weight chosen on validation). "
        "Validation NDCG@10:",
        "",
        "| mix | " + " | ".join(f"weight {w:g}" for w in MIX_WEIGHTS) + " |",
        "|---|" + "---|" * len(MIX_WEIGHTS),
        *mix_rows,
        "",
        f"LLM text (`sample_data/enrichment/smollm2_items.csv`, SmolLM2-135M): {int(has_llm.sum())} of "
        f"{dataset.n_items} items ({llm_cold} of the {len(split.candidate_items)} cold items; rows by runtime: "
        f"{', '.join(f'{k} {v}' for k, v in runtimes.items())}); items without it are encoded "
        f"from title and genres alone — so with partial coverage of the warm items, the users' TRAIN profiles "
        f"and ContentToCF's map are mostly learnt from vectors without LLM text, then applied to cold items "
        f"with it. Numbers: `bench/coldstart_results.json`.",
    ])
    print(body)
    write_section(ROOT / "bench" / "RESULTS.md", "coldstart", "Cold-start items: content models and ContentToCF",
                  body)
    (ROOT / "bench" / "coldstart_results.json").write_text(json.dumps({
        **record, "seconds": time.perf_counter() - began,
        "cold_items": len(split.candidate_items), "evaluated_users": len(split.test_users),
        "llm_text_items": int(has_llm.sum()), "llm_text_cold_items": llm_cold, "llm_text_runtimes": runtimes,
        "rows": records}, indent=1, default=float))


def load_enrichment_runtimes() -> dict[str, int]:
    """Rows of the enrichment CSV per runtime that wrote them (its ``runtime`` column)."""
    import pandas as pd

    frame = pd.read_csv(ENRICHMENT, keep_default_na=False)
    if "runtime" not in frame.columns:
        return {"llama.cpp": len(frame)}
    return {str(k): int(v) for k, v in frame["runtime"].value_counts().items()}


if __name__ == "__main__":
    main()
