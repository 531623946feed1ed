"""Render the figure blocks of README.md and docs/ from the committed bench JSONs: no page quotes a stale number.

Run: ``.venv/bin/python bench/readme.py [KEY ...]`` (bench/quality.py, coldstart.py, speed.py, scale.py and
spark.py call it after writing their JSON).

Each block sits between ``<!-- figures:KEY:start -->`` and ``<!-- figures:KEY:end -->`` in the file
``TARGETS[KEY]`` names (the headline figures in README.md, the rest in docs/performance.md and docs/spark.md)
and is built only from ``bench/KEY_results.json``: its table and the sentences that quote the table's numbers.
A block whose JSON is missing is left as it is.
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: ``bench`` importable
README = ROOT / "README.md"
DOCS = ROOT / "docs"
JSONS = {"quality": ROOT / "bench" / "quality_results.json", "coldstart": ROOT / "bench" / "coldstart_results.json",
         "speed": ROOT / "bench" / "speed_results.json", "scale": ROOT / "bench" / "scale_results.json",
         "spark": ROOT / "bench" / "spark_results.json", "serve": ROOT / "bench" / "serve_results.json",
         "coldstart_draws": ROOT / "bench" / "coldstart_draws.json", "first_waits": ROOT / "bench" / "first_waits.json"}
#: Fields each JSON must carry for its README / docs block and RESULTS.md section (older JSONs lack some).
REQUIRED = {"quality": ("rows", "mix", "features", "config", "argv", "commit", "date"),
            "coldstart": ("rows", "chosen", "validation_grid", "two_space", "llm", "n_items", "argv", "commit"),
            "speed": ("refuse", "ease", "als", "encode", "cli", "app"), "scale": ("runs",), "spark": (),
            "serve": ("targets",), "coldstart_draws": ("cells", "seeds"),
            "first_waits": ("umap", "what_if", "what_if_warm", "goals")}
#: The page each block is rendered into: the headline figures in the README, the operators' figures in docs/.
TARGETS = {"quality": README, "coldstart": README, "speed": DOCS / "performance.md",
           "scale": DOCS / "performance.md", "spark": DOCS / "spark.md", "serve": DOCS / "serving.md",
           "coldstart_draws": README, "first_waits": DOCS / "performance.md"}
SCRIPTS = {"quality": "bench/quality.py", "coldstart": "bench/coldstart.py", "speed": "bench/speed.py",
           "scale": "bench/scale.py", "spark": "bench/spark.py", "serve": "bench/serve.py",
           "coldstart_draws": "bench/coldstart_draws.py", "first_waits": "bench/first_waits.py"}
#: The speed rows docs/performance.md quotes: (section, row name prefix, label).
SPEED_ROWS = [("refuse", "re-fuse", "re-mix 5 algorithms + top-10 for all users after a weight change"),
              ("encode", "encode again", "second encoding of 9.7k texts (on-disk cache)"),
              ("ease", "ratio", "EASE fit, GENRE / Cornac"),
              ("als", "ratio", "ALS fit, GENRE / implicit directly"),
              ("encode", "ratio", "MiniLM through `genre.encoders` vs sentence-transformers directly (speed)"),
              ("cli", "`python -m genre run", "`python -m genre run configs/tuned_mix.yaml` (tunes weights, fits 5 "
                                             "models twice)"),
              ("cli", "its peak RSS", "… its peak RSS"),
              ("app", "app: server start", "app: server start → Home painted in chromium"),
              ("app", "app: Load sample", "app: Load sample → Train with the defaults → metrics shown")]

#: How the README names algorithms and encoders.
ENCODERS = {"tfidf": "TF-IDF", "minilm": "MiniLM", "use-multilingual": "multilingual USE", "use": "multilingual USE",
            "multi-hot": "genre multi-hot"}
SHORT = {"ease": "EASE", "sequential": "sequential", "als": "ALS", "item_knn": "item-kNN", "popularity": "popularity",
         "bpr": "BPR", "genre_pref": "genre preference", "two_tower": "two-tower"}
#: The single models the README's quality table shows, in order, with their labels (from their parameters).
QUALITY_ROWS: dict[str, Callable[[dict], str]] = {
    "popularity": lambda p: "most popular",
    "item_knn": lambda p: f"item-kNN (k={p['k']})",
    "als": lambda p: f"ALS ({p['factors']} factors)",
    "ease": lambda p: f"EASE (λ={p['l2']:g})",
    "sequential": lambda p: f"sequential item-kNN (latest {p['last']} items)",
}
SPLITS = {"temporal": "Temporal split of ml-latest-small (each user's latest 20 % held out)"}
#: The cold-start content rows the README shows: bench row id → label.
COLDSTART_ROWS = {"content (tfidf)": "TF-IDF profile cosine (reference)", "content (minilm)": "MiniLM profile cosine",
                  "content (genres)": "genre multi-hot profile cosine"}


class StaleResults(RuntimeError):
    """A results JSON written before its script recorded every figure its blocks show."""


def require(results: dict, key: str) -> None:
    """Raise ``StaleResults`` naming the script to re-run when ``results`` lacks a field the blocks need."""
    missing = [field for field in REQUIRED[key] if field not in results]
    if missing:
        raise StaleResults(f"{JSONS[key].relative_to(ROOT)} lacks {', '.join(missing)}: re-run "
                           f"`.venv/bin/python {SCRIPTS[key]}`")


def relative(path: Path) -> str:
    """``path`` as the repository spells it (absolute when it lies outside)."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _source(results: dict) -> str:
    """Which command wrote the figures, at which commit and date."""
    return (f"`.venv/bin/python {' '.join(results['argv'])}` (commit {results['commit'][:7]}, "
            f"{results['date'][:10]})")


