"""Interactions read by Spark with the local loader's column mapping and cleaning rules.

The column names come from ``genre.data.guess_mapping`` on the file's header (or Parquet
schema), the cleaning steps are those of ``genre.data.cleaning.clean`` in the same order
(missing ids, the latest of repeated pairs, ``min_rating``, k-core), and users and items are
indexed 0..n-1 in ascending raw-id order like ``Dataset``. Each row keeps ``pos``: its
position in the cleaned table in source order, which the split's tie-break needs.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genre.data import CleaningOptions, ColumnMapping
from genre.data.formats import detect_preset
from genre.data.mapping import guess_mapping
from genre.data.readers import list_sources
from genre.errors import DataError

_FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".jsonl": "json", ".json": "json", ".ndjson": "json"}
#: What a folder in a preset layout holds its interactions and its items in.
_PRESET_FILES = {"movielens": {"interactions": "ratings.csv", "items": "movies.csv"}}
_EPOCH_SCALES = ((10**9, "nanoseconds"), (10**6, "microseconds"), (10**3, "milliseconds"))


@dataclass
class SparkData:
    """Cleaned, indexed interactions on Spark: columns user, item (int), rating, timestamp, pos."""

    frame: Any                  # pyspark DataFrame
    n_users: int
    n_items: int
    n_rows: int
    notes: list[str] = field(default_factory=list)
    ids: dict[str, Any] = field(default_factory=dict)   # "user"/"item" → DataFrame(raw id, index)


def interaction_paths(source: str | list[str]) -> list[str]:
    """The interaction file(s) behind a config's ``data.source``: a file, a glob, a list, or a folder
    (a preset's interaction file, else the folder's one table file)."""
    if isinstance(source, list):
        return [p for s in source for p in interaction_paths(s)]
    if any(ch in source for ch in "*?["):
        found = sorted(glob.glob(source))
        if not found:
            raise DataError(f"{source}: no file matches this pattern")
        return found
    path = Path(source)
    if not path.exists():
        raise DataError(f"{source}: no such file or folder")
    if path.is_file():
        return [str(path)]
    files = [Path(f) for f in list_sources(str(path))]
    preset = detect_preset(files)
    if preset in _PRESET_FILES:
        return [str(path / _PRESET_FILES[preset]["interactions"])]
    tables = [f for f in files if f.suffix.lower() in _FORMATS]
    if len(tables) != 1:
        raise DataError(f"{source}: the Spark engine needs the interaction file(s) named (a path or a glob); "
                        f"this folder holds {len(tables)} table files")
    return [str(tables[0])]


def item_table(data_config: Any) -> str | None:
    """The item file behind a config's ``data``: ``data.items``, else a preset folder's item file, else None."""
    if data_config.items:
        return str(data_config.items)
    source = data_config.source
    if isinstance(source, str) and Path(source).is_dir():
        files = _PRESET_FILES.get(detect_preset([Path(f) for f in list_sources(source)]) or "", {})
        if "items" in files and (Path(source) / files["items"]).exists():
            return str(Path(source) / files["items"])
    return None


def _read(spark: Any, paths: list[str]) -> Any:
    kinds = {_FORMATS.get(Path(p).suffix.lower()) for p in paths}
    if len(kinds) != 1 or None in kinds:
        raise DataError(f"the Spark engine reads CSV/TSV, Parquet or JSON Lines files of one kind; got "
                        f"{', '.join(Path(p).name for p in paths[:5])}")
    kind = kinds.pop()
    if kind == "parquet":
        return spark.read.parquet(*paths)
    if kind == "json":
        return spark.read.json(paths)
    sep = "\t" if all(p.lower().endswith((".tsv", ".txt")) for p in paths) else ","
    # one typing pass: integer ids stay numbers (ascending numeric order, like Dataset)
    return spark.read.csv(paths, header=True, inferSchema=True, sep=sep)


def _columns(raw: Any, mapping: dict[str, Any], source: str) -> dict[str, str | None]:
    guessed = guess_mapping(raw.columns, ColumnMapping.from_dict(mapping) if mapping else None)
    listing = ", ".join(raw.columns)
    chosen = {}
    for name in ("user", "item", "rating", "timestamp"):
        column = getattr(guessed, name)
        if column is not None and column not in raw.columns:
            raise DataError(f"{source}: column {column!r} not found; the columns are: {listing}")
        if column is None and name in ("user", "item"):
            raise DataError(f"{source}: no column for the {name} ids was found; the columns are: {listing}; "
                            f"name it in the column mapping ({name}=...)")
        chosen[name] = column
    return chosen


def _canonical(raw: Any, cols: dict[str, str | None], notes: list[str], source: str) -> Any:
    """user, item (raw ids: long when the reader typed them integer, else trimmed text), rating,
    timestamp (epoch seconds), fid (source order)."""
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra
    from pyspark.sql.types import IntegralType, NumericType  # lazy: pyspark is an optional extra

    types = {f.name: f.dataType for f in raw.schema.fields}

    def ids(column: str) -> Any:
        if isinstance(types[column], IntegralType):
            return F.col(f"`{column}`").cast("long")
        text = F.trim(F.col(f"`{column}`").cast("string"))
        return F.when(text == "", None).otherwise(text)

    rating = F.col(f"`{cols['rating']}`").cast("float") if cols["rating"] else F.lit(1.0).cast("float")
    if not cols["rating"]:
        notes.append(f"{source}: no rating column, so every interaction counts 1.0")
    stamp = cols["timestamp"]
    if stamp is None:
        notes.append(f"{source}: no timestamp column, so time-based splits have no order to use")
        seconds = F.lit(0).cast("long")
    elif isinstance(types[stamp], NumericType):
        seconds = _epoch_seconds(raw, stamp, notes, source)
    else:
        seconds = F.unix_timestamp(F.to_timestamp(F.col(f"`{stamp}`").cast("string")))
    return raw.select(ids(cols["user"]).alias("user"), ids(cols["item"]).alias("item"), rating.alias("rating"),
                      seconds.alias("timestamp"), F.monotonically_increasing_id().alias("fid"))


def _epoch_seconds(raw: Any, column: str, notes: list[str], source: str) -> Any:
    """Epoch numbers scaled to seconds by their size, as ``genre.data.mapping.to_timestamps``."""
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    number = F.col(f"`{column}`").cast("double")
    largest = raw.agg(F.max(F.abs(number))).first()[0] or 0
    scale, unit = next(((s, u) for s, u in _EPOCH_SCALES if largest > s * 1e8), (1, "seconds"))
    if scale > 1:
        notes.append(f"{source}: column {column!r} holds epoch {unit}; converted to seconds")
    return F.floor(number / scale).cast("long")


def _clean(frame: Any, options: CleaningOptions, notes: list[str]) -> Any:
    """``genre.data.cleaning.clean``'s steps, in its order, with its notes (two counting passes)."""
    from pyspark.sql import Window  # lazy: pyspark is an optional extra
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    missing = F.col("user").isNull() | F.col("item").isNull()
    dropped = frame.agg(F.sum(missing.cast("long"))).first()[0] or 0
    if dropped:
        if not options.drop_missing_ids:
            raise DataError(f"interactions: {dropped} rows have no user or item id; fill the ids in, or "
                            f"drop such rows (cleaning option drop_missing_ids)")
        notes.append(f"interactions: dropped {dropped} row{'s' * (dropped > 1)} without an id")
        frame = frame.where(~missing)
    if options.drop_duplicates:
        latest = Window.partitionBy("user", "item").orderBy(F.col("timestamp").desc(), F.col("fid").desc())
        frame = frame.withColumn("_dup", F.row_number().over(latest) > 1)
    else:
        frame = frame.withColumn("_dup", F.lit(False))
    keep = F.lit(True) if options.min_rating is None else F.col("rating") >= options.min_rating
    frame = frame.withColumn("_keep", keep & ~F.col("_dup")).localCheckpoint()
    repeated, rated, kept = frame.agg(F.sum(F.col("_dup").cast("long")),
                                      F.sum((~F.col("_dup") & ~keep).cast("long")),
                                      F.sum(F.col("_keep").cast("long"))).first()
    if repeated:
        notes.append(f"dropped {repeated} repeated (user, item) interactions, keeping the latest of each")
    if options.min_rating is not None:
        notes.append(f"kept the {kept} interactions rated {options.min_rating:g} or more (dropped {rated})")
    frame = frame.where("_keep").drop("_dup", "_keep")
    if options.k_core > 1:
        frame = _k_core(frame, options.k_core, notes)
    return frame


