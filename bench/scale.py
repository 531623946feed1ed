"""Scale bench: the five-algorithm mix at 100k, 1M, 5M and 10M interactions, stage by stage.

Run: ``.venv/bin/python bench/scale.py [--sizes 100k 1m 5m 10m] [--nice N] [--render-only]``

Each size is synthetic MovieLens-shaped data (``bench/synth.py``; 10k / 50k / 200k / 200k items,
~50 interactions per user) run in its own child process, so its peak RSS is its own, through
what ``python -m genre run CONFIG`` runs (``load_config`` → ``Experiment.run`` →
``RunResult.to_json``) with the mix popularity + item_knn (k=200) + als (64 factors) +
sequential + TF-IDF content. In the child a sampler thread records wall s, CPU s and the RSS
peak of each stage (named by the run's progress messages); then the weight change the sliders
call (``TrainedRun.set_weights``: a re-mix of the candidate store plus every metric), three
times; then the same fits done by ``implicit`` directly on the same training matrix
(``AlternatingLeastSquares`` and ``CosineRecommender``) beside GENRE's, alternating, as ratios.
The parent watches the child's RSS (kills it above ``--max-rss-gb``) and writes
``bench/scale_results.json`` after each size (argv, git commit, date, input hashes in it;
re-running some ``--sizes`` keeps the others). The RESULTS.md "scale" section and
``bench/scale.{html,png}`` are rendered from that JSON alone (``--render-only`` does just that).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

#: label → (interactions, items)
SIZES = {"100k": (100_000, 10_000), "1m": (1_000_000, 50_000), "5m": (5_000_000, 200_000),
         "10m": (10_000_000, 200_000)}
#: The issue's "done when" goals: whole run s, weight change s, peak RSS GB.
GOALS = {"1m": {"run_s": 120, "weight_change_s": 2, "peak_rss_gb": 4},
         "10m": {"run_s": 1200, "weight_change_s": 5, "peak_rss_gb": 12}}
RESULTS_JSON = ROOT / "bench" / "scale_results.json"
DATA_ROOT = Path(os.environ.get("GENRE_SYNTH_DIR", "/tmp/genre-synth"))
KNN_K, ALS_FACTORS = 200, 64
THREADS = os.cpu_count() or 1  # ALS solver threads (item-kNN uses every core by default)
_STAGE_OF = [(re.compile(p), s) for p, s in [
    (r"loading.*", "load"), (r"splitting.*", "split"), (r"building item features.*", "features"),
    (r"fitting (\w+)", r"fit \1"), (r"scoring (\w+)", r"score + evaluate \1"),
    (r"scoring and evaluating.*", "score + evaluate (all algorithms)"), (r"evaluating the mix.*", "mix")]]


def run_config(folder: Path) -> dict:
    """The benchmarked config (as YAML would hold it): five algorithms, equal weights."""
    return {
        "name": f"scale-{folder.name}", "data": {"source": str(folder)}, "split": {"method": "temporal"},
        "features": {"modalities": [{"name": "text", "fields": ["title", "genres"], "encoder": "tfidf"}]},
        "algorithms": [{"name": "popularity"}, {"name": "item_knn", "params": {"k": KNN_K}},
                       {"name": "als", "params": {"factors": ALS_FACTORS, "num_threads": THREADS}},
                       {"name": "sequential"}, {"name": "content"}],
        "evaluation": {"ks": [10]},
    }


# ---------------------------------------------------------------------------- child: one size
class StageMeter:
    """Wall time, process CPU time and RSS peak of each stage, the stage set by progress messages."""

    def __init__(self, interval: float = 0.02):
        self.process = psutil.Process()
        self.stage, self.rows = "start", {}
        self._mark = (time.perf_counter(), time.process_time())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    def _row(self, stage: str) -> dict:
        return self.rows.setdefault(stage, {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0})

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            rss = self.process.memory_info().rss / 2**20
            with self._lock:
                row = self._row(self.stage)
                row["peak_rss_mb"] = max(row["peak_rss_mb"], rss)

    def enter(self, stage: str) -> None:
        """Close the current stage and start ``stage`` (re-entering one adds to it)."""
        now = (time.perf_counter(), time.process_time())
        rss = self.process.memory_info().rss / 2**20
        with self._lock:
            row = self._row(self.stage)
            row["wall_s"] += now[0] - self._mark[0]
            row["cpu_s"] += now[1] - self._mark[1]
            row["peak_rss_mb"] = max(row["peak_rss_mb"], rss)
            self.stage, self._mark = stage, now
            self._row(stage)["peak_rss_mb"] = max(self._row(stage)["peak_rss_mb"], rss)
        print(f"{time.strftime('%H:%M:%S')} {stage} (rss {rss:,.0f} MB)", file=sys.stderr, flush=True)

    def progress(self, done: int, total: int, message: str) -> None:
        """The run's ``progress`` callback: stage messages (total 0) open a stage."""
        if total:
            return
        for pattern, stage in _STAGE_OF:
            if pattern.fullmatch(message):
                self.enter(pattern.sub(stage, message))
                return

    def close(self) -> dict:
        self.enter("end")
        self._stop.set()
        self._thread.join()
        self.rows.pop("end", None)
        self.rows.pop("start", None)
        return self.rows


