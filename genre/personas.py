"""Users as personas, and recommendations as item cards: what the presentation page shows.

A persona is a user summarised for someone who does not read user ids: how many interactions,
the favourite genres (or item tags, when the data has no genres; each count weighed by
log(1 + 1 / the genre's share of all interactions), so Drama does not top every list), the tags they wrote
themselves, and the time span they were active — only when the data has times
(``genre.data.timestamps.has_time``); without them no time words are produced.

``summarise`` works on the whole population at once with numpy / scipy (counts by
``bincount``, favourites as the top entries of a sparse users × genres product, spans by one
grouped min / max), so it stays a few seconds on 10M interactions; text is formatted only for
the page of users shown (``describe``), and ``search`` matches ids and favourites vectorised.

Item cards carry only plain text (control characters removed, descriptions shortened) and
images from files inside the operator's data roots (``genre.paths.confine_path``): never a URL
from the data, never a path that climbs out. The caller still renders the text as plain text.

Examples
--------
>>> import pandas as pd
>>> from genre.data import Dataset
>>> ds = Dataset.from_frame(pd.DataFrame({"user": ["a", "a", "b"], "item": [1, 2, 1]}),
...                         pd.DataFrame({"item_id": [1, 2], "genres": ["Drama", "Drama|Comedy"]}))
>>> personas = summarise(ds)
>>> describe(personas, [0])["label"].iloc[0]
'a · 2 interactions · Comedy, Drama'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from genre.data import Dataset
from genre.data.timestamps import has_time
from genre.encoders.image import IMAGE_SUFFIXES, images_from_zip
from genre.errors import GenreError
from genre.paths import confine_path

#: Favourites kept per user, and the longest description a card shows.
N_FAVOURITES = 3
DESCRIPTION_CHARS = 220
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Personas:
    """Every user's summary as arrays indexed by user index (``Dataset`` order).

    ``top_genres`` / ``top_tags`` hold up to ``N_FAVOURITES`` indices into ``genre_names`` /
    ``tag_names`` per user, padded with -1; ``first`` / ``last`` are None without timestamps.
    """

    user_ids: np.ndarray
    n_interactions: np.ndarray
    genre_names: np.ndarray
    top_genres: np.ndarray
    tag_names: np.ndarray
    top_tags: np.ndarray
    first: np.ndarray | None
    last: np.ndarray | None
    genre_word: str = "genres"

    @property
    def n_users(self) -> int:
        return len(self.user_ids)


def clean_text(value: Any, limit: int | None = None) -> str:
    """``value`` as one line of plain text: missing → "", control and format characters (NUL,
    bidi overrides, zero-width) removed, whitespace collapsed, cut at a word near ``limit``."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = "".join(ch for ch in str(value) if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\t\n")
    text = _SPACES.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
        text = cut.rstrip(" ,.;:") + "…"
    return text


