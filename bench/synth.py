"""Synthetic MovieLens-shaped data for scale benchmarks.

Run: ``.venv/bin/python bench/synth.py 1000000 --items 50000 --out /tmp/genre-synth/1m``

What makes it look like real interaction logs (and stress the same code paths):

- user activity is power-law (Pareto, at least 5 interactions so every user is evaluated);
- item popularity is Zipf-like (exponent 0.9) over a shuffled item order;
- each user has a favourite genre: half of their interactions come from that genre's items
  (by popularity), half from the whole catalog, so genre and content models have signal;
- item titles are built from a vocabulary (genre-specific words + general words + a year),
  genres are 1–3 of 20 names, timestamps are spread over each user's own active period.

Writes ``ratings.csv`` (userId,movieId,rating,timestamp) and ``movies.csv``
(movieId,title,genres) in MovieLens layout, so ``genre.data.load_dataset(folder)`` reads it
through the real MovieLens preset.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
          "War", "Western", "IMAX", "Biography"]
_SYLLABLES = ["ka", "lo", "mi", "ra", "ten", "vos", "dar", "el", "qui", "nor", "sa", "bel", "tor",
              "an", "ve", "lin", "mor", "gra", "zu", "fe", "ho", "pri", "das", "o"]
_RATINGS = np.arange(1, 11) / 2.0
_RATING_P = np.array([1, 2, 2, 5, 6, 15, 14, 25, 12, 18], dtype=float)


def _vocabulary(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` distinct pseudo-words of 2–3 syllables."""
    words: set[str] = set()
    while len(words) < size:
        n = rng.integers(2, 4, size=size)
        for count in n:
            words.add("".join(rng.choice(_SYLLABLES, size=count)).capitalize())
    return np.array(sorted(words)[:size])


def make_items(n_items: int, rng: np.random.Generator) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Item table (movieId, title, genres) and, per genre, the item indices that have it."""
    genre_p = 1.0 / np.arange(1, len(GENRES) + 1) ** 0.7
    genre_p /= genre_p.sum()
    n_genres = rng.integers(1, 4, size=n_items)
    first = rng.choice(len(GENRES), size=n_items, p=genre_p)
    extra = rng.choice(len(GENRES), size=(n_items, 2), p=genre_p)
    general = _vocabulary(rng, 4000)
    per_genre = [_vocabulary(np.random.default_rng(1000 + g), 60) for g in range(len(GENRES))]
    word_p = 1.0 / np.arange(1, len(general) + 1) ** 0.8
    word_p /= word_p.sum()
    n_words = rng.integers(1, 4, size=n_items)
    words = general[rng.choice(len(general), size=(n_items, 3), p=word_p)]
    genre_word = rng.integers(0, 60, size=n_items)
    years = rng.integers(1920, 2024, size=n_items)
    titles, genre_lists = [], []
    members: list[list[int]] = [[] for _ in GENRES]
    for i in range(n_items):
        chosen = list(dict.fromkeys([first[i], *extra[i, : n_genres[i] - 1]]))
        for g in chosen:
            members[g].append(i)
        genre_lists.append("|".join(GENRES[g] for g in chosen))
        titles.append(" ".join([per_genre[first[i]][genre_word[i]], *words[i, : n_words[i]]]) + f" ({years[i]})")
    items = pd.DataFrame({"movieId": np.arange(1, n_items + 1), "title": titles, "genres": genre_lists})
    return items, [np.array(m, dtype=np.int64) for m in members]


def _activity(n_users: int, n_interactions: int, n_items: int, rng: np.random.Generator) -> np.ndarray:
    """Interactions per user: Pareto-tailed, at least 5, at most a quarter of the catalog."""
    raw = rng.pareto(1.3, size=n_users) + 1.0
    cap = max(5, n_items // 4)
    counts = np.clip(raw * (n_interactions / raw.sum()), 5, cap)
    for _ in range(5):  # clipping moved the total: rescale the unclipped part
        counts = np.clip(counts * (n_interactions / counts.sum()), 5, cap)
    return np.maximum(np.round(counts).astype(np.int64), 5)


def _draw(users: np.ndarray, favourite: np.ndarray, popularity: np.ndarray, members: list[np.ndarray],
          rng: np.random.Generator) -> np.ndarray:
    """One item per entry of ``users``: half from the user's favourite genre, half from all."""
    items = rng.choice(len(popularity), size=len(users), p=popularity)
    in_genre = rng.random(len(users)) < 0.5
    genre_of = favourite[users]
    for g, pool in enumerate(members):
        rows = np.flatnonzero(in_genre & (genre_of == g))
        if len(rows) and len(pool):
            p = popularity[pool] / popularity[pool].sum()
            items[rows] = pool[rng.choice(len(pool), size=len(rows), p=p)]
    return items


