"""Which column is which, guessed from names in any domain's spelling, and from values.

Logs come as ``userId``, ``User-ID``, ``visitorid``, ``reviewerID``; ``artistID``, ``asin``,
``ISBN``, ``business_id``; ``plays``, ``Book-Rating``, ``overall``. Names are compared as
lowercase letters and digits (``User-ID`` → ``userid``), and every field ranks the names it
recognises in tiers (the plain word, then a domain word with an id suffix, then looser
spellings); the best tier wins, ties go to the leftmost column. ``guess_tables`` also pairs an
item table whose id column is plain ``id`` with the interactions' item column by matching
values, and says in one line what it picked and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from genre.data.columns import ColumnMapping

INTERACTION_FIELDS = ("user", "item", "rating", "timestamp")
ITEM_FIELDS = ("item_id", "title", "genres", "tags", "description", "image")

_ID = ("id", "ids", "key", "code", "no", "num", "number", "idx", "index", "sha1", "hash", "mbid", "token")
_USERS = ("customer", "visitor", "reviewer", "member", "client", "buyer", "listener", "reader", "viewer",
          "player", "learner", "student", "person", "account", "subscriber", "shopper", "guest", "patron")
#: What people interact with, by domain (also their plurals).
DOMAINS = ("product", "movie", "film", "artist", "track", "song", "album", "book", "video", "news", "article",
           "post", "restaurant", "business", "course", "job", "game", "app", "recipe", "place", "hotel",
           "venue", "poi", "anime", "show", "series", "episode", "podcast", "story", "question", "paper",
           "repo", "photo", "image", "music", "beer", "wine", "listing", "offer", "ad")
_ID_ONLY = ("content", "doc", "document", "page", "object", "target", "resource", "entity", "asset")
_ITEM_CODES = ("asin", "parentasin", "isbn", "isbn10", "isbn13", "sku", "upc", "ean", "gtin", "iid", "pid")
_IMPLICIT = ("playcount", "plays", "play", "listens", "listencount", "scrobbles", "count", "counts", "weight",
             "quantity", "qty", "clicks", "views", "watches", "purchases", "frequency", "freq", "times",
             "hours", "playtime", "playtimeforever")
_TIMES = ("timestamp", "ts", "time", "date", "datetime", "unixtime", "unixreviewtime", "epoch", "created",
          "eventtime")
_NOT_TIMES = ("runtime", "playtime", "update", "preptime", "cooktime", "totaltime", "readtime", "watchtime",
              "lifetime", "candidate", "validate")

#: A few names per field, for messages ("looked for ...").
EXAMPLES: dict[str, tuple[str, ...]] = {
    "user": ("user_id", "userId", "customer_id", "visitorid"),
    "item": ("item_id", "movieId", "artistID", "asin"),
    "rating": ("rating", "stars", "plays", "weight"),
    "timestamp": ("timestamp", "time", "date"),
    "item_id": ("item_id", "id", "movieId", "asin"),
    "title": ("title", "name"),
    "genres": ("genres", "category"),
    "tags": ("tags", "keywords"),
    "description": ("description", "overview"),
    "image": ("image", "poster_path"),
}


def _key(name: object) -> str:
    """``"userId"``, ``"user_id:token"`` and ``"User-ID"`` all compare as ``"userid"``."""
    return re.sub(r"[^0-9a-z]", "", str(name).split(":", 1)[0].lower())


def _split_id(key: str) -> tuple[str, str] | None:
    """``"artistid"`` → ``("artist", "id")``; None when no id suffix ends the key."""
    for suffix in sorted(_ID, key=len, reverse=True):
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], suffix
    return None


def _word(stem: str, words: tuple[str, ...]) -> str | None:
    """The word ``stem`` is (or is the plural of), else None."""
    return next((w for w in words if stem in (w, w + "s", w + "es")), None)


def _rank(field: str, key: str) -> tuple[int, str] | None:
    """(tier, reason) of a normalized column name for ``field``, or None if it does not fit."""
    stem, _ = _split_id(key) or (key, "")
    if field == "user":
        if key in ("uid", "user", "users") or stem == "user":
            return 0, "user id"
        if _word(stem, _USERS) and stem != key:
            return 1, f"{_word(stem, _USERS)} id"
        if _word(key, _USERS):
            return 2, f"{_word(key, _USERS)}s are the users"
        if stem == "session":
            return 3, "no user column: sessions are the users"
        return None
    if field in ("item", "item_id"):
        if key in ("item", "items") or stem == "item":
            return 0, "item id"
        if key in _ITEM_CODES:
            return 1, f"{key.upper()} is an item code"
        if stem != key and (_word(stem, DOMAINS) or stem in _ID_ONLY):
            return 1, f"{_word(stem, DOMAINS) or stem} id"
        if field == "item_id" and key == "id":
            return 2, "plain id"
        if _word(key, DOMAINS):
            return 3, f"{_word(key, DOMAINS)}s are the items"
        named = re.fullmatch(r"(\w+?)(name|title)", key)
        if field == "item" and named and _word(named[1], DOMAINS):
            return 4, f"no id column: {_word(named[1], DOMAINS)} {named[2]}s are the items"
        return None
    if field == "rating":
        if key in ("rating", "ratings", "score", "stars", "star", "overall", "grade", "rate") or \
                key.endswith(("rating", "score", "stars")):
            return 0, "rating"
        if key in _IMPLICIT or (key.endswith(("count", "plays")) and not key.endswith("discount")):
            return 1, "implicit strength: counts, not ratings"
        return None
    if field == "timestamp":
        if key in _TIMES:
            return 0, "time"
        if key.endswith(("timestamp", "time", "date", "edat")) and key not in _NOT_TIMES:  # "edat": enrolled_at
            return 1, "time"
        return None
    return _rank_item_text(field, key)


#: Item-table text fields: exact names, then name endings.
_TEXT_NAMES = {
    "title": ("title", "name", "itemname", "itemtitle", "headline"),
    "genres": ("genres", "genre", "category", "categories", "class", "subject", "subjects", "topic", "topics",
               "cuisine", "cuisines"),
    "tags": ("tags", "tag", "keywords", "keyword"),
    "description": ("description", "abstract", "overview", "summary", "plot", "synopsis", "text", "body", "about",
                    "blurb", "details", "content"),
    "image": ("image", "imagepath", "poster", "posterpath", "imageurl", "img", "picture", "pictureurl",
              "thumbnail", "cover", "coverurl"),
}
_TEXT_ENDINGS = {"title": ("title", "name"), "genres": ("genre", "genres", "category", "categories"),
                 "tags": ("tags",), "description": ("description", "summary"), "image": ()}


def _rank_item_text(field: str, key: str) -> tuple[int, str] | None:
    if key in _TEXT_NAMES[field]:
        return 0, field.rstrip("s")
    if field == "image" and key.startswith(("image", "img", "poster", "picture", "thumbnail", "cover")):
        return 1, "image"
    if key.endswith(_TEXT_ENDINGS[field]) and not key.startswith(("user",) + _USERS):
        return 1, field.rstrip("s")
    return None


def guess_columns(columns: Iterable[object], mapping=None) -> tuple[ColumnMapping, dict[str, str]]:
    """``guess_mapping`` and, per field it filled, why (``{"item": "artist id"}``).

    Given names are kept (reason "given"); one column serves at most one interaction field
    and one item field.
    """
    mapping = mapping or ColumnMapping()
    columns = [str(c) for c in columns]
    result, reasons = ColumnMapping(extra=list(mapping.extra)), {}
    for group in (INTERACTION_FIELDS, ITEM_FIELDS):
        used = {getattr(mapping, f) for f in group} - {None, ""}
        for name in group:
            given = getattr(mapping, name)
            if given is None:
                ranked = [(rank, position, column) for position, column in enumerate(columns)
                          if column not in used and (rank := _rank(name, _key(column))) is not None]
                if ranked:
                    (_, reason), _, given = min(ranked, key=lambda r: (r[0][0], r[1]))
                    reasons[name] = reason
                    used.add(given)
            elif given:
                reasons[name] = "given"
            setattr(result, name, given or None)
    return result, reasons


def guess_mapping(columns: Iterable[object], mapping=None) -> ColumnMapping:
    """Fill every unset field of ``mapping`` from the column names (see the module docstring).

    Names the caller gave are kept as they are (checked only when a loader uses them); ``""``
    becomes None. One column serves at most one interaction field and one item field.

    Examples
    --------
    >>> m = guess_mapping(["User-ID", "ISBN", "Book-Rating"])
    >>> (m.user, m.item, m.rating, m.timestamp)
    ('User-ID', 'ISBN', 'Book-Rating', None)
    """
    return guess_columns(columns, mapping)[0]


# ---------------------------------------------------------------------------- two tables
@dataclass
class Guess:
    """A guessed mapping for an interaction table (and its item table) and the one-line why."""

    mapping: ColumnMapping
    explanation: str


#: Rows of each table compared when pairing item columns by value (enough to tell, cheap).
PAIRING_ROWS = 200_000


def id_text(values: pd.Series) -> pd.Series:
    """Ids as comparable text: stripped, and ``"1.0"`` written ``"1"`` (what ``to_ids`` does)."""
    text = values.astype(str).str.strip()
    if not text.str.contains(".", regex=False).any():
        return text
    return text.str.replace(r"^([-+]?\d+)\.0*$", r"\1", regex=True)


def _distinct(values: pd.Series) -> frozenset[str]:
    return frozenset(id_text(values.dropna().head(PAIRING_ROWS)).unique())


def guess_tables(interactions: pd.DataFrame, items: pd.DataFrame | None = None, mapping=None, *,
                 names: tuple[str, str] = ("interactions", "items")) -> Guess:
    """The mapping ``load_dataset`` uses for an interaction table and its item table, and why.

    Names decide first. With an item table, the interactions' item column and the table's id
    column are then checked against each other by value: when under half of the item ids
    are found, the pair of columns whose values match best is taken instead (e.g. an artists
    file keyed by plain ``id``, or interactions that name artists rather than number them).

    Examples
    --------
    >>> plays = pd.DataFrame({"userID": [2, 2, 3], "artistID": [51, 52, 51], "weight": [13, 7, 4]})
    >>> artists = pd.DataFrame({"id": [51, 52], "name": ["Duran Duran", "Morcheeba"]})
    >>> guess = guess_tables(plays, artists, names=("user_artists.dat", "artists.dat"))
    >>> (guess.mapping.item, guess.mapping.rating, guess.mapping.item_id, guess.mapping.title)
    ('artistID', 'weight', 'id', 'name')
    """
    mapping = mapping or ColumnMapping()
    guessed, why = guess_columns(interactions.columns, mapping)
    if items is not None:
        item_guess, item_why = guess_columns(items.columns, mapping)
        for name in ITEM_FIELDS:
            setattr(guessed, name, getattr(item_guess, name))
        why.update({k: v for k, v in item_why.items() if k in ITEM_FIELDS})
        if mapping.item is None or mapping.item_id is None:
            _pair(interactions, items, guessed, mapping, why, names)
    return Guess(guessed, _explain(guessed, why, names, items is not None))


def _pair(interactions: pd.DataFrame, items: pd.DataFrame, guessed, mapping, why: dict[str, str],
          names: tuple[str, str]) -> None:
    """Check the item columns against each other by value; take the best-matching pair when
    the named pair matches under half of the item ids. Says so in ``why``."""
    cache: dict[tuple[int, str], frozenset[str]] = {}

    def overlap(column: str, id_column: str) -> float:
        left = cache.setdefault((0, column), _distinct(interactions[column]))
        right = cache.setdefault((1, id_column), _distinct(items[id_column]))
        return len(left & right) / len(left) if left else 0.0

    named = guessed.item in interactions.columns and guessed.item_id in items.columns
    current = overlap(guessed.item, guessed.item_id) if named else 0.0
    taken = {guessed.user, guessed.rating, guessed.timestamp} - {None}
    left = [mapping.item] if mapping.item else [c for c in interactions.columns if c not in taken]
    right = [mapping.item_id] if mapping.item_id else list(items.columns)
    best = (current, guessed.item, guessed.item_id)
    if current < 0.5:
        best = max([(overlap(a, b), a, b) for a in left for b in right] + [best], key=lambda s: s[0])
    share, item, item_id = best
    if (item, item_id) != (guessed.item, guessed.item_id) and share >= 0.5:
        guessed.item, guessed.item_id = item, item_id
        why["item"], why["item_id"] = f"its values are {names[1]}'s {item_id}", "matched by value"
        if guessed.title == item_id:
            guessed.title = None
    elif not named:
        return
    found = "holding" if share >= 0.5 else "but only"
    why["item_id"] = f"{why.get('item_id', 'given')}, {found} {share:.0%} of {names[0]}'s {item} values"


def _explain(guessed, why: dict[str, str], names: tuple[str, str], has_items: bool) -> str:
    """One line: the columns picked per field and why."""
    def part(field: str, label: str) -> str:
        column = getattr(guessed, field)
        return f"{label} = {column} ({why.get(field, 'given')})" if column else f"no {label} column"

    line = f"columns of {names[0]}: " + ", ".join(part(f, f) for f in INTERACTION_FIELDS)
    if has_items:
        found = [part(f, {"item_id": "item id"}.get(f, f)) for f in ITEM_FIELDS if getattr(guessed, f)]
        line += f"; of {names[1]}: " + ", ".join(found or ["no item id column"])
    return line