def _timed(meter: StageMeter, stage: str, work: Callable[[], object]) -> tuple[float, float]:
    """(wall s, CPU s) of ``work()`` run as its own stage."""
    meter.enter(stage)
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def library_comparison(meter: StageMeter, train) -> dict:
    """GENRE's ALS and item-kNN fits against ``implicit`` fitting the same matrix directly.

    One GENRE fit, then one direct fit, per library (repeats would cost minutes at 10M); same
    parameters, same threads; the ratio is GENRE / direct (1.0 = no overhead).
    """
    import numpy as np
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import CosineRecommender
    from threadpoolctl import threadpool_limits

    from genre.algorithms import make_algorithm

    def direct_als():
        with threadpool_limits(1, "blas"):
            AlternatingLeastSquares(factors=ALS_FACTORS, regularization=10.0, alpha=1.0, iterations=15,
                                    dtype=np.float32, num_threads=THREADS, random_state=42).fit(train, show_progress=False)

    def direct_knn():
        with warnings.catch_warnings():  # it warns that it converts its own COO to CSR (timed, as it is)
            warnings.simplefilter("ignore")
            CosineRecommender(K=KNN_K, num_threads=0).fit(train, show_progress=False)

    pairs = {
        "als": (lambda: make_algorithm("als", factors=ALS_FACTORS, num_threads=THREADS).fit(train), direct_als,
                f"implicit AlternatingLeastSquares(factors={ALS_FACTORS}, iterations=15, num_threads={THREADS})"),
        "item_knn": (lambda: make_algorithm("item_knn", k=KNN_K).fit(train), direct_knn,
                     f"implicit CosineRecommender(K={KNN_K}, num_threads=0)"),
    }
    rows = {}
    for name, (genre_fit, direct_fit, label) in pairs.items():
        genre_wall, genre_cpu = _timed(meter, f"compare: GENRE {name}", genre_fit)
        direct_wall, direct_cpu = _timed(meter, f"compare: implicit {name}", direct_fit)
        rows[name] = {"direct": label, "genre_wall_s": genre_wall, "genre_cpu_s": genre_cpu,
                      "direct_wall_s": direct_wall, "direct_cpu_s": direct_cpu,
                      "ratio_wall": genre_wall / direct_wall, "ratio_cpu": genre_cpu / direct_cpu}
    return rows


def run_child(folder: Path, out: Path) -> None:
    """One run over ``folder`` as the CLI does it, then weight changes and the library fits."""
    import yaml

    started, cpu_started = time.perf_counter(), time.process_time()
    meter = StageMeter()
    meter.enter("imports")
    from genre.config import load_config
    from genre.run import Experiment

    config_path = out.with_suffix(".yaml")
    config_path.write_text(yaml.safe_dump(run_config(folder), sort_keys=False))
    experiment = Experiment(load_config(config_path), cache_dir=DATA_ROOT / "cache")
    result = experiment.run(progress=meter.progress)
    json.dumps(result.to_json())  # what the CLI prints
    run_wall, run_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    trained = experiment.trained_
    names = list(result.weights)
    weight_changes = []
    for turn in range(3):  # what a slider move calls
        weights = {n: float((i + turn) % len(names) + 1) for i, n in enumerate(names)}
        weight_changes.append(_timed(meter, "weight change", lambda: trained.set_weights(weights)))
    comparison = library_comparison(meter, trained.split_.train_matrix())
    stages = meter.close()
    dataset, store = trained.dataset_, trained.store_
    metrics = result.metrics.loc["mix"]
    intervals = result.intervals.loc["mix"] if result.intervals is not None else {}
    payload = {
        "interactions": int(dataset.n_interactions), "users": int(dataset.n_users), "items": int(dataset.n_items),
        "evaluated_users": int(len(trained.users_)), "test_users": int(len(trained.split_.test_users)),
        "config": run_config(folder), "stages": stages, "run_wall_s": run_wall, "run_cpu_s": run_cpu,
        "run_timings": result.timings, "weight_change_s": [w for w, _ in weight_changes],
        "weight_change_cpu_s": [c for _, c in weight_changes],
        "store_mb": store.nbytes / 2**20, "candidates": int(store.candidates), "library": comparison,
        "mix": {k: {"value": float(metrics[k]), "interval": _plain(intervals.get(k))}
                for k in ("ndcg@10", "recall@10")},
        "notes": result.notes,
    }
    out.write_text(json.dumps(payload, indent=1, default=float))


