"""Load test of ``python -m genre serve``: requests/s and latency at several concurrencies.

Starts the server on a saved run (``RUN_PATH``, from ``python -m genre run CONFIG --save RUN_PATH``)
on a free port, then for each concurrency runs that many client threads for ``--seconds``, each
asking ``GET /users/{id}/recommendations?k=10`` for seeded random users of the run (a share
``--post-share`` of requests posts a 20-item history to ``POST /recommendations`` instead).
Records requests/s, p50/p95/p99 latency, errors, the server's RSS and the machine's load, with
``bench.results.provenance``, in ``bench/serve_results.json`` (``--out`` to change).

    .venv/bin/python bench/serve.py runs/small --seconds 60 --concurrency 1 8 32

On a shared machine keep it short (``--seconds 10``): the numbers then only smoke-test the path.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import psutil

from bench.results import provenance


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            reply.read()
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _rss(pid: int) -> int:
    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


def load_level(base: str, users: list, items: list, concurrency: int, seconds: float, post_share: float,
               seed: int) -> dict:
    """``concurrency`` threads asking as fast as they can for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    stop = time.monotonic() + seconds

    def worker(slot: int) -> None:
        rng = np.random.default_rng([seed, concurrency, slot])
        while time.monotonic() < stop:
            began = time.perf_counter()
            if rng.random() < post_share:
                history = [items[i] for i in rng.choice(len(items), 20, replace=False)]
                status = _get(f"{base}/recommendations", json.dumps({"items": history, "k": 10}).encode())
            else:
                status = _get(f"{base}/users/{users[rng.integers(len(users))]}/recommendations?k=10")
            latencies[slot].append(time.perf_counter() - began)
            errors[slot] += status != 200

    began = time.monotonic()
    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    flat = np.concatenate([np.asarray(x) for x in latencies]) if any(latencies) else np.zeros(0)
    q = (lambda p: round(float(np.percentile(flat, p)) * 1000, 1)) if len(flat) else (lambda p: None)
    return {"concurrency": concurrency, "seconds": round(elapsed, 1), "requests": len(flat),
            "requests_per_s": round(len(flat) / elapsed, 1), "p50_ms": q(50), "p95_ms": q(95), "p99_ms": q(99),
            "errors": int(sum(errors)), "load_average_1m": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_path")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--post-share", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "serve_results.json"))
    args = parser.parse_args()
    run = Path(args.run_path)
    manifest = json.loads((run / "manifest.json").read_text())
    import pandas as pd

    users = pd.read_parquet(run / "dataset/user_ids.parquet")["user_id"].tolist()
    items = pd.read_parquet(run / "dataset/item_ids.parquet")["item_id"].tolist()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    began = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "genre", "serve", str(run), "--port", str(port)], cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        while _get(f"{base}/health") != 200:
            if server.poll() is not None or time.monotonic() - began > 300:
                log.seek(0)
                raise SystemExit(f"the server did not start:\n{log.read().decode()[-1500:]}")
            time.sleep(0.5)
        startup = time.monotonic() - began
        rss_idle = _rss(server.pid)
        levels = []
        for concurrency in args.concurrency:
            level = load_level(base, users, items, concurrency, args.seconds, args.post_share, args.seed)
            level["server_rss_mb"] = round(_rss(server.pid) / 1e6, 1)
            levels.append(level)
            print(json.dumps(level), file=sys.stderr)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    results = {"provenance": provenance(ROOT, {"manifest.json": run / "manifest.json"}, sys.argv),
               "run": {"path": str(run), "bytes": manifest["bytes"], "sizes": manifest["sizes"]},
               "startup_seconds": round(startup, 1), "server_rss_idle_mb": round(rss_idle / 1e6, 1),
               "post_share": args.post_share, "levels": levels}
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
