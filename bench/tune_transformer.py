"""Choose transformer_seq's hyper-parameters on the validation carve; measure the choice once on TEST.

Run: ``nice -n 10 .venv/bin/python bench/tune_transformer.py [--threads 2] [--quick] [--fresh]``

Fits already in the output JSON (same ``START`` and ``RUN``) are reused, so an interrupted search
resumes where it stopped.

docs/benchmark.md protocol: the temporal split of the sample gives TRAIN / TEST; the same split applied
to TRAIN gives TRAIN_SUB / VAL. Every candidate is fitted on TRAIN_SUB (its epochs chosen by early
stopping on each user's last TRAIN_SUB item, inside ``fit``) and scored by NDCG@10 on VAL; the
search goes one parameter at a time (``STAGES``, the best value kept before the next). TEST is read
once per item representation, after the choice: the chosen parameters are refitted on TRAIN with
``item_repr`` "id" and "both". Features are the config's (leak-free: tags on held-out items are
dropped by GENRE's encoder stage): ``RUN`` below, MiniLM on title | genres | tags, so the "both"
rows do not depend on what configs/transformer_seq.yaml ships. Every number goes into bench/tune_transformer.json with argv,
commit, date and input hashes; configs/transformer_seq.yaml cites it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import provenance, provenance_line, write_section
from genre.algorithms import make_algorithm
from genre.config import RunConfig
from genre.evaluate import evaluate
from genre.run import load_from_config
from genre.run.fitting import Fitter, Reporter
from genre.split import split_interactions, validation_split

OUT = ROOT / "bench" / "tune_transformer.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
TITLE = "Sequential transformer: hyper-parameters chosen on validation"
#: One parameter at a time, in this order; each stage keeps the best value for the next.
STAGES = [("item_repr", ["id", "both"]), ("dropout", [0.2, 0.35, 0.5]), ("max_len", [50, 100, 200]),
          ("dim", [64, 128]), ("content_weight", [0.5, 1.0, 2.0]), ("patience", [10]), ("refit", [False, True]),
          ("ema_decay", [0.99, 0.998, 0.999]), ("lr", [0.001, 0.003]), ("batch_size", [16, 64])]
QUICK = [("item_repr", ["id", "both"]), ("dropout", [0.2, 0.5])]
#: Searched last, on the mean VAL NDCG@10 of fits from ``SEEDS``: how long to wait for a better validation
#: epoch decides whether an unlucky start stops on a plateau (seed 1 of the one-seed choice stopped at epoch 16).
SEEDED = [("patience", [5, 10, 20])]
SEEDS = (0, 1, 2)
#: Then networks averaged (``n_models``), each candidate scored by its mean VAL over fits of ``len(SEEDS)``
#: networks in all: n_models 1 from seeds 0, 1, 2 (one fit each), n_models 3 from seed 0 (networks 0, 1, 2).
ENSEMBLES = [1, 3]
#: Parameters added to the search after its first fits, at the value those fits ran with: a candidate
#: at that value is the earlier fit (the key is left out, so resumed fits match).
LATER = {"refit": False, "ema_decay": 0.0, "n_models": 1}
#: The start's small batches (many steps per epoch) and raised lr converge in far fewer epochs than SASRec's
#: batch 128 / lr 1e-3 on this catalog (epoch 1 validation NDCG@10 0.029 vs 0.002); the last stages search
#: both around it.
START = {"dim": 64, "n_blocks": 2, "n_heads": 1, "max_len": 50, "dropout": 0.3, "lr": 2e-3, "batch_size": 32,
         "epochs": 200, "patience": 5, "seed": 0}


#: The run the search measures on: the sample, BENCHMARK.md's temporal split, MiniLM item text.
RUN = {"name": "tune_transformer", "data": {"source": str(ROOT / "sample_data")}, "split": {"method": "temporal"},
       "features": {"modalities": [{"name": "text", "fields": ["title", "genres", "tags"], "encoder": "minilm"}]},
       "algorithms": [{"name": "transformer_seq"}]}


def prepare() -> dict:
    """The split, the validation carve and ``RUN``'s features for both (TEST never scored here)."""
    config = RunConfig.from_dict(RUN)
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


def same(a: dict, b: dict) -> bool:
    """The same candidate: equal parameters apart from ``threads`` (how many cores a fit used, not what it learnt;
    a resumed search may run on fewer when the machine is busy)."""
    return {k: v for k, v in a.items() if k != "threads"} == {k: v for k, v in b.items() if k != "threads"}


def canonical(params: dict) -> dict:
    """``params`` without the ``LATER`` keys at their earlier value: the identity of a candidate in the JSON."""
    return {k: v for k, v in params.items() if LATER.get(k, ...) != v}