def generate(n_interactions: int, n_items: int, *, n_users: int | None = None,
             seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MovieLens-layout ``(ratings, movies)`` frames with about ``n_interactions`` distinct pairs.

    ``n_users`` defaults to ``n_interactions // 50`` (ml-latest-small has ~165 per user but a
    long tail; 50 keeps the user count, and so the evaluation, growing with the data).
    """
    rng = np.random.default_rng(seed)
    n_users = n_users or max(10, n_interactions // 50)
    items, members = make_items(n_items, rng)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    popularity = popularity[rng.permutation(n_items)]
    popularity /= popularity.sum()
    favourite = rng.choice(len(GENRES), size=n_users, p=np.array([len(m) for m in members]) / sum(map(len, members)))
    wanted = _activity(n_users, n_interactions, n_items, rng)
    pairs = np.zeros(0, dtype=np.int64)
    deficit = wanted.copy()
    for _ in range(6):  # duplicates are dropped: top users up until the target is (nearly) met
        users = np.repeat(np.arange(n_users), np.ceil(deficit * 1.1).astype(np.int64))
        keys = users * n_items + _draw(users, favourite, popularity, members, rng)
        pairs = np.unique(np.concatenate([pairs, keys]))
        have = np.bincount(pairs // n_items, minlength=n_users)
        deficit = np.maximum(wanted - have, 0)
        if deficit.sum() < 0.001 * n_interactions:
            break
    user, item = pairs // n_items, pairs % n_items
    keep = _trim(user, wanted, rng)
    user, item = user[keep], item[keep]
    start = rng.uniform(1.1e9, 1.6e9, size=n_users)
    span = rng.exponential(2e7, size=n_users)
    timestamps = (start[user] + rng.random(len(user)) * span[user]).astype(np.int64)
    ratings = rng.choice(_RATINGS, size=len(user), p=_RATING_P / _RATING_P.sum())
    frame = pd.DataFrame({"userId": user + 1, "movieId": item + 1, "rating": ratings, "timestamp": timestamps})
    return frame, items


def _trim(user: np.ndarray, wanted: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row mask keeping at most ``wanted[u]`` random rows of each user (``user`` sorted)."""
    order = np.lexsort((rng.random(len(user)), user))
    rank = np.arange(len(user)) - np.searchsorted(user[order], user[order])
    keep = np.zeros(len(user), dtype=bool)
    keep[order[rank < wanted[user[order]]]] = True
    return keep


def write(folder: Path, n_interactions: int, n_items: int, seed: int = 0) -> Path:
    """Generate and write ``ratings.csv`` + ``movies.csv`` under ``folder`` (reused if present)."""
    folder = Path(folder)
    if (folder / "ratings.csv").exists() and (folder / "movies.csv").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    ratings, movies = generate(n_interactions, n_items, seed=seed)
    ratings.to_csv(folder / "ratings.csv.tmp", index=False)
    movies.to_csv(folder / "movies.csv", index=False)
    (folder / "ratings.csv.tmp").replace(folder / "ratings.csv")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("interactions", type=int)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    folder = write(args.out, args.interactions, args.items, args.seed)
    ratings = pd.read_csv(folder / "ratings.csv")
    print(f"{folder}: {len(ratings):,} interactions, {ratings['userId'].nunique():,} users, "
          f"{ratings['movieId'].nunique():,} items in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
