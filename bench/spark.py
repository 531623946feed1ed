"""Spark bench: ``engine: spark`` on local[2] at 1M / 5M / 20M synthetic interactions, stage by stage.

Run: ``.venv/bin/python bench/spark.py [--sizes 1m 5m 20m] [--configs bench tuned_mix_spark] [--nice 10] [--local]
[--render-only]``

Each size is ``bench/synth.py`` data (MovieLens layout; ~50 interactions per user; 50k / 200k /
200k items), its ratings.csv streamed into Parquet in 1M-row chunks (Spark reads Parquet typed
and splittable; the 20M CSV never sits in memory at once). A child process runs what
``python -m genre run CONFIG --engine spark --master local[2]`` runs (``run_on_spark``) with
popularity + item_knn + ALS — the bench config below, or a committed config
(``--configs tuned_mix_spark``: ``configs/tuned_mix_spark.yaml`` as it is, on the size's data, as
``python -m genre run configs/tuned_mix_spark.yaml --engine spark --master local[2] --data …`` runs it); a sampler records, per stage, wall seconds and the peak RSS of
the driver's Python process and of the JVM (in local mode the driver and its executors are
one JVM: "driver + executors"). With ``--local`` the same config also runs on the local
engine in its own child (wall and peak RSS), where it fits. Results go to
``bench/spark_results.json`` after each size (argv, commit, date, input hashes; re-running some
sizes keeps the others) and the RESULTS.md "spark" section is rendered from that JSON alone.
A size is resumable: its data and Parquet are reused, its figures replaced when it finishes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import yaml  # noqa: E402

from bench.scale import _git, _sha256  # noqa: E402

#: label → (interactions, items)
SIZES = {"1m": (1_000_000, 50_000), "5m": (5_000_000, 200_000), "20m": (20_000_000, 200_000)}
RESULTS_JSON = ROOT / "bench" / "spark_results.json"
DATA_ROOT = Path(os.environ.get("GENRE_SYNTH_DIR", "/tmp/genre-synth"))
CHUNK_ROWS = 1_000_000


#: Configs a size can run: the bench's own (below), or committed ones by name (configs/NAME.yaml).
COMMITTED = ("tuned_mix_spark",)


def run_config(name: str, parquet: Path, output: Path) -> dict:
    """The benchmarked config (as YAML would hold it): ``name``'s, on ``parquet``, writing ``output``."""
    if name in COMMITTED:
        from genre.config import dump_config, load_config

        config = yaml.safe_load(dump_config(load_config(ROOT / "configs" / f"{name}.yaml")))
        config["data"]["source"] = str(parquet / "*.parquet")  # what --data does
        config["spark"].update(master="local[2]", output=str(output))
        return {**config, "engine": "spark"}
    return {
        "name": f"spark-{parquet.parent.name}", "data": {"source": str(parquet / "*.parquet")},
        "split": {"method": "temporal"}, "features": {"modalities": []},
        "algorithms": [{"name": "popularity", "weight": 0.2},
                       {"name": "item_knn", "params": {"k": 50}},
                       {"name": "als", "params": {"factors": 32, "iterations": 5}}],
        "fusion": {"candidates": 50}, "evaluation": {"ks": [10], "max_users": 5000},
        "engine": "spark",
        "spark": {"master": "local[2]", "driver_memory": "6g", "shuffle_partitions": 16, "knn_history": 50,
                  "output": str(output)},
    }