def _bold_row(name: str, detail: str, row: dict) -> str:
    """A headline table row: the name and both figures in bold."""
    return f"| **{name}** ({detail}) | **{row['ndcg@10']:.4f}** | **{row['recall@10']:.4f}** |"


def quality_block(results: dict) -> str:
    """The README's quality table and its sentences, from bench/quality_results.json."""
    require(results, "quality")
    rows = {row["model"]: row for row in results["rows"]}
    mix = results["mix"]
    encoders = ", ".join(ENCODERS.get(m["encoder"], m["encoder"]) for m in results["features"])
    parts = ", ".join(f"{encoders} content" if name == "content" else SHORT.get(name, name) for name in mix["weights"])
    lines = [
        f"{SPLITS.get(results['split'], results['split'] + ' split of ml-latest-small')}, full ranking, weights",
        "tuned on a validation carve of the training data only. Produced by",
        f"{_source(results)}; the full table with every model is in `bench/RESULTS.md`.", "",
        "| model | NDCG@10 | Recall@10 |", "|---|---|---|",
        *(f"| {label(rows[name]['params'])} | {rows[name]['ndcg@10']:.4f} | {rows[name]['recall@10']:.4f} |"
          for name, label in QUALITY_ROWS.items() if name in rows),
        _bold_row("tuned mix", parts, mix), "",
        f"`python -m genre run {results['config']} --json` reproduces the mix's {mix['ndcg@10']:.4f}.",
    ]
    return "\n".join(lines)


def _change(before: float, after: float) -> str:
    """``rose from 0.0725 to 0.0812`` (or fell, or stayed at), as four-decimal figures."""
    if f"{before:.4f}" == f"{after:.4f}":
        return f"stayed at {after:.4f}"
    return f"{'rose' if after > before else 'fell'} from {before:.4f} to {after:.4f}"


def warm_coverage(results: dict) -> tuple[int, int, str | None]:
    """(warm items, warm items with LLM text, "mostly"/"partly" lacking it — None when all have it)."""
    warm = results["n_items"] - results["cold_items"]
    covered = results["llm"]["items"] - results["llm"]["cold_items"]
    return warm, covered, None if covered == warm else "mostly" if covered < warm / 2 else "partly"


