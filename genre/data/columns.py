"""Which source column holds which canonical field: the ``ColumnMapping`` a config or the Data page gives."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from genre.errors import ConfigError, check_known_keys


@dataclass
class ColumnMapping:
    """Source column names for each canonical field.

    ``None`` means "guess from common names"; ``""`` means "this file has no such column"
    (e.g. ``rating=""`` ignores a ``rating`` column and counts every row as 1.0).

    Attributes
    ----------
    user, item, rating, timestamp : str or None
        Interaction columns: who, what, how much (optional), when (optional).
    item_id, title, genres, tags, description, image : str or None
        Item-table columns; ``genres`` cells are split on ``|`` or ``,``.
    extra : list of str
        Further item columns (text, categories, image paths) kept under their own names.

    Examples
    --------
    >>> from genre.data.guess import guess_mapping
    >>> m = guess_mapping(["userId", "movieId", "stars"], ColumnMapping(rating="stars"))
    >>> (m.user, m.item, m.rating, m.timestamp)
    ('userId', 'movieId', 'stars', None)
    >>> ColumnMapping.from_dict(m.to_dict()) == m
    True
    """

    user: str | None = None
    item: str | None = None
    rating: str | None = None
    timestamp: str | None = None
    item_id: str | None = None
    title: str | None = None
    genres: str | None = None
    tags: str | None = None
    description: str | None = None
    image: str | None = None
    extra: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for the YAML config)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "ColumnMapping":
        """Build from a dict; unknown keys and non-text values raise a ``ConfigError``."""
        data = dict(data or {})
        check_known_keys(data, [f.name for f in fields(cls)], "column mapping")
        for key, value in data.items():
            if key == "extra":
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"column mapping 'extra' must be a list of column names, got {value!r}")
                data[key] = list(value)
            elif value is not None and not isinstance(value, str):
                raise ConfigError(f"column mapping {key!r} must be a column name (text), got {value!r}")
        return cls(**data)