def to_parquet(csv: Path, folder: Path) -> Path:
    """Stream ``csv`` into ``folder/part-NNNNN.parquet`` files of ``CHUNK_ROWS`` rows (reused if done)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    done = folder / "_DONE"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    reader = pacsv.open_csv(csv, read_options=pacsv.ReadOptions(block_size=64 << 20))
    part, buffer, rows = 0, [], 0
    for batch in reader:
        buffer.append(batch)
        rows += batch.num_rows
        if rows >= CHUNK_ROWS:
            pq.write_table(_table(buffer), folder / f"part-{part:05d}.parquet")
            part, buffer, rows = part + 1, [], 0
    if buffer:
        pq.write_table(_table(buffer), folder / f"part-{part:05d}.parquet")
    done.write_text("ok")
    return folder


def _table(batches: list):
    import pyarrow as pa

    return pa.Table.from_batches(batches)


# ---------------------------------------------------------------------------- child
class Sampler:
    """Peak RSS of this process and of its JVM (the java child) per stage, sampled every 0.2 s."""

    def __init__(self):
        self.me = psutil.Process()
        self.stage, self.mark, self.rows = "start spark", time.perf_counter(), {}
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _rss(self) -> tuple[float, float]:
        jvm = 0.0
        for child in self.me.children(recursive=True):
            try:
                if "java" in child.name():
                    jvm += child.memory_info().rss
            except psutil.Error:
                continue
        return self.me.memory_info().rss / 2**20, jvm / 2**20

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._update()

    def _update(self) -> None:
        python, jvm = self._rss()
        row = self.rows.setdefault(self.stage, {"wall_s": 0.0, "python_peak_mb": 0.0, "jvm_peak_mb": 0.0})
        row["python_peak_mb"], row["jvm_peak_mb"] = max(row["python_peak_mb"], python), max(row["jvm_peak_mb"], jvm)

    def progress(self, done: int, total: int, message: str) -> None:
        """Stage start (the run's progress message): the previous stage's time closes."""
        self._update()
        now = time.perf_counter()
        self.rows.setdefault(self.stage, {"wall_s": 0.0, "python_peak_mb": 0.0, "jvm_peak_mb": 0.0})
        self.rows[self.stage]["wall_s"] += now - self.mark
        self.stage, self.mark = message, now
        print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)

    def close(self) -> dict:
        self.progress(0, 0, "end")
        self._stop.set()
        self.rows.pop("end", None)
        return self.rows


def child_spark(config_path: Path, out: Path) -> None:
    from genre.config import load_config
    from genre.spark import run_on_spark

    started = time.perf_counter()
    sampler = Sampler()
    result = run_on_spark(load_config(config_path), progress=sampler.progress)
    wall = time.perf_counter() - started
    stages = sampler.close()
    mix = result.metrics.loc["mix"]
    halves = result.intervals.loc["mix"]
    out.write_text(json.dumps({"wall_s": wall, "stages": stages, "timings": result.timings, "notes": result.notes,
                               "metrics": {name: {"ndcg@10": float(result.metrics.loc[name, "ndcg@10"]),
                                                  "recall@10": float(result.metrics.loc[name, "recall@10"])}
                                           for name in result.metrics.index},
                               "mix_interval": {"ndcg@10": float(halves["ndcg@10"])},
                               "mix_ndcg": float(mix["ndcg@10"])}, indent=1))


def local_source(folder: Path) -> Path:
    """What the local engine reads: ratings.csv, or — over the local reader's per-file limit (20M: 560 MB
    of CSV) — the same rows as one Parquet file (written once from the Spark input's parts)."""
    import pyarrow.parquet as pq

    from genre.data.readers import DEFAULT_MAX_BYTES

    csv = folder / "ratings.csv"
    if csv.stat().st_size <= DEFAULT_MAX_BYTES:
        return csv
    single = folder / "ratings.parquet"
    if not single.exists():
        parts = sorted((folder / "parquet").glob("part-*.parquet"))
        with pq.ParquetWriter(single.with_suffix(".tmp"), pq.read_schema(parts[0])) as writer:
            for part in parts:
                writer.write_table(pq.read_table(part))
        single.with_suffix(".tmp").replace(single)
    return single


def child_local(config_path: Path, out: Path) -> None:
    from genre.config import load_config
    from genre.run import Experiment

    config = load_config(config_path)
    config.engine = "local"
    config.data.source = str(local_source(Path(config.spark.output).parent))
    started = time.perf_counter()
    result = Experiment(config).run()
    out.write_text(json.dumps({"wall_s": time.perf_counter() - started, "timings": result.timings,
                               "source": Path(config.data.source).name,
                               "peak_rss_mb": psutil.Process().memory_info().rss / 2**20,
                               "metrics": {name: {"ndcg@10": float(result.metrics.loc[name, "ndcg@10"]),
                                                  "recall@10": float(result.metrics.loc[name, "recall@10"])}
                                           for name in result.metrics.index}}, indent=1))


# ---------------------------------------------------------------------------- parent
def _watch(command: list[str]) -> tuple[int, float, float]:
    """Run ``command``; (status, wall s, peak RSS GB of it and its children)."""
    started, peak = time.perf_counter(), 0.0
    child = subprocess.Popen(command)
    watched = psutil.Process(child.pid)
    while child.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [watched, *watched.children(recursive=True)]) / 2**30
        except psutil.Error:
            rss = 0.0
        peak = max(peak, rss)
        time.sleep(0.5)
    return child.returncode, time.perf_counter() - started, peak