def _plain(value) -> float | None:
    return None if value is None or value != value else float(value)


# ---------------------------------------------------------------------------- parent
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()


def run_size(label: str, max_rss_gb: float, niceness: int) -> dict:
    """Generate the data if needed, run the child under ``nice``, watch it and return its figures."""
    n_interactions, n_items = SIZES[label]
    folder = DATA_ROOT / label
    subprocess.run(["nice", "-n", str(niceness), sys.executable, str(ROOT / "bench" / "synth.py"), str(n_interactions),
                    "--items", str(n_items), "--out", str(folder)], check=True)
    hashes = {name: _sha256(folder / name) for name in ("ratings.csv", "movies.csv")}
    out = DATA_ROOT / f"{label}.json"
    out.unlink(missing_ok=True)
    command = ["nice", "-n", str(niceness), sys.executable, __file__, "--child", str(folder), "--out", str(out)]
    started = time.perf_counter()
    child = subprocess.Popen(command)
    peak, loads = 0.0, []
    watched = psutil.Process(child.pid)
    while child.poll() is None:
        loads.append(os.getloadavg()[0])
        try:
            rss = sum(p.memory_info().rss for p in [watched, *watched.children(recursive=True)]) / 2**30
        except psutil.Error:
            rss = 0.0
        peak = max(peak, rss)
        if rss > max_rss_gb:
            child.kill()
            child.wait()
            raise SystemExit(f"{label}: child RSS {rss:.1f} GB above --max-rss-gb {max_rss_gb}: killed")
        time.sleep(0.2)
    if child.returncode != 0:
        raise SystemExit(f"{label}: child failed with status {child.returncode}")
    payload = json.loads(out.read_text())
    payload.update(process_wall_s=time.perf_counter() - started, process_peak_rss_gb=peak, nice=niceness,
                   date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   machine=f"{platform.machine()}, {os.cpu_count()} cores",
                   load_average_mean=sum(loads) / max(len(loads), 1), argv=sys.argv,
                   commit=_git("rev-parse", "HEAD"),
                   uncommitted=_git("status", "--porcelain", "--", "genre", "bench/scale.py").splitlines(),
                   input_sha256=hashes, data=f"bench/synth.py {n_interactions} --items {n_items} --seed 0")
    return payload


def _cell(row: dict | None) -> str:
    return f"{row['wall_s']:.1f} / {row['cpu_s']:.1f} / {row['peak_rss_mb']:,.0f}" if row else "—"