def _top_per_row(matrix: sp.spmatrix, n: int) -> np.ndarray:
    """The column indices of each row's ``n`` largest positive values (ties: lower column), -1 padded."""
    coo = sp.coo_matrix(matrix)
    keep = coo.data > 0
    rows, cols, data = coo.row[keep], coo.col[keep], coo.data[keep]
    order = np.lexsort((cols, -data, rows))
    rows, cols = rows[order], cols[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    out = np.full((matrix.shape[0], n), -1, dtype=np.int32)
    inside = rank < n
    out[rows[inside], rank[inside]] = cols[inside]
    return out


def _item_categories(items: pd.DataFrame) -> tuple[pd.Series, str]:
    """Each item's category list: its genres, else its (comma-separated) item tags, else none."""
    genres = items["genres"] if "genres" in items.columns else pd.Series([[]] * len(items))
    if genres.map(len).sum() > 0 or "tags" not in items.columns:
        return genres.reset_index(drop=True), "genres"
    tags = items["tags"].fillna("").astype(str).str.split(",")
    return tags.map(lambda parts: [t.strip() for t in parts if t.strip()]).reset_index(drop=True), "tags"


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, names = pd.factorize(values.map(clean_text), sort=True)
    return codes, np.asarray(names, dtype=object)


def summarise(dataset: Dataset, n: int = N_FAVOURITES) -> Personas:
    """Every user's persona, vectorised over the whole population (module docstring)."""
    frame = dataset.interactions
    users, items = frame["user"].to_numpy(), frame["item"].to_numpy()
    counts = np.bincount(users, minlength=dataset.n_users)
    categories, word = _item_categories(dataset.items)
    exploded = categories.explode().dropna()
    exploded = exploded[exploded.map(clean_text) != ""]
    codes, genre_names = _codes(exploded)
    item_genre = sp.csr_matrix((np.ones(len(codes), dtype=np.float32), (exploded.index.to_numpy(), codes)),
                               shape=(dataset.n_items, len(genre_names)))
    user_item = sp.csr_matrix((np.ones(len(users), dtype=np.float32), (users, items)),
                              shape=(dataset.n_users, dataset.n_items))
    per_genre = user_item @ item_genre
    share = np.asarray(per_genre.sum(axis=0)).ravel() / max(len(users), 1)
    distinct = np.log1p(1.0 / np.maximum(share, 1e-9)).astype(np.float32)  # what sets a user apart counts more
    top_genres = _top_per_row(per_genre @ sp.diags(distinct), n)
    tags = dataset.tags
    if tags is not None and len(tags):
        tag_codes, tag_names = _codes(tags["tag"].str.lower())
        valid = tag_names != ""
        user_tag = sp.csr_matrix((valid[tag_codes].astype(np.float32), (tags["user"].to_numpy(), tag_codes)),
                                 shape=(dataset.n_users, len(tag_names)))
        top_tags = _top_per_row(user_tag, n)
    else:
        tag_names, top_tags = np.array([], dtype=object), np.full((dataset.n_users, n), -1, dtype=np.int32)
    first = last = None
    if has_time(frame):
        span = frame.groupby("user", sort=True)["timestamp"].agg(["min", "max"]).reindex(range(dataset.n_users))
        first, last = span["min"].fillna(0).to_numpy(np.int64), span["max"].fillna(0).to_numpy(np.int64)
    return Personas(user_ids=np.asarray(dataset.user_ids), n_interactions=counts, genre_names=genre_names,
                    top_genres=top_genres, tag_names=tag_names, top_tags=top_tags, first=first, last=last,
                    genre_word=word)


def search(personas: Personas, query: str = "", limit: int = 50) -> np.ndarray:
    """User indices whose id, favourite genres or tags contain ``query`` (case-insensitive; all users
    when blank), most active first (ties: lower index), at most ``limit``."""
    query = clean_text(query).lower()
    if query:
        ids = pd.Series(personas.user_ids).astype(str).str.lower().str.contains(query, regex=False).to_numpy()
        genres = np.flatnonzero(pd.Series(personas.genre_names, dtype=object).str.lower()
                                .str.contains(query, regex=False).to_numpy())
        tags = np.flatnonzero(pd.Series(personas.tag_names, dtype=object).str.lower()
                              .str.contains(query, regex=False).to_numpy())
        hits = ids | np.isin(personas.top_genres, genres).any(axis=1) | np.isin(personas.top_tags, tags).any(axis=1)
        candidates = np.flatnonzero(hits)
    else:
        candidates = np.arange(personas.n_users)
    order = np.lexsort((candidates, -personas.n_interactions[candidates]))
    return candidates[order][:limit]


def find_user(personas: Personas, raw: Any) -> int | None:
    """The index of the user whose id reads as ``raw`` (a URL carries ids as text), else None."""
    text = str(raw)
    matches = np.flatnonzero(pd.Series(personas.user_ids).astype(str).to_numpy() == text)
    return int(matches[0]) if len(matches) else None


def time_span(first: int, last: int) -> str:
    """"Mar 2015 – Jun 2018" (one month: "Jun 2018") from two epoch seconds."""
    start, end = (pd.Timestamp(int(t), unit="s").strftime("%b %Y") for t in (first, last))
    return start if start == end else f"{start} – {end}"


def describe(personas: Personas, users: Iterable[int]) -> pd.DataFrame:
    """One row of display text per user index of ``users`` (a page of them): ``user_id``,
    ``interactions``, ``genres``, ``tags``, ``active`` ("" without timestamps) and ``label``."""
    users = np.asarray(list(users), dtype=np.int64)
    rows = []
    for u in users:  # a page of users, never the whole population
        genres = [personas.genre_names[j] for j in personas.top_genres[u] if j >= 0]
        tags = [personas.tag_names[j] for j in personas.top_tags[u] if j >= 0]
        active = time_span(personas.first[u], personas.last[u]) if personas.first is not None else ""
        count = int(personas.n_interactions[u])
        parts = [clean_text(personas.user_ids[u], 40), f"{count:,} interaction{'s' if count != 1 else ''}",
                 ", ".join(genres)]
        parts += [f"tags: {', '.join(tags)}" if tags else "", f"active {active}" if active else ""]
        rows.append({"user": int(u), "user_id": personas.user_ids[u], "interactions": count,
                     "genres": ", ".join(genres), "tags": ", ".join(tags), "active": active,
                     "label": " · ".join(p for p in parts if p)})
    return pd.DataFrame(rows, columns=["user", "user_id", "interactions", "genres", "tags", "active", "label"])


# ---------------------------------------------------------------------------------- item cards
def held_out_badge(split_method: str, interactions: pd.DataFrame) -> str:
    """What to call a recommended item the user really took in TEST: "watched later" when the
    split held out each user's later interactions by time, else "in their held-out items"."""
    timed = split_method in ("temporal", "leave_last_out") and has_time(interactions)
    return "watched later" if timed else "in their held-out items"


def image_file(value: Any) -> str | None:
    """A local image file inside the data roots named by ``value``, else None (URLs refused)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        path = confine_path(value.strip(), what="image")
    except GenreError:
        return None
    return str(path) if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() else None


def _from_folder(folder: Path, item_id: Any) -> str | None:
    name = str(item_id)
    if not name or Path(name).name != name or name in (".", "..") or "\0" in name:
        return None  # an id that is no plain file name never becomes a path
    for suffix in IMAGE_SUFFIXES:
        found = image_file(str(folder / f"{name}{suffix}"))
        if found:
            return found
    return None


def item_images(dataset: Dataset, item_ids: list, sources: Iterable[Any] = ()) -> list[str | bytes | None]:
    """An image per item of ``item_ids``: a file path (the item table's ``image`` column, or a folder
    of images named by item id) or bytes (a zip of them) — only inside the data roots — else None.

    ``sources`` are image folders or zips a run's modalities name (``params["images"]``).
    """
    found: list[str | bytes | None] = [None] * len(item_ids)
    if "image" in dataset.items.columns and len(item_ids):
        column = dataset.items["image"].to_numpy()[dataset.item_index(list(item_ids))]
        found = [image_file(v) for v in column]
    for source in sources:
        missing = [i for i, f in enumerate(found) if f is None]
        if not missing or not isinstance(source, (str, Path)):
            continue
        try:
            root = confine_path(str(source), what="images")
        except GenreError:
            continue
        if root.is_dir():
            for i in missing:
                found[i] = _from_folder(root, item_ids[i])
        elif root.is_file():
            try:
                zipped = images_from_zip(str(root), [item_ids[i] for i in missing])
            except GenreError:
                continue
            for i in missing:
                found[i] = zipped.get(item_ids[i])
    return found


def descriptions(dataset: Dataset, item_ids: list, enrichment: pd.DataFrame | None = None) -> list[str]:
    """A short plain-text description per item: the data's ``description`` column, else text a
    language model wrote (``enrichment``: ``item_id``, ``text``), else ""."""
    own = [""] * len(item_ids)
    if "description" in dataset.items.columns and len(item_ids):
        own = [clean_text(v, DESCRIPTION_CHARS)
               for v in dataset.items["description"].to_numpy()[dataset.item_index(list(item_ids))]]
    if enrichment is not None and len(enrichment) and {"item_id", "text"} <= set(enrichment.columns):
        written = dict(zip(enrichment["item_id"].astype(str), enrichment["text"]))
        own = [text or clean_text(written.get(str(i)), DESCRIPTION_CHARS) for text, i in zip(own, item_ids)]
    return [text + "…" if text and text[-1].isalnum() else text for text in own]  # text cut off mid-sentence


def cards(dataset: Dataset, recs: pd.DataFrame, enrichment: pd.DataFrame | None = None,
          image_sources: Iterable[Any] = (), marked: Iterable[Any] = ()) -> pd.DataFrame:
    """One card per row of ``TrainedRun.recommend``'s frame: ``rank``, ``item_id``, ``title``,
    ``genres`` (plain text), ``description``, ``image`` (path, bytes or None), ``because`` (list of
    titles), ``explained_by``, ``shared_genres``, ``held_out`` (bool) and ``shared`` (the item is in ``marked``)."""
    ids = recs["item_id"].tolist()
    marked = {str(m) for m in marked}
    return pd.DataFrame({
        "rank": recs["rank"].to_numpy() if "rank" in recs else np.arange(1, len(recs) + 1),
        "item_id": ids,
        "title": [clean_text(t, 120) or clean_text(i) for t, i in zip(recs["title"], ids)],
        "genres": [", ".join(clean_text(g) for g in gs) for gs in recs["genres"]],
        "description": descriptions(dataset, ids, enrichment),
        "image": pd.Series(item_images(dataset, ids, image_sources), dtype=object),  # None stays None
        "because": [[clean_text(t, 60) for t in b] for b in recs["because"]] if "because" in recs
        else [[] for _ in ids],
        "explained_by": recs["explained_by"].tolist() if "explained_by" in recs else [None] * len(ids),
        "shared_genres": [[clean_text(g) for g in gs] for gs in recs["shared_genres"]] if "shared_genres" in recs
        else [[] for _ in ids],
        "held_out": recs["held_out"].astype(bool).tolist() if "held_out" in recs else [False] * len(ids),
        "shared": [str(i) in marked for i in ids],
    })


def shared_items(left: Iterable[Any], right: Iterable[Any]) -> list:
    """The item ids two lists share, in ``left``'s order."""
    other = {str(i) for i in right}
    return [i for i in left if str(i) in other]
