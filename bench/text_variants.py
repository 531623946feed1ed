"""One table: MiniLM frozen, with LLM-written text, and adapted to behaviour — warm and cold.

Run: ``nice -n 10 .venv/bin/python bench/text_variants.py [--render-only]``

The same encoder three ways, everything else fixed, so only the text side differs:
- frozen: the packaged all-MiniLM-L6-v2 on title | genres;
- LLM text: the same on title | genres | the text SmolLM2-135M wrote from title and genres
  (``sample_data/enrichment/smollm2_items.csv``, ``features.enrichment``);
- adapted: ``minilm-adapted`` on title | genres, its top layer trained on each run's TRAIN interactions
  with configs/adapted_content.yaml's parameters (chosen on the warm validation carve).
Measured with docs/benchmark.md's protocols as GENRE configs (``Experiment``), TEST once, nothing tuned
here: warm = the temporal split, the ``content`` model (profile = mean of the history's vectors);
cold = the cold-item split (seed 42), ``content`` and ContentToCF (configs/content_to_cf.yaml's l2 and
knn_weight). Writes ``bench/text_variants.json`` (argv, commit, date, input hashes) and the RESULTS.md
"text_variants" section from it alone.
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

from bench.results import provenance, provenance_line, write_section  # noqa: E402
from genre.config import RunConfig  # noqa: E402
from genre.run import Experiment  # noqa: E402

OUT = ROOT / "bench" / "text_variants.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
ENRICHMENT = ROOT / "sample_data" / "enrichment" / "smollm2_items.csv"
ADAPTED = {"popularity_correction": True, "lr": 0.0003, "budget_s": 240.0}  # configs/adapted_content.yaml's
#: Variant → (label, the text modality, the enrichment file or None).
VARIANTS = {
    "frozen": ("MiniLM frozen", {"name": "text", "fields": ["title", "genres"], "encoder": "minilm"}, None),
    "llm_text": ("MiniLM + LLM-written text",
                 {"name": "text", "fields": ["title", "genres", "llm_text"], "encoder": "minilm"}, str(ENRICHMENT)),
    "adapted": ("MiniLM adapted to behaviour",
                {"name": "text", "fields": ["title", "genres"], "encoder": "minilm-adapted", "params": ADAPTED}, None),
}
#: Setting → (label, split, algorithms): the columns of the table.
SETTINGS = {
    "warm": ("warm: content (temporal split)", {"method": "temporal"}, [{"name": "content"}]),
    "cold": ("cold: content / ContentToCF (cold-item split)", {"method": "cold_items"},
             [{"name": "content"}, {"name": "content_to_cf", "params": {"l2": 0.0001, "knn_weight": 0.1}}]),
}


def config(variant: str, setting: str) -> RunConfig:
    """The GENRE config of one cell: the variant's text on the setting's split and models."""
    _, modality, enrichment = VARIANTS[variant]
    _, split, algorithms = SETTINGS[setting]
    return RunConfig.from_dict({
        "name": f"text_variants_{variant}_{setting}", "data": {"source": str(ROOT / "sample_data")}, "split": split,
        "features": {"modalities": [modality], **({"enrichment": enrichment} if enrichment else {})},
        "algorithms": algorithms, "evaluation": {"ks": [10]}})


def measure(variant: str, setting: str) -> dict:
    """TEST NDCG@10 / Recall@10 (95 % half-width) of each model of the cell, and the run's seconds."""
    began = time.perf_counter()
    result = Experiment(config(variant, setting)).run()
    models = {}
    for name in result.metrics.index:
        if name == "mix":
            continue
        half = result.intervals.loc[name, "ndcg@10"] if result.intervals is not None else None
        models[name] = {"ndcg@10": float(result.metrics.loc[name, "ndcg@10"]),
                        "recall@10": float(result.metrics.loc[name, "recall@10"]),
                        "ndcg@10_half_width": None if half is None else float(half)}
    return {"variant": variant, "setting": setting, "models": models, "seconds": time.perf_counter() - began,
            "features_s": float(result.timings.get("features", float("nan")))}


def render(results: dict) -> str:
    """One row per text variant; warm content, cold content and cold ContentToCF as columns."""
    cells = {(c["variant"], c["setting"]): c["models"] for c in results["cells"]}
    columns = [("warm", "content", "warm: content"), ("cold", "content", "cold: content"),
               ("cold", "content_to_cf", "cold: ContentToCF")]
    lines = [provenance_line(results), "",
             "TEST NDCG@10 ± 95 % half-width (Recall@10). Warm: docs/benchmark.md temporal split, the `content` model "
             "(profile = the history's mean vector). Cold: the cold-item split (seed 42), `content` and ContentToCF "
             "(l2 1e-4, knn_weight 0.1). Only the item text / encoder differs between rows; nothing tuned here. "
             "The adapted encoder trains for `budget_s` 240 s of wall time, so how far it gets follows the machine's "
             "load; GENRE's embedding cache hands back an identical earlier fit's vectors (same TRAIN, texts and "
             "parameters: `features_s` per cell in the JSON). Numbers: `bench/text_variants.json`.", "",
             "| item text | " + " | ".join(label for *_, label in columns) + " |", "|---|" + "---|" * len(columns)]
    for variant, (label, *_) in VARIANTS.items():
        shown = []
        for setting, model, _ in columns:
            value = cells.get((variant, setting), {}).get(model)
            shown.append("—" if value is None else f"{value['ndcg@10']:.4f} ± {value['ndcg@10_half_width']:.4f} "
                                                   f"({value['recall@10']:.4f})")
        lines.append(f"| {label} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    results = json.loads(OUT.read_text()) if OUT.exists() else {"cells": []}
    if not args.render_only:
        inputs = {name: ROOT / "sample_data" / name for name in ("ratings.csv", "movies.csv")}
        inputs["enrichment/smollm2_items.csv"] = ENRICHMENT
        results = {**provenance(ROOT, inputs, sys.argv), "cells": results["cells"]}
        for variant in VARIANTS:
            for setting in SETTINGS:
                if any(c["variant"] == variant and c["setting"] == setting for c in results["cells"]):
                    continue
                results["cells"].append(measure(variant, setting))
                print(results["cells"][-1], file=sys.stderr, flush=True)
                OUT.write_text(json.dumps(results, indent=1) + "\n")
    write_section(RESULTS_MD, "text_variants", "LLM-written text, adapted and frozen encoder: one table", render(results))


if __name__ == "__main__":
    main()