def _llm_sentence(results: dict, rows: dict) -> str:
    """What adding the LLM-written text did, phrased from the measured rows and the file's coverage."""
    llm, n_items, n_cold = results["llm"], results["n_items"], results["cold_items"]
    space = results["chosen"]["space"]
    folder = f"`{Path(llm['file']).parent}/`"
    if llm["items"] == n_items:
        described = f"all {n_items:,} items (the {n_cold:,} cold ones included; {folder})"
    else:
        cold = (f"all {n_cold:,} cold items" if llm["cold_items"] == n_cold
                else f"{llm['cold_items']:,} of the {n_cold:,} cold items")
        described = f"{cold} ({folder}; {llm['items']:,} of {n_items:,} items described so far)"

    def change(model: str, key: str) -> str:
        return _change(rows[f"{model} ({key})"]["ndcg@10"], rows[f"{model} ({key}+llm)"]["ndcg@10"])

    changes = [f"MiniLM profile cosine {change('content', 'minilm')} NDCG@10", f"USE {change('content', 'use')}",
               f"ContentToCF, with the same parameters, {change('content_to_cf', space)}"]
    sentence = (f"With the embedded LLM's ({llm['model']}) descriptions of {described} added to title and "
                f"genres, {changes[0]}, {changes[1]} and {changes[2]}")
    warm, warm_covered, share = warm_coverage(results)
    if share:
        return sentence + (f" — the warm items that users' profiles and ContentToCF's map are learnt from {share} "
                           f"lack the text ({warm_covered:,} of {warm:,} have it; see `bench/RESULTS.md`).")
    return sentence + " (see `bench/RESULTS.md`)."


def coldstart_block(results: dict) -> str:
    """The README's cold-start table and its sentences, from bench/coldstart_results.json."""
    require(results, "coldstart")
    rows = {row["model"]: row for row in results["rows"]}
    chosen = results["chosen"]
    content_to_cf = rows[f"content_to_cf ({chosen['space']})"]
    knn_weight = chosen["params"].get("knn_weight", 0.0)
    space = ENCODERS[chosen["space"]]
    detail = (f"{space} content-kNN transfer" if knn_weight >= 1 else
              f"{space} → collaborative space{', + content-kNN transfer' if knn_weight else ''}")
    two_space = next(row for row in results["rows"] if row["kind"] == "two_space")
    lines = [
        "On docs/benchmark.md's cold-item protocol (a fifth of the catalog never seen in training; each user",
        f"ranks only those items from their title and genres), {_source(results)}:", "",
        "| model | NDCG@10 | Recall@10 |", "|---|---|---|",
        *(f"| {label} | {rows[name]['ndcg@10']:.4f} | {rows[name]['recall@10']:.4f} |"
          for name, label in COLDSTART_ROWS.items()),
        _bold_row("ContentToCF", detail, content_to_cf),
        f"| two-space mix: ContentToCF's map on {ENCODERS[two_space['map']]} + a kNN transfer "
        f"on {ENCODERS[two_space['transfer']]} (weight {two_space['transfer_weight']:g}) | "
        f"{two_space['ndcg@10']:.4f} | {two_space['recall@10']:.4f} |", "",
        "ContentToCF (`configs/content_to_cf.yaml`) learns on warm items how content maps into the",
        "collaborative space, so an item nobody has touched yet still reaches the users who will want",
        "it; its encoder, l2 and knn_weight were chosen on a validation carve of warm items only (its",
        "other parameters are fixed defaults).",
        _llm_sentence(results, rows),
    ]
    return "\n".join(lines)


#: The README's rows of bench/coldstart_draws.json: row id → label.
DRAWS_ROWS = {"tfidf": "TF-IDF profile cosine (reference)", "content_to_cf": "ContentToCF (`configs/content_to_cf.yaml`)",
              "two_space": "**two-space mix** (`configs/coldstart_best.yaml`)",
              "adapted": "ContentToCF on MiniLM adapted to behaviour (`configs/coldstart_adapted.yaml`)",
              "transformer": "content-only sequential transformer (`configs/coldstart_transformer.yaml`)"}


def draws_summary(results: dict, rows: list[str]) -> dict[str, dict]:
    """Per row of bench/coldstart_draws.json, in ``rows`` order: its draws' NDCG@10 (seed order), mean, sd."""
    out = {}
    for row in rows:
        cells = sorted((c for c in results["cells"] if c["row"] == row), key=lambda c: results["seeds"].index(c["seed"]))
        if cells:
            ndcg = [c["ndcg@10"] for c in cells]
            out[row] = {"seeds": [c["seed"] for c in cells], "ndcg@10": ndcg, "mean": statistics.fmean(ndcg),
                        "sd": statistics.stdev(ndcg) if len(ndcg) > 1 else 0.0,
                        "recall_mean": statistics.fmean(c["recall@10"] for c in cells)}
    return out