def tag_of(label: str, name: str) -> str:
    """A run's key in the JSON: the size, then the config unless it is the bench's own."""
    return label if name == "bench" else f"{label}-{name}"


def _provenance(niceness: int) -> dict:
    """When, where and from which code a child ran (the commit at its start: the code it imported)."""
    return {"nice": niceness, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                       f"{psutil.virtual_memory().total / 2**30:.0f} GB",
            "argv": sys.argv, "commit": _git("rev-parse", "HEAD"),
            "uncommitted": _git("status", "--porcelain", "--", "genre", "bench/spark.py").splitlines()}


def run_size(label: str, name: str, niceness: int, local: bool, previous: dict | None = None) -> tuple[str, dict]:
    """Run ``name`` at ``label`` on Spark (unless ``previous`` holds that run) and, with ``local``, locally."""
    n_interactions, n_items = SIZES[label]
    folder = DATA_ROOT / label
    tag = tag_of(label, name)
    subprocess.run(["nice", "-n", str(niceness), sys.executable, str(ROOT / "bench" / "synth.py"), str(n_interactions),
                    "--items", str(n_items), "--out", str(folder)], check=True)
    parquet = to_parquet(folder / "ratings.csv", folder / "parquet")
    config_path = DATA_ROOT / f"spark-{tag}.yaml"
    config = run_config(name, parquet, folder / f"spark-topk-{name}")
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    nice = ["nice", "-n", str(niceness), sys.executable, __file__]
    if previous is None:
        out = DATA_ROOT / f"spark-{tag}.json"
        out.unlink(missing_ok=True)
        provenance = _provenance(niceness)
        status, wall, peak = _watch([*nice, "--child", "spark", str(config_path), str(out)])
        if status != 0:
            raise SystemExit(f"{label}: the Spark child failed with status {status}")
        payload = json.loads(out.read_text())
        payload.update(process_wall_s=wall, process_peak_rss_gb=peak, config=config, size=label, config_name=name,
                       load_average_after=os.getloadavg()[0], **provenance,
                       input_sha256={"ratings.csv": _sha256(folder / "ratings.csv")},
                       data=f"bench/synth.py {n_interactions} --items {n_items} --seed 0")
    else:
        payload = previous
    if local:
        local_out = DATA_ROOT / f"spark-{tag}-local.json"
        provenance = _provenance(niceness)
        status, wall, peak = _watch([*nice, "--child", "local", str(config_path), str(local_out)])
        payload["local"] = ({**json.loads(local_out.read_text()), "process_wall_s": wall, "process_peak_rss_gb": peak,
                             "load_average_after": os.getloadavg()[0], **provenance}
                            if status == 0 else {"failed": status, **provenance})
    return tag, payload