def render(results: dict, plot_stem: Path = ROOT / "bench" / "scale") -> str:
    """Markdown from the JSON alone: stages × sizes, weight changes, library ratios, goals, before/after;
    the plot goes to ``plot_stem``.html (and .png when kaleido can render)."""
    from bench.plots import run_peak_gb, save_figure, scale_figure

    runs = results["runs"]
    labels = [k for k in SIZES if k in runs]
    stages = []
    for label in labels:
        stages += [s for s in runs[label]["stages"] if s not in stages]
    head = " | ".join(f"{runs[k]['interactions']:,} × {runs[k]['items']:,}" for k in labels)
    lines = ["Cells: wall s / CPU s (both cores count) / peak RSS MB during the stage (the process's RSS, so it "
             "includes everything still held from earlier stages).", "",
             f"| stage | {head} |", "|---|" + "---|" * len(labels)]
    for stage in stages:
        lines.append(f"| {stage} | {' | '.join(_cell(runs[k]['stages'].get(stage)) for k in labels)} |")
        if stage.startswith("score + evaluate"):  # the run's own split of it: wall s scoring each model
            scored = list(dict.fromkeys(t for k in labels for t in runs[k]["run_timings"] if t.startswith("score ")))
            for timing in scored:
                lines.append(f"| ↳ {timing} (the run's timing, wall s) | " + " | ".join(
                    f"{runs[k]['run_timings'][timing]:.1f}" if timing in runs[k]["run_timings"] else "—"
                    for k in labels) + " |")
    rows = {
        "**whole run** as `python -m genre run` (wall s / CPU s)":
            lambda r: f"**{r['run_wall_s']:.0f}** / {r['run_cpu_s']:.0f}",
        "**peak RSS of the run + weight changes** (GB; of the whole child, library fits included)":
            lambda r: f"**{run_peak_gb(r):.2f}** ({r['process_peak_rss_gb']:.2f})",
        "**weight change** (`set_weights`: store re-mix + metrics; wall s of each of 3, CPU s)":
            lambda r: "**" + " / ".join(f"{s:.2f}" for s in r["weight_change_s"]) + "**, CPU "
                      + " / ".join(f"{s:.2f}" for s in r["weight_change_cpu_s"]),
        "candidate store (MB, C per user and algorithm)": lambda r: f"{r['store_mb']:,.0f} (C={r['candidates']})",
        "evaluated users / test users": lambda r: f"{r['evaluated_users']:,} / {r['test_users']:,}",
        "mix NDCG@10 ± 95 %": lambda r: _with_interval(r["mix"]["ndcg@10"]),
        "mix Recall@10 ± 95 %": lambda r: _with_interval(r["mix"]["recall@10"]),
    }
    for name, cell in rows.items():
        lines.append(f"| {name} | {' | '.join(cell(runs[k]) for k in labels)} |")
    for algo in ("item_knn", "als"):
        lines.append(f"| {algo} fit: GENRE / implicit directly, wall s (ratio) | " + " | ".join(
            _ratio(runs[k]["library"][algo]) for k in labels) + " |")
    lines += ["", "Library comparisons: " + "; ".join(
        f"{algo}: GENRE `{algo}` against {runs[labels[0]]['library'][algo]['direct']}" for algo in ("item_knn", "als"))
        + ", on the run's training matrix, in the same process right after the run (ratio = GENRE / direct; "
          "CPU ratios are in the JSON)."]
    lines += ["", "Goals (the issue's “done when”):", "", "| size | measure | goal | measured | met | CPU s (both cores) |",
              "|---|---|---|---|---|---|"]
    for label, goals in GOALS.items():
        if label not in runs:
            lines.append(f"| {label} | — | — | not run yet | — | — |")
            continue
        r = runs[label]
        measured = {"run_s": (r["run_wall_s"], f"{r['run_cpu_s']:,.0f}"),
                    "weight_change_s": (max(r["weight_change_s"]), f"{max(r['weight_change_cpu_s']):.2f}"),
                    "peak_rss_gb": (run_peak_gb(r), "—")}
        for key, goal in goals.items():
            value, cpu = measured[key]
            lines.append(f"| {label} | {key} | ≤ {goal} | {value:,.2f} | {'yes' if value <= goal else '**no**'} | {cpu} |")
    lines.append("")
    for label in labels:
        r = runs[label]
        dirty = f" + {len(r['uncommitted'])} uncommitted files (listed in the JSON)" if r["uncommitted"] else ""
        lines.append(f"- {label}: {r['date']}, {r['machine']}, nice {r['nice']}, 1-min load average "
                     f"{r['load_average_mean']:.1f} on average during the run (2 cores: above 2, wall times "
                     f"stretch; CPU s do not); commit {r['commit'][:10]}{dirty}; data `{r['data']}` (ratings.csv sha256 "
                     f"{r['input_sha256']['ratings.csv'][:12]}…); {r['users']:,} users.")
        for note in r["notes"]:
            lines.append(f"  - note: {note}")
    lines += _before_after(results, labels)
    saved = save_figure(scale_figure(runs, labels, GOALS), plot_stem)
    lines += ["", "Plot: " + ", ".join(f"`bench/{p.name}`" for p in saved) + "."]
    if any(p.suffix == ".png" for p in saved):
        lines += ["", "![scale curve](scale.png)"]
    return "\n".join(lines)