def coldstart_draws_block(results: dict) -> str:
    """The README's transfer check: each shipped cold-start config over re-drawn cold items (mean ± sd)."""
    require(results, "coldstart_draws")
    summary, seeds = draws_summary(results, list(DRAWS_ROWS)), results["seeds"]
    tfidf = summary["tfidf"]["mean"]
    lines = [f"The same configs, unchanged, on {len(seeds)} seeded draws of the cold items (seeds "
             f"{', '.join(map(str, seeds))}), {_source(results)} (the latest of the runs that filled the table; "
             "re-running measures only missing cells):", "",
             "| config | NDCG@10 mean ± sd | per draw | vs TF-IDF |", "|---|---|---|---|"]
    for row, stats in summary.items():
        lines.append(f"| {DRAWS_ROWS[row]} | {stats['mean']:.4f} ± {stats['sd']:.4f} | "
                     f"{' / '.join(f'{v:.4f}' for v in stats['ndcg@10'])} | {stats['mean'] / tfidf:.2f}× |")
    best, today = summary.get("two_space"), summary.get("content_to_cf")
    if best and today:
        wins = sum(b > t for b, t in zip(best["ndcg@10"], today["ndcg@10"]))
        lines += ["", f"`configs/coldstart_best.yaml`, the two-space mix, beats today's ContentToCF on {wins} of "
                      f"{len(best['ndcg@10'])} draws and averages {best['mean'] / tfidf:.2f}× TF-IDF."]
    return "\n".join(lines)


def _measured(row: dict) -> str:
    if "ratio" in row:
        return f"{row['ratio']:.2f}×"
    if "rss_gb" in row:
        return f"{row['rss_gb']:.2f} GB"
    return f"{row['wall_s']:.2f} s"


def speed_block(results: dict) -> str:
    """docs/performance.md's speed table: the rows users ask about, each with its goal and the date measured."""
    require(results, "speed")
    lines = ["| on the sample data (610 users, 9.7k items) | measured | goal | measured on (load average) |",
             "|---|---|---|---|"]
    for section, prefix, label in SPEED_ROWS:
        part = results[section]
        row = next(r for r in part["rows"] if r["name"].startswith(prefix))
        goal = row.get("goal") or ""
        verdict = {True: " — met", False: " — missed", None: ""}[row.get("met")] if goal else ""
        lines.append(f"| {label} | {_measured(row)} | {goal}{verdict} | {part['date']} ({part['load']:.1f}) |")
    return "\n".join(["Measured by `.venv/bin/python bench/speed.py` (`bench/speed_results.json`; full table and "
                      "notes in `bench/RESULTS.md`). Wall-clock on this 2-core machine; the load average beside "
                      "each row says how busy it was.", "", *lines])


def scale_block(results: dict) -> str:
    """docs/performance.md's scale table: the five-algorithm mix at each size, from bench/scale.py's JSON."""
    from bench.plots import run_peak_gb

    require(results, "scale")
    lines = ["| interactions × items | whole run | weight change (slowest of 3) | peak RSS of the run | mix NDCG@10 ± 95 % | "
             "evaluated users | measured on (load average) |", "|---|---|---|---|---|---|---|"]
    for run in sorted(results["runs"].values(), key=lambda r: r["interactions"]):
        ndcg = run["mix"]["ndcg@10"]
        lines.append(f"| {run['interactions']:,} × {run['items']:,} | {run['run_wall_s']:.0f} s | "
                     f"{max(run['weight_change_s']):.2f} s | {run_peak_gb(run):.2f} GB | "
                     f"{ndcg['value']:.4f} ± {ndcg['interval']:.4f} | {run['evaluated_users']:,} of "
                     f"{run['test_users']:,} | {run['date'][:10]}, commit {run['commit'][:7]} "
                     f"({run['load_average_mean']:.1f}) |")
    return "\n".join(["`.venv/bin/python bench/scale.py` on synthetic MovieLens-shaped logs (`bench/synth.py`): "
                      "popularity + item-kNN (k=200) + ALS (64 factors) + sequential + TF-IDF content through "
                      "`python -m genre run`; the weight change is what the app's sliders call "
                      "(`bench/scale_results.json`, per-stage table and plot in `bench/RESULTS.md`).", "", *lines])


