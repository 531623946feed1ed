"""Scale curve: time and peak memory of every stage of a run at 100k, 1M and 5M interactions.

Run: ``.venv/bin/python bench/scale.py [--sizes 100k 1m 5m] [--nice 10]``

Each size is synthetic MovieLens-shaped data (``bench/synth.py``: 100k/1M/5M interactions over
10k/50k/200k items, ~50 interactions per user) run through one ``genre.pipeline.Experiment``
(temporal split, TF-IDF item text, every classical algorithm, equal weights) in a child process,
so its peak RSS is its own. In the child a sampler thread records the RSS peak of each stage
(load, split, features, fit / score of each algorithm, fuse + evaluate, a weight change); the
parent watches the child's RSS and kills it above ``--max-rss-gb``. Results accumulate in
``bench/scale_results.json`` (one entry per size, so the 5M case can run alone, late), and the
table plus a plot (``bench/scale.html``, ``bench/scale.png`` when kaleido can render) go into
the "scale" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

SIZES = {"100k": (100_000, 10_000), "1m": (1_000_000, 50_000), "5m": (5_000_000, 200_000)}
ALGORITHMS = ["ease", "popularity", "item_knn", "als", "bpr", "content", "genre_pref", "sequential"]
RESULTS_JSON = ROOT / "bench" / "scale_results.json"
DATA_ROOT = Path(os.environ.get("GENRE_SYNTH_DIR", "/tmp/genre-synth"))
_STAGE_OF = [(re.compile(p), s) for p, s in [
    (r"loading.*", "load"), (r"splitting.*", "split"), (r"building item features.*", "features"),
    (r"fitting (\w+)", r"fit \1"), (r"scoring (\w+)", r"score \1"), (r"evaluating.*", "fuse+evaluate")]]


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

    def forget(self, keep: tuple[str, ...]) -> None:
        """Drop every stage but ``keep`` (work that is about to be redone)."""
        with self._lock:
            self.rows = {k: v for k, v in self.rows.items() if k in keep}
            self.stage, self._mark = "start", (time.perf_counter(), time.process_time())

    def progress(self, done: int, total: int, message: str) -> None:
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


def run_child(folder: Path, out: Path, algorithms: list[str]) -> None:
    """One Experiment over ``folder``; writes the per-stage table and what was refused to ``out``."""
    from genre.config import RunConfig
    from genre.errors import ConfigError
    from genre.pipeline import Experiment

    meter = StageMeter()
    refused = {}
    config = RunConfig.from_dict({
        "name": f"scale-{folder.name}", "data": {"source": str(folder)}, "split": {"method": "temporal"},
        "features": {"modalities": [{"name": "text", "fields": ["title", "genres"], "encoder": "tfidf"}]},
        "algorithms": [{"name": a} for a in algorithms], "evaluation": {"ks": [10]},
    })
    experiment = Experiment(config, cache_dir=DATA_ROOT / "cache")
    started = time.perf_counter()
    while True:
        try:
            result = experiment.run(progress=meter.progress)
            break
        except ConfigError as error:  # e.g. EASE refusing a catalog it cannot hold: record, drop, rerun
            name = next((a.name for a in config.algorithms if str(error).startswith(f"{a.name}:")), None)
            if name is None:
                raise
            refused[name] = str(error)
            meter.forget(keep=("load",))  # split and features are redone: count them once
            config.algorithms = [a for a in config.algorithms if a.name != name]
            experiment = Experiment(config, dataset=experiment.dataset_, cache_dir=DATA_ROOT / "cache")
    total = time.perf_counter() - started
    names = list(result.weights)
    meter.enter("weight change")
    experiment.set_weights({n: float(i + 1) for i, n in enumerate(names)})
    stages = meter.close()
    if not experiment.scores_.kept:  # scoring ran inside "fuse+evaluate": show its share (wall s)
        for name, seconds in experiment.scores_.seconds.items():
            stages[f"score {name} (inside weight change)"] = {"wall_s": seconds, "cpu_s": None, "peak_rss_mb": None}
    dataset = experiment.dataset_
    payload = {
        "interactions": int(dataset.n_interactions), "users": int(dataset.n_users), "items": int(dataset.n_items),
        "evaluated_users": int(len(experiment.users_)), "test_users": int(len(experiment.split_.test_users)),
        "stages": stages, "run_wall_s": total, "refused": refused,
        "metrics": {n: {k: result.metrics.loc[n, k] for k in ("ndcg@10", "recall@10")} for n in result.metrics.index},
        "notes": result.notes, "blocks_cached": experiment.blocks_ is not None,
    }
    out.write_text(json.dumps(payload, indent=1, default=float))


# ---------------------------------------------------------------------------- parent
def run_size(label: str, max_rss_gb: float, niceness: int) -> dict:
    """Generate the data if needed, run the child under ``nice``, watch and return its figures."""
    n_interactions, n_items = SIZES[label]
    folder = DATA_ROOT / label
    subprocess.run(["nice", "-n", str(niceness), sys.executable, str(ROOT / "bench" / "synth.py"), str(n_interactions),
                    "--items", str(n_items), "--out", str(folder)], check=True)
    out = DATA_ROOT / f"{label}.json"
    out.unlink(missing_ok=True)
    command = ["nice", "-n", str(niceness), sys.executable, __file__, "--child", str(folder), "--out", str(out)]
    started = time.perf_counter()
    child = subprocess.Popen(command)
    peak = 0.0
    watched = psutil.Process(child.pid)
    while child.poll() is None:
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
                   date=str(dt.date.today()), machine=f"{platform.machine()}, {os.cpu_count()} cores")
    return payload


def render(results: dict) -> str:
    """Markdown: one table of every stage × size (wall s / CPU s / peak RSS MB) plus notes."""
    from bench.plots import scale_figure, save_figure

    labels = [k for k in SIZES if k in results]
    stages = []
    for label in labels:
        stages += [s for s in results[label]["stages"] if s not in stages]
    head = " | ".join(f"{results[k]['interactions']:,} × {results[k]['items']:,}" for k in labels)
    lines = ["Cells: wall s / CPU s / peak RSS MB during the stage (the process's RSS, so it includes "
             "everything still held from earlier stages).", "",
             f"| stage | {head} |", "|---|" + "---|" * len(labels)]
    for stage in stages:
        cells = []
        for label in labels:
            row = results[label]["stages"].get(stage)
            if row and row["cpu_s"] is None:
                cells.append(f"{row['wall_s']:.1f} / – / –")
            else:
                cells.append(f"{row['wall_s']:.1f} / {row['cpu_s']:.1f} / {row['peak_rss_mb']:,.0f}" if row else "—")
        lines.append(f"| {stage} | {' | '.join(cells)} |")
    lines.append(f"| **whole run** (wall s / peak RSS GB of the child) | " + " | ".join(
        f"**{results[k]['process_wall_s']:.0f} / {results[k]['process_peak_rss_gb']:.2f}**" for k in labels) + " |")
    lines.append("")
    for label in labels:
        r = results[label]
        mix = r["metrics"].get("mix", {})
        lines.append(f"- {label} ({r['date']}, {r['machine']}, nice {r.get('nice', 10)}): {r['users']:,} users, "
                     f"{r['evaluated_users']:,} of "
                     f"{r['test_users']:,} test users evaluated, score blocks "
                     f"{'kept in memory' if r['blocks_cached'] else 're-scored per user batch'}; "
                     f"mix NDCG@10 {mix.get('ndcg@10', float('nan')):.4f}.")
        for name, message in r["refused"].items():
            lines.append(f"  - {name} refused: “{message}”")
        for note in r["notes"]:
            if "sample" in note or "score blocks" in note:
                lines.append(f"  - note: {note}")
    largest = results[labels[-1]]
    measured = {k: v for k, v in largest["stages"].items() if v.get("cpu_s") is not None}
    slowest = max(measured, key=lambda k: measured[k]["wall_s"])
    heaviest = max(measured, key=lambda k: measured[k]["peak_rss_mb"])
    lines += ["", f"At {largest['interactions']:,} interactions the slowest stage is {slowest} "
              f"({measured[slowest]['wall_s']:.0f} s wall / {measured[slowest]['cpu_s']:.0f} s CPU) and memory "
              f"peaks during {heaviest} ({measured[heaviest]['peak_rss_mb'] / 1024:.1f} GB); a weight change, "
              f"which re-scores every model for the evaluated users, takes "
              f"{largest['stages']['weight change']['wall_s']:.0f} s there against "
              f"{results[labels[0]]['stages']['weight change']['wall_s']:.1f} s at {labels[0]} (score blocks kept)."]
    figure = scale_figure(results, labels)
    saved = save_figure(figure, ROOT / "bench" / "scale")
    lines += ["", "Plot: " + ", ".join(f"`bench/{p.name}`" for p in saved) + "."]
    if any(p.suffix == ".png" for p in saved):
        lines += ["", "![scale curve](scale.png)"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--max-rss-gb", type=float, default=7.5)
    parser.add_argument("--nice", type=int, default=10, help="niceness of the child (the machine is shared)")
    parser.add_argument("--render-only", action="store_true", help="rebuild the section from the JSON")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--algorithms", nargs="+", default=ALGORITHMS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args.out, args.algorithms)
        return
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    if not args.render_only:
        for label in args.sizes:
            results[label] = run_size(label, args.max_rss_gb, args.nice)
            RESULTS_JSON.write_text(json.dumps(results, indent=1))
            done = results[label]
            print(f"{label}: {done['process_wall_s']:.0f} s, peak {done['process_peak_rss_gb']:.2f} GB",
                  file=sys.stderr)
    from bench.results import write_section

    body = "Command: `.venv/bin/python bench/scale.py [--sizes 100k 1m 5m] [--nice N]` (each size in its own " \
           "child process under `nice`; synthetic data from `bench/synth.py`).\n\n" + render(results)
    write_section(ROOT / "bench" / "RESULTS.md", "scale", "Scale: synthetic data from 100k to 5M interactions", body)
    print(body)


if __name__ == "__main__":
    main()
