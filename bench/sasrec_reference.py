"""The SASRec reference of issue 19, re-measured here: GENRE's transformer_seq at SASRec's settings.

Run: ``nice -n 10 .venv/bin/python bench/sasrec_reference.py [--threads 2] [--validation] [--render-only]``

SASRec with a full-softmax cross-entropy at every position is ``transformer_seq`` with id items only and
SASRec's published settings: 2 blocks, 1 head, dim 64, max_len 50, dropout 0.5, Adam lr 1e-3, batch 128
sequences. The epochs are chosen on validation the way GENRE chooses them for every fit (each user's last
training item held out inside ``fit``, patience 20, cap 200; without ``refit``, which lost on validation in
bench/tune_transformer.py). docs/benchmark.md protocol: fitted on TRAIN (its epochs
chosen inside the fit, on TRAIN's own last items) and scored once on TEST; ``--validation`` also fits on
TRAIN_SUB and scores VAL, for the validation figure (twice the time). Same split, same
features code and evaluation as bench/tune_transformer.py (whose ``prepare`` and ``fit_and_score`` it
uses). Writes ``bench/sasrec_reference.json`` (argv, commit, date, input hashes) and renders the row of
docs/benchmark.md's reference table and the RESULTS.md section from it alone.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import provenance, provenance_line, write_section  # noqa: E402
from bench.tune_transformer import fit_and_score, prepare  # noqa: E402

OUT = ROOT / "bench" / "sasrec_reference.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
BENCHMARK_MD = ROOT / "docs" / "benchmark.md"
SASREC = {"item_repr": "id", "n_blocks": 2, "n_heads": 1, "dim": 64, "max_len": 50, "dropout": 0.5, "lr": 1e-3,
          "batch_size": 128, "epochs": 200, "patience": 20, "seed": 0}
#: The issue's figure for the same model elsewhere: 93 epochs chosen on validation, TEST NDCG@10.
ISSUE_FIGURE = {"ndcg@10": 0.1420, "recall@10": 0.0916, "val_ndcg@10": 0.1500}
ROW_START, ROW_END = "<!-- sasrec:start -->", "<!-- sasrec:end -->"


def table_row(results: dict) -> str:
    """The reference-table row (docs/benchmark.md) from the JSON."""
    test = results["test"]
    return (f"| SASRec (GENRE transformer_seq, full softmax, id items; epochs {test['best_epoch']} on validation) "
            f"| {test['ndcg@10']:.4f} | {test['recall@10']:.4f} | {test['fit_s']:.0f} |")


def render(results: dict) -> None:
    """docs/benchmark.md's row (between its markers) and the RESULTS.md section."""
    text = BENCHMARK_MD.read_text(encoding="utf-8")
    shape = ", ".join(f"{key} {results['params'][key]}" for key in ("n_blocks", "n_heads", "dim", "max_len", "dropout"))
    lead = f"SASRec on this split, measured {results['date'][:10]} by `bench/sasrec_reference.py` ({shape}):"
    block = (f"{ROW_START}\n{lead}\n\n| model | NDCG@10 | Recall@10 | fit s |\n|---|---|---|---|\n"
             f"{table_row(results)}\n{ROW_END}")
    pattern = re.compile(re.escape(ROW_START) + r".*?" + re.escape(ROW_END), re.S)
    if not pattern.search(text):  # first run: the block goes right under the reference table
        anchor = "| EASE + TF-IDF, weight tuned on VAL |"
        end = text.index("\n", text.index(anchor)) + 1
        text = f"{text[:end]}\n{ROW_START}\n{ROW_END}\n{text[end:]}"
    BENCHMARK_MD.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
    val, test = results.get("validation"), results["test"]
    body = "\n".join([
        provenance_line(results), "",
        f"Parameters: `{json.dumps(results['params'])}`. TEST: fitted on TRAIN, scored once"
        + ("; VAL: fitted on TRAIN_SUB." if val else "; VAL not measured (`--validation`)."), "",
        "| | VAL NDCG@10 | TEST NDCG@10 | TEST Recall@10 | epochs (best / run) | fit s |", "|---|---|---|---|---|---|",
        f"| GENRE transformer_seq at SASRec's settings | {format(val['ndcg@10'], '.4f') if val else '—'} | "
        f"{test['ndcg@10']:.4f} | "
        f"{test['recall@10']:.4f} | {test['best_epoch']} / {test['epochs_run']} | {test['fit_s']:.0f} |",
        f"| the issue's SASRec figure (93 epochs) | {ISSUE_FIGURE['val_ndcg@10']:.4f} | {ISSUE_FIGURE['ndcg@10']:.4f} | "
        f"{ISSUE_FIGURE['recall@10']:.4f} | 93 | — |"])
    write_section(RESULTS_MD, "sasrec", "SASRec reference, re-measured", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--validation", action="store_true", help="also fit on TRAIN_SUB and score VAL")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if not args.render_only:
        inputs = {name: ROOT / "sample_data" / name for name in ("ratings.csv", "movies.csv", "tags.csv")}
        record = provenance(ROOT, inputs, sys.argv)
        began = time.perf_counter()
        data = prepare()
        params = {**SASREC, "threads": args.threads}

        def log(what: str):
            return lambda done, total, message: print(f"[{time.perf_counter() - began:6.0f} s] {what} {message}",
                                                      file=sys.stderr, flush=True)
        record["params"] = params
        if args.validation:
            record["validation"] = fit_and_score(params, data["val"], data["val_features"], log("VAL"))
            OUT.write_text(json.dumps(record, indent=1, default=float) + "\n")
        record["test"] = fit_and_score(params, data["split"], data["features"], log("TEST"))
        record["seconds"] = time.perf_counter() - began
        OUT.write_text(json.dumps(record, indent=1, default=float) + "\n")
    render(json.loads(OUT.read_text()))


if __name__ == "__main__":
    main()