def describe(config: dict) -> str:
    """One line for a run's config: algorithms (weights, parameters), candidates, kNN history, evaluated users."""
    parts = []
    for algo in config["algorithms"]:
        params = ", ".join(f"{k} {v}" for k, v in algo.get("params", {}).items())
        parts.append(f"{algo['name']} ({algo.get('weight', 1.0):g}{'; ' + params if params else ''})")
    evaluation = config.get("evaluation", {})
    return (f"{' + '.join(parts)}; {config['fusion'].get('candidates', 100)} candidates; item-kNN similarities from "
            f"each user's latest {config['spark'].get('knn_history', 200)} interactions; metrics on a seeded sample of "
            f"{evaluation.get('max_users', 20_000):,} test users")


def _order(tag: str) -> tuple:
    size, _, name = tag.partition("-")
    return SIZES[size][0], name


def render(results: dict) -> str:
    """The RESULTS.md section, from the JSON alone."""
    configs = {run["config_name"]: run["config"] for run in results.values()}
    lines = ["`python bench/spark.py` — `engine: spark` on `local[2]` (one JVM: driver and executors) on this "
             "2-core machine; the load average is in the JSON. Every user's top-k list is written to Parquet. "
             "Peak RSS per stage: Python driver / JVM. Configs:", ""]
    lines += [f"- **{name}**: {describe(config)}." for name, config in configs.items()]
    lines += ["", "| size | config | stage | wall s | Python MB | JVM MB |", "|---|---|---|---:|---:|---:|"]
    for run in results.values():
        size, name = run["size"], run["config_name"]
        for stage, row in run["stages"].items():
            lines.append(f"| {size} | {name} | {stage} | {row['wall_s']:.0f} | {row['python_peak_mb']:,.0f} | "
                         f"{row['jvm_peak_mb']:,.0f} |")
        lines.append(f"| {size} | {name} | **whole run** | **{run['process_wall_s']:.0f}** | | "
                     f"**{run['process_peak_rss_gb'] * 1024:,.0f}** (all processes) |")
    lines += ["", "| size | config | engine | wall s | peak RSS GB | mix NDCG@10 |", "|---|---|---|---:|---:|---:|"]
    for run in results.values():
        size, name = run["size"], run["config_name"]
        lines.append(f"| {size} | {name} | spark local[2] | {run['process_wall_s']:.0f} | "
                     f"{run['process_peak_rss_gb']:.1f} | {run['metrics']['mix']['ndcg@10']:.4f} ± "
                     f"{run['mix_interval']['ndcg@10']:.4f} |")
        local = run.get("local")
        if local and "failed" not in local:
            lines.append(f"| {size} | {name} | local | {local['process_wall_s']:.0f} | "
                         f"{local['process_peak_rss_gb']:.1f} | {local['metrics']['mix']['ndcg@10']:.4f} |")
    lines.append("")
    for tag, run in results.items():
        lines.append(f"- {tag}: {run['date']}, commit {run['commit'][:10]}, data `{run['data']}` (ratings.csv sha256 "
                     f"{run['input_sha256']['ratings.csv'][:12]}…), load average {run['load_average_after']:.1f} after.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--configs", nargs="+", default=["bench"], choices=["bench", *COMMITTED])
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument("--local", action="store_true", help="also run the local engine on the same config")
    parser.add_argument("--local-only", action="store_true",
                        help="keep the recorded Spark run of each size and config; (re)run the local engine beside it")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "CONFIG", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, config_path, out = args.child
        (child_spark if engine == "spark" else child_local)(Path(config_path), Path(out))
        return
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    if not args.render_only:
        for label in args.sizes:
            for name in args.configs:
                tag = tag_of(label, name)
                previous = results.get(tag) if args.local_only else None
                if args.local_only and previous is None:
                    raise SystemExit(f"--local-only: no recorded Spark run of {tag} to put the local run beside")
                tag, results[tag] = run_size(label, name, args.nice, args.local or args.local_only, previous)
                RESULTS_JSON.write_text(json.dumps(dict(sorted(results.items(), key=lambda kv: _order(kv[0]))),
                                                   indent=1))
    if results:
        from bench.readme import publish

        publish("spark", "Spark engine (bench/spark.py)", render)  # RESULTS.md + docs/spark.md, from the sorted JSON


if __name__ == "__main__":
    main()