def render(results: dict) -> str:
    """The RESULTS.md section: every validation fit (what it changed from ``START``), then the TEST fits."""
    def changed(params: dict) -> str:
        diff = {k: v for k, v in params.items() if START.get(k, LATER.get(k)) != v and k != "threads"}
        return ", ".join(f"{k} {v}" for k, v in diff.items()) or "start"

    lines = [provenance_line(results), "",
             "docs/benchmark.md protocol: every candidate fitted on TRAIN_SUB (epochs by early stopping on each user's "
             "last TRAIN_SUB item, inside `fit`) and scored on VAL; one parameter at a time, the best kept; TEST read "
             f"only for the choices. Start: `{json.dumps(START)}`. Numbers: `bench/tune_transformer.json`.", "",
             "| stage | parameters (vs start) | VAL NDCG@10 | epochs (best / run) | fit s |", "|---|---|---|---|---|"]
    lines += [f"| {t['stage']} | {changed(t['params'])} | {t['ndcg@10']:.4f} | {t['best_epoch']} / {t['epochs_run']} "
              f"| {t['fit_s']:.0f} |" for t in results["trials"]]
    for stage in results.get("seeded", []):
        cells = [f"{stage['name']} {value}: {np.mean(row):.4f}"
                 + (f" ± {np.std(row, ddof=1):.4f}" if len(row) > 1 else "")
                 for value, row in zip(stage["values"], stage["val_ndcg@10"], strict=True)]
        lines += ["", f"Searched last, on the mean VAL NDCG@10 over seeds {', '.join(map(str, results['seeds']))} "
                      "(± sd; n_models k: one fit from seed 0, its k networks seeded 0, 1, …): "
                  + "; ".join(cells) + "."]
    lines += ["", "| TEST | parameters (vs start) | TEST NDCG@10 | Recall@10 | epochs | fit s |", "|---|---|---|---|---|---|"]
    seen: list[dict] = []
    final = canonical(results.get("chosen", {}))
    for t in results["test"]:
        if t["params"] in seen:  # a resumed search re-measured it (identical metrics): shown once
            continue
        seen.append(t["params"])
        label = t["label"] + (" (an earlier stage's choice)" if t["label"].startswith("chosen")
                              and not same(t["params"], final) else "")
        lines.append(f"| {label} | {changed(t['params'])} | {t['ndcg@10']:.4f} | {t['recall@10']:.4f} | "
                     f"{t['best_epoch']} | {t['fit_s']:.0f} |")
    for n_models in dict.fromkeys([final.get("n_models", 1), 1]):  # the choice, and one network of it
        like = canonical({**final, "n_models": n_models, "seed": 0})
        runs = [t for t in results["test"] + results.get("seed_spread", []) if same({**t["params"], "seed": 0}, like)]
        if len(runs) > 1:
            values = [t["ndcg@10"] for t in runs]
            lines += ["", f"{'The choice' if n_models == final.get('n_models', 1) else 'One network of it'} from other "
                          "seeds (TEST; nothing chosen on it): " + ", ".join(
                f"seed {t['params']['seed']} on {t['params'].get('threads', '?')} threads {t['ndcg@10']:.4f} "
                f"({t['best_epoch']} epochs, {t['fit_s']:.0f} s)" for t in runs)
                + f"; mean {np.mean(values):.4f} ± sd {np.std(values, ddof=1):.4f}."]
    if results.get("chosen"):
        lines += ["", f"Chosen on VAL: `{json.dumps({k: v for k, v in results['chosen'].items() if k != 'threads'})}`"
                      + ("" if results.get("done") else " (search still running)") + "."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a short search (item_repr, dropout)")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2],
                        help="after the choice, refit it from these seeds too and score TEST (its spread)")
    parser.add_argument("--render-only", action="store_true", help="re-render RESULTS.md from --out")
    parser.add_argument("--fresh", action="store_true", help="refit everything (default: reuse the fits "
                        "already in --out when START and RUN are unchanged)")
    args = parser.parse_args()
    if args.render_only:
        write_section(RESULTS_MD, "tune_transformer", TITLE, render(json.loads(Path(args.out).read_text())))
        return
    inputs = {name: ROOT / "sample_data" / name for name in ("ratings.csv", "movies.csv", "tags.csv")}
    record = {**provenance(ROOT, inputs, sys.argv), "run": RUN, "start": START,
              "stages": QUICK if args.quick else STAGES, "seeds": SEEDS}
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.0f} s] {message}", file=sys.stderr, flush=True)

    def save(**parts) -> None:
        record.update(parts, seconds=time.perf_counter() - began)
        Path(args.out).write_text(json.dumps(record, indent=1, default=float) + "\n")

    data = prepare()
    log("features ready")
    base = {**START, "threads": args.threads}

    def epochs(what: str):
        return lambda done, total, message: log(f"  {what} {message}")
    trials, tests, spread = [], [], []
    previous = json.loads(Path(args.out).read_text()) if Path(args.out).exists() and not args.fresh else {}
    if previous.get("start") == START and previous.get("run") == RUN:  # resume: reuse finished fits
        trials, tests, spread = previous.get("trials", []), previous.get("test", []), previous.get("seed_spread", [])
        record["resumed_from"] = {k: previous.get(k) for k in ("date", "commit", "argv", "resumed_from")}
        log(f"resuming: {len(trials)} validation and {len(tests)} test fits from {args.out}")
    record["seed_spread"] = spread  # the same list the spread below appends to: every save keeps it

    def run_val(params: dict, stage: str) -> dict:
        params = canonical(params)
        known = next((t for t in trials if same(t["params"], params)), None)
        if known is None:
            known = {**fit_and_score(params, data["val"], data["val_features"], epochs("VAL")), "stage": stage}
            trials.append(known)
            log(f"VAL {stage}: {params}: NDCG@10 {known['ndcg@10']:.4f} "
                f"(epochs {known['best_epoch']}/{known['epochs_run']}, {known['fit_s']:.0f} s)")
            save(trials=trials, test=tests)
        return known

    def run_test(params: dict, label: str) -> None:
        params = canonical(params)
        if any(same(t["params"], params) for t in tests):  # measured already (a resumed search)
            return
        row = {**fit_and_score(params, data["split"], data["features"], epochs("TEST")), "label": label,
               "val_ndcg@10": run_val(params, label)["ndcg@10"]}
        tests.append(row)
        log(f"TEST {label}: NDCG@10 {row['ndcg@10']:.4f} Recall@10 {row['recall@10']:.4f} "
            f"(epochs {row['best_epoch']}, {row['fit_s']:.0f} s)")
        save(trials=trials, test=tests)

    # Both item representations at the fixed starting point (parameters set before any TEST read) ...
    for item_repr in ("id", "both"):
        run_val({**base, "item_repr": item_repr}, "start")
        run_test({**base, "item_repr": item_repr}, f"start, item_repr {item_repr}")
    # ... then the search on VAL, one parameter at a time, and TEST once more for what it chose.
    chosen = dict(base)
    for name, values in (QUICK if args.quick else STAGES):
        if name == "content_weight" and chosen.get("item_repr") == "id":
            continue
        if name in LATER:
            chosen.setdefault(name, LATER[name])
        if name in chosen and chosen[name] not in values:  # the current value competes too
            values = sorted([*values, chosen[name]], key=str) if isinstance(chosen[name], str) \
                else sorted([*values, chosen[name]])
        scores = [run_val({**chosen, name: value}, name)["ndcg@10"] for value in values]
        chosen[name] = values[int(np.argmax(scores))]
        save(trials=trials, test=tests, chosen=chosen)
        log(f"chose {name} = {chosen[name]}")
    seeded = []  # judged on the mean over seeds, not one draw
    for name, values in [] if args.quick else [*SEEDED, ("n_models", ENSEMBLES)]:
        chosen.setdefault(name, LATER.get(name))
        scores = [[run_val({**chosen, name: value, "seed": seed}, f"{name} over seeds")["ndcg@10"]
                   for seed in (SEEDS[::value] if name == "n_models" else SEEDS)] for value in values]
        chosen[name] = values[int(np.argmax([np.mean(row) for row in scores]))]
        seeded.append({"name": name, "values": values, "val_ndcg@10": scores})
        save(trials=trials, test=tests, chosen=chosen, seeded=seeded)
        log(f"chose {name} = {chosen[name]} (VAL NDCG@10 per value and seed: {scores})")
    run_test(chosen, f"chosen, item_repr {chosen['item_repr']}")
    for seed in args.seeds:  # the choice's spread: the same parameters from other seeds, on TEST (no choosing)
        params = canonical({**chosen, "seed": seed})
        if not any(same(t["params"], params) for t in spread + tests):
            spread.append({**fit_and_score(params, data["split"], data["features"], epochs(f"TEST seed {seed}")),
                           "label": f"chosen, seed {seed}"})
            log(f"TEST seed {seed}: NDCG@10 {spread[-1]['ndcg@10']:.4f}")
            save(trials=trials, test=tests, chosen=chosen, seeded=seeded)
    save(trials=trials, test=tests, chosen=chosen, seeded=seeded, done=True)
    write_section(RESULTS_MD, "tune_transformer", TITLE, render(record))


if __name__ == "__main__":
    main()