def _with_interval(entry: dict) -> str:
    interval = entry.get("interval")
    return f"{entry['value']:.4f}" + (f" ± {interval:.4f}" if interval else "")


def _ratio(row: dict) -> str:
    return f"{row['genre_wall_s']:.1f} / {row['direct_wall_s']:.1f} ({row['ratio_wall']:.2f})"


def _before_after(results: dict, labels: list[str]) -> list[str]:
    """Whole run, weight change and peak RSS against the dense-block design's bench (kept in the JSON)."""
    from bench.plots import run_peak_gb

    before = results.get("before")
    if not before:
        return []
    lines = ["", f"Before / after: the dense-score-block design (bench of commit {before['commit'][:10]}: eight "
                 f"algorithms incl. bpr, genre_pref, item_knn k=400, ease where it fits) against this run.", "",
             "| size | whole run wall s (CPU s), before → now | weight change wall s (CPU s), before → now "
             "| peak RSS GB, before → now |", "|---|---|---|---|"]
    for label in labels:
        old, new = before["results"].get(label), results["runs"][label]
        if old:
            change = old["stages"]["weight change"]
            old_cpu = sum(row["cpu_s"] for name, row in old["stages"].items()
                          if row.get("cpu_s") is not None and name != "weight change")
            lines.append(f"| {label} | {old['process_wall_s']:.0f} ({old_cpu:.0f}) → {new['run_wall_s']:.0f} "
                         f"({new['run_cpu_s']:.0f}) | {change['wall_s']:.1f} ({change['cpu_s']:.1f}) → "
                         f"{max(new['weight_change_s']):.2f} ({max(new['weight_change_cpu_s']):.2f}) | "
                         f"{old['process_peak_rss_gb']:.2f} → {run_peak_gb(new):.2f} |")
    lines += ["", "The neighbour models' fits, same data (before: item_knn k=400 on dense similarity blocks, the "
                  "sequential co-occurrence summed in one COO; now: item_knn k=200 through implicit's C++ kNN, "
                  "the co-occurrence summed one distance at a time):", "",
              "| size | fit | wall s (CPU s), before → now | process RSS peak MB during the fit, before → now |",
              "|---|---|---|---|"]
    for label in labels:
        old, new = before["results"].get(label), results["runs"][label]
        for fit in ("fit item_knn", "fit sequential"):
            if old and fit in old["stages"] and fit in new["stages"]:
                a, b = old["stages"][fit], new["stages"][fit]
                lines.append(f"| {label} | {fit[4:]} | {a['wall_s']:.1f} ({a['cpu_s']:.1f}) → {b['wall_s']:.1f} "
                             f"({b['cpu_s']:.1f}) | {a['peak_rss_mb']:,.0f} → {b['peak_rss_mb']:,.0f} |")
    return lines


def _load_results() -> dict:
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    results.setdefault("runs", {})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--max-rss-gb", type=float, default=16.0)
    parser.add_argument("--nice", type=int, default=10, help="niceness of the child (the machine is shared)")
    parser.add_argument("--render-only", action="store_true", help="rebuild the section from the JSON")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.out)
        return
    if not args.render_only:
        for label in args.sizes:
            done = run_size(label, args.max_rss_gb, args.nice)
            results = _load_results()  # re-read: another size may have finished meanwhile in another process
            results["runs"][label] = done
            RESULTS_JSON.write_text(json.dumps(results, indent=1))
            print(f"{label}: run {done['run_wall_s']:.0f} s, peak {done['process_peak_rss_gb']:.2f} GB", file=sys.stderr)
    from bench.readme import publish

    def section(results: dict) -> str:
        return ("Command: `.venv/bin/python bench/scale.py [--sizes 100k 1m 5m 10m] [--nice N]` (each size in its "
                "own child process under `nice`; synthetic data from `bench/synth.py`; the mix popularity + item_knn "
                f"(k={KNN_K}) + als ({ALS_FACTORS} factors) + sequential + TF-IDF content, equal weights, temporal "
                "split). Rendered from `bench/scale_results.json` only.\n\n" + render(results))

    publish("scale", "Scale: synthetic data from 100k to 10M interactions", section)


if __name__ == "__main__":
    main()