def _k_core(frame: Any, k: int, notes: list[str]) -> Any:
    from pyspark.sql import Window  # lazy: pyspark is an optional extra
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    before = frame.count()
    rounds = 0
    while True:
        counted = (frame.withColumn("_u", F.count("*").over(Window.partitionBy("user")))
                   .withColumn("_i", F.count("*").over(Window.partitionBy("item"))))
        kept = counted.where((F.col("_u") >= k) & (F.col("_i") >= k)).drop("_u", "_i").localCheckpoint()
        if kept.count() == frame.count():
            break
        frame, rounds = kept, rounds + 1
    if rounds:
        notes.append(f"{k}-core filter ({rounds} rounds): dropped {before - frame.count()} interactions")
    return frame


def load_interactions(spark: Any, data_config: Any) -> SparkData:
    """Read, map, clean and index the interactions a config's ``data`` section names."""
    from pyspark.sql import Window  # lazy: pyspark is an optional extra
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    paths = interaction_paths(data_config.source)
    source = Path(paths[0]).name
    raw = _read(spark, paths)
    notes: list[str] = []
    frame = _canonical(raw, _columns(raw, data_config.mapping, source), notes, source)
    frame = _clean(frame, CleaningOptions.from_dict(data_config.cleaning), notes)
    ids = {}
    for name in ("user", "item"):  # ascending raw ids → 0..n-1, like Dataset
        ids[name] = (frame.select(name).distinct()
                     .withColumn("index", F.row_number().over(Window.orderBy(name)) - 1).persist())
    indexed = (frame.join(ids["item"], "item")
               .select(F.col("user"), F.col("index").alias("item_index"), "rating", "timestamp", "fid")
               .join(ids["user"], "user")
               .select(F.col("index").cast("int").alias("user"), F.col("item_index").cast("int").alias("item"),
                       "rating", "timestamp", "fid"))
    frame = _source_positions(indexed).localCheckpoint()  # materialised: later plans start here
    n_rows, max_user, max_item = frame.agg(F.count("*"), F.max("user"), F.max("item")).first()
    if not n_rows:
        raise DataError("no interactions left after filtering: lower the rating threshold or the k-core")
    return SparkData(frame, max_user + 1, max_item + 1, n_rows, notes, ids)


def _source_positions(frame: Any) -> Any:
    """``pos``: each kept row's position in source order, without one global sort.

    ``fid`` (monotonically_increasing_id at read time) is read-partition × 2³³ + offset, so a
    row's position is the kept rows of earlier read partitions (a tiny per-partition count)
    plus its rank inside its own partition.
    """
    from pyspark.sql import Window  # lazy: pyspark is an optional extra
    from pyspark.sql import functions as F  # lazy: pyspark is an optional extra

    frame = frame.withColumn("_p", F.shiftright("fid", 33))
    counts = sorted(tuple(r) for r in frame.groupBy("_p").count().collect())
    bases, total = [], 0
    for part, count in counts:
        bases.append((part, total))
        total += count
    base = frame.sparkSession.createDataFrame(bases, "_p long, _base long")
    within = F.row_number().over(Window.partitionBy("_p").orderBy("fid")) - 1
    return (frame.join(F.broadcast(base), "_p").withColumn("pos", F.col("_base") + within)
            .drop("_p", "_base", "fid"))