def spark_block(results: dict) -> str:
    """docs/spark.md's Spark sizes: each measured size and config, Spark local[2] beside the local engine."""
    rows = ["| size | config | Spark local[2], end to end | peak RSS | slowest stages | local engine | measured |",
            "|---|---|---:|---:|---|---:|---|"]
    for run in results.values():
        stages = {name: stage["wall_s"] for name, stage in run["stages"].items()}
        slowest = sorted(stages, key=stages.get, reverse=True)[:3]
        local = run.get("local")
        beside = (f"{local['wall_s']:,.0f} s, {local['process_peak_rss_gb']:.1f} GB"
                  if local and "failed" not in local else "—")
        rows.append(f"| {run['size']} | {run['config_name']} | {run['wall_s']:,.0f} s | "
                    f"{run['process_peak_rss_gb']:.1f} GB | "
                    + ", ".join(f"{name} {stages[name]:,.0f} s" for name in slowest)
                    + f" | {beside} | {run['date'][:10]}, commit {run['commit'][:7]}, load "
                      f"{run['load_average_after']:.1f} after |")
    return "\n".join(["`.venv/bin/python bench/spark.py` (`bench/spark_results.json`; configs, stages and memory in "
                      "`bench/RESULTS.md`; every user's top-k written to Parquet):", "", *rows, "",
                      spark_crossover(results)])


def _interactions(run: dict) -> int:
    """A Spark bench run's size, from the synth command it records ("bench/synth.py 20000000 --items …")."""
    return int(run["data"].split()[1])


def _memory_reach(both: list[tuple[str, dict]]) -> str:
    """How far this machine's memory carries the local engine, from two sizes of one config (linear growth)."""
    import re

    by_config: dict[str, list[dict]] = {}
    for _, run in both:
        by_config.setdefault(run["config_name"], []).append(run)
    for name, runs in by_config.items():
        runs = sorted(runs, key=_interactions)
        memory = re.search(r"(\d+) GB", runs[-1]["local"].get("machine", ""))
        if len(runs) < 2 or memory is None:
            continue
        small, large = runs[0], runs[-1]
        size = [_interactions(run) / 1e6 for run in (small, large)]
        peak = [run["local"]["process_peak_rss_gb"] for run in (small, large)]
        slope = (peak[1] - peak[0]) / (size[1] - size[0])
        if slope <= 0:
            continue
        reach = size[1] + (int(memory.group(1)) - peak[1]) / slope
        return (f" From {size[0]:.0f}M to {size[1]:.0f}M interactions ({name}) the local engine's peak grew by "
                f"{slope:.2f} GB per million; at that rate this {memory.group(1)} GB machine holds it up to roughly "
                f"{reach:,.0f}M interactions of such a log (arithmetic, not measured).")
    return ""


def spark_crossover(results: dict) -> str:
    """Where Spark pays off on one machine, and the arithmetic of the largest run on a cluster (from the JSON)."""
    both = [(tag, run) for tag, run in results.items() if run.get("local") and "failed" not in run["local"]]
    ratios = ", ".join(f"{tag} {run['wall_s'] / run['local']['wall_s']:.1f}× slower on Spark "
                       f"({run['wall_s']:,.0f} s against {run['local']['wall_s']:,.0f} s)" for tag, run in both)
    failed = [tag for tag, run in results.items() if run.get("local", {}).get("failed") is not None]
    text = []
    if ratios:
        text.append(f"**One machine:** wherever both engines ran, the local engine was faster — {ratios}. Spark pays "
                    "for a JVM, Arrow hand-offs between the JVM and its Python workers and shuffles written to disk, "
                    "and two cores give it nothing to spread them over. On one machine the crossover is memory, not "
                    "speed — the local engine's peak: " + ", ".join(f"{tag} {run['local']['process_peak_rss_gb']:.1f} GB"
                                              for tag, run in both)
                    + (f"; it failed at {', '.join(failed)}" if failed else
                       ", so on this machine there is no crossover at the sizes measured: Spark is for logs no one "
                       "machine holds") + "." + _memory_reach(both))
    tag, run = max(results.items(), key=lambda kv: (_interactions(kv[1]), kv[1]["wall_s"]))
    scale = 1e9 / _interactions(run)
    start = run["stages"].get("start spark", {}).get("wall_s", 0.0)
    core_seconds = 2 * (run["wall_s"] - start)
    text.append(f"**A cluster** (arithmetic, no cluster measured): the {tag} run took {run['wall_s']:,.0f} s on "
                f"local[2], about {core_seconds:,.0f} core-seconds after the JVM's {start:.0f} s start, nearly all of it "
                "in stages split by user bucket or target-item bucket. On 10 executors × 8 cores those stages would "
                f"take about {core_seconds / 80:,.0f} s plus per-stage scheduling and network shuffle; at 1B "
                f"interactions ({scale:,.0f}× the data, the same per-user activity) about "
                f"{scale * core_seconds / 80 / 3600:.1f} h "
                "on those 80 cores, and the only pieces held whole on the driver are item-sized "
                "(neighbours, item factors, popularity) — they grow with the catalog, not the log.")
    return "\n\n".join(text)


def serve_block(results: dict) -> str:
    """docs/serving.md's load-test table (rendered by bench/serve.py, which owns its goals and labels)."""
    from bench.serve import render

    require(results, "serve")
    return render(results)


def first_waits_block(results: dict) -> str:
    """docs/performance.md's first waits (rendered by bench/first_waits.py, which owns its goals and labels)."""
    from bench.first_waits import render

    require(results, "first_waits")
    return render(results)


BLOCKS: dict[str, Callable[[dict], str]] = {"quality": quality_block, "coldstart": coldstart_block,
                                             "coldstart_draws": coldstart_draws_block,
                                            "speed": speed_block, "scale": scale_block, "spark": spark_block,
                                            "serve": serve_block, "first_waits": first_waits_block}


def markers(key: str) -> tuple[str, str]:
    return f"<!-- figures:{key}:start -->", f"<!-- figures:{key}:end -->"


def _pattern(key: str) -> re.Pattern:
    start, end = markers(key)
    return re.compile(re.escape(start) + r"\n(.*?)\n?" + re.escape(end), re.S)


def marked_block(text: str, key: str, where: Path | None = None) -> str:
    """The text between ``key``'s markers in ``text`` (the content of ``where``, default ``TARGETS[key]``)."""
    match = _pattern(key).search(text)
    if match is None:
        raise ValueError(f"{relative(where or TARGETS[key])} has no {' … '.join(markers(key))} block")
    return match.group(1)


def load_results(key: str) -> dict | None:
    """``bench/KEY_results.json`` as a dict, or None while it does not exist."""
    import json

    path = JSONS[key]
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def update_readme(keys: list[str] | None = None, path: Path | None = None) -> list[str]:
    """Re-render ``keys``' blocks (default: all) from their JSONs, each in its ``TARGETS`` page (all in
    ``path`` when given); the keys whose JSON was there."""
    texts: dict[Path, str] = {}
    done = []
    for key in keys or list(BLOCKS):
        results = load_results(key)
        if results is None:
            continue
        target = path or TARGETS[key]
        text = texts[target] if target in texts else target.read_text(encoding="utf-8")
        body = BLOCKS[key](results)
        marked_block(text, key, target)  # the markers must be there
        start, end = markers(key)
        texts[target] = _pattern(key).sub(lambda _: f"{start}\n{body}\n{end}", text)
        done.append(key)
    for target, text in texts.items():
        target.write_text(text, encoding="utf-8")
    return done


def publish(key: str, section_title: str, render: Callable[[dict], str]) -> None:
    """A bench's last step: its RESULTS.md section and its README / docs block, both from its committed JSON
    (exits with one line when the JSON is missing or predates a field the rendering needs)."""
    from bench.results import write_section

    results = load_results(key)
    if results is None:
        sys.exit(f"{relative(JSONS[key])} does not exist yet: run {SCRIPTS[key]} without --render-only")
    try:
        body = render(results)
    except StaleResults as error:
        sys.exit(str(error))
    print(body)
    write_section(ROOT / "bench" / "RESULTS.md", key, section_title, body)
    update_readme([key])


def main() -> None:
    try:
        done = update_readme(sys.argv[1:] or None)
    except StaleResults as error:
        sys.exit(str(error))
    pages = sorted({relative(TARGETS[key]) for key in done})
    print(f"re-rendered {', '.join(done) or 'nothing (no results JSON yet)'}"
          + (f" in {', '.join(pages)}" if pages else ""))


if __name__ == "__main__":
    main()
