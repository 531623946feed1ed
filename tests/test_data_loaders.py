"""Loading into canonical tables and a Dataset: mapping, value types, cleaning, tags."""

import io

import numpy as np
import pandas as pd
import pytest

from genre.data import (CleaningOptions, ColumnMapping, clean, guess_mapping, item_tag_text,
                        leak_free_tags, load_dataset, load_interactions, load_items)
from genre.data.mapping import items_from_table
from genre.errors import ConfigError, DataError


def _upload(name: str, text: str) -> io.BytesIO:
    buffer = io.BytesIO(text.encode("utf-8"))
    buffer.name = name
    return buffer


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        call(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------- the sample data
def test_sample_data_loads_as_movielens(sample_dataset, sample_dir):
    ds = sample_dataset
    assert (ds.preset, ds.name) == ("movielens", "sample_data")
    assert (ds.n_users, ds.n_items, ds.n_interactions) == (610, 9724, 100836)
    assert ds.interactions.dtypes.astype(str).tolist() == ["int32", "int32", "float32", "int64"]
    ratings = pd.read_csv(sample_dir / "ratings.csv")
    assert ds.interactions["rating"].sum() == pytest.approx(ratings["rating"].sum())
    assert ds.interactions["timestamp"].tolist() == ratings["timestamp"].tolist()
    toy_story = ds.items.iloc[int(ds.item_index(1)[0])]
    assert toy_story["title"] == "Toy Story (1995)"
    assert list(toy_story["genres"]) == ["Adventure", "Animation", "Children", "Comedy", "Fantasy"]
    assert toy_story["tags"] == "pixar, fun"
    assert "18 item-table rows have no interactions and were left out of the catalog" in ds.notes


def test_sample_tags_are_kept_raw_and_as_item_text(sample_dataset, sample_dir):
    ds = sample_dataset
    raw = pd.read_csv(sample_dir / "tags.csv")
    rated = raw["movieId"].isin(ds.item_ids)
    assert len(ds.tags) == int(rated.sum())
    assert f"{int((~rated).sum())} tags are on items or by users outside the interactions and were left out" \
        in ds.notes
    first = ds.tags.iloc[0]
    assert ds.user_ids[first["user"]] == raw.loc[rated].iloc[0]["userId"]
    assert ds.items["tags"].tolist() == item_tag_text(ds)


def test_excluding_the_temporal_test_split_drops_815_tags(sample_dataset):
    from genre.split import temporal_split

    ds = sample_dataset
    split = temporal_split(ds.interactions, ds.n_users, ds.n_items)
    kept = leak_free_tags(ds, split.test)
    assert len(ds.tags) - len(kept) == 815
    pairs = set(zip(split.test["user"], split.test["item"]))
    assert not any((u, i) in pairs for u, i in zip(kept["user"], kept["item"]))
    text = item_tag_text(ds, exclude=split.test)
    untouched = set(range(ds.n_items)) - set(ds.tags["item"])
    assert all(text[i] == "" for i in untouched)
    assert sum(a != b for a, b in zip(text, item_tag_text(ds))) > 0


def test_item_tag_text_merges_case_and_keeps_first_spelling():
    from genre.data import Dataset

    ds = Dataset.from_frame(pd.DataFrame({"user": [1, 2, 2], "item": [7, 7, 8]}))
    ds.tags = pd.DataFrame({"user": [0, 1, 1, 0], "item": [0, 0, 1, 0], "tag": ["Fun", "fun", "dark", "sad"],
                            "timestamp": [0, 0, 0, 0]})
    assert item_tag_text(ds) == ["Fun, sad", "dark"]
    assert item_tag_text(ds, exclude=pd.DataFrame({"user": [0], "item": [0]})) == ["fun", "dark"]


# ---------------------------------------------------------------------------- values
def test_timestamps_numbers_milliseconds_and_dates():
    ms = load_interactions(_upload("a.csv", "user,item,ts\n1,2,1700000000123\n3,4,1700000001000\n"))
    assert ms["timestamp"].tolist() == [1700000000, 1700000001]
    dates = load_interactions(_upload("a.csv", "user,item,date\n1,2,2019-11-15 08:55:22\n"
                                                "3,4,2019-11-15T09:00:00+01:00\n5,6,15 Nov 2019\n"))
    expected = [pd.Timestamp(t, tz="UTC").timestamp() for t in
                ("2019-11-15 08:55:22", "2019-11-15 08:00:00", "2019-11-15")]
    assert dates["timestamp"].tolist() == expected
    assert dates["timestamp"].dtype == np.int64


def test_timestamps_from_parquet_datetimes_and_far_dates(tmp_path):
    when = pd.to_datetime(["2020-01-01 01:00", "2020-01-02 01:00"]).tz_localize("Europe/Paris")
    pd.DataFrame({"user": [1, 2], "item": [3, 4], "timestamp": when}).to_parquet(tmp_path / "r.parquet")
    assert load_interactions(tmp_path / "r.parquet")["timestamp"].tolist() == [1577836800, 1577923200]
    far = load_interactions(_upload("a.csv", "user,item,date\n1,2,9999-12-31\n3,4,0001-01-01\n"))
    assert far["timestamp"].tolist() == [253402214400, -62135596800]


def test_ids_all_integers_become_int64_else_text():
    frame = load_interactions(_upload("a.csv", "user,item\n1,2\nx7,04\n"))
    assert frame["user"].tolist() == ["1", "x7"]
    assert frame["item"].tolist() == [2, 4] and frame["item"].dtype == np.int64
    mixed = load_interactions(_upload("a.jsonl", '{"u": 1, "i": "N1"}\n{"u": "b", "i": 2}\n'),
                              ColumnMapping(user="u", item="i"))
    assert mixed["user"].tolist() == ["1", "b"] and mixed["item"].tolist() == ["N1", "2"]


def test_no_rating_column_counts_one():
    frame = load_interactions(_upload("a.csv", "user,item,rating\n1,2,5\n"), {"rating": ""})
    assert frame["rating"].tolist() == [1.0] and frame["rating"].dtype == np.float32


def test_column_not_found_lists_the_columns():
    source = _upload("ratings.csv", "a,b,c\n1,2,3\n")
    assert _error(load_interactions, source, {"user": "userId"}) == (
        "ratings.csv: column 'userId' not found; the columns are: a, b, c")
    assert _error(load_interactions, source) == (
        "ratings.csv: no column for the user ids was found (looked for user_id, userId, customer_id, visitorid ...); "
        "the columns are: a, b, c; name it in the column mapping (user=...)")


def test_non_numeric_and_empty_ratings_name_column_row_and_value():
    message = _error(load_interactions, _upload("r.csv", "user,item,score\n1,2,4\n3,4,good\n5,6,bad\n"))
    assert message.startswith("r.csv: column 'score' row 2 (and 1 more) holds 'good', not a number;")
    assert "map no rating column (rating='')" in message
    assert _error(load_interactions, _upload("r.csv", "user,item,rating\n1,2,\n")).startswith(
        "r.csv: column 'rating' row 1 is empty;")


def test_unreadable_timestamps_name_column_row_and_value():
    assert _error(load_interactions, _upload("r.csv", "user,item,date\n1,2,2019-11-15\n3,4,yesterday\n")) == (
        "r.csv: column 'date' row 2 holds 'yesterday', which is neither a date nor an epoch time; "
        "fix the file, or map no timestamp column (timestamp='')")
    assert "row 1 is empty" in _error(load_interactions, _upload("r.csv", "user,item,time\n1,2,\n"))


def test_missing_ids_raise_or_are_dropped():
    source = _upload("r.csv", "user,item\n1,2\n  ,4\n5,\n")
    assert _error(load_interactions, source) == (
        "r.csv: column 'user' row 2 has no id (2 rows without an id in all); fill the ids in, "
        "or drop such rows (cleaning option drop_missing_ids)")
    assert load_interactions(source, drop_missing_ids=True)[["user", "item"]].values.tolist() == [[1, 2]]


# ---------------------------------------------------------------------------- mapping
@pytest.mark.parametrize("columns, expected", [
    (["userId", "movieId", "rating", "timestamp"], ("userId", "movieId", "rating", "timestamp")),
    (["user_id:token", "item_id:token", "rating:float"],
     ("user_id:token", "item_id:token", "rating:float", None)),
    (["User", "news_id", "weight", "time"], ("User", "news_id", "weight", "time")),
    (["uid", "itemId", "score", "date", "title"], ("uid", "itemId", "score", "date")),
])
def test_guess_interaction_columns(columns, expected):
    m = guess_mapping(columns)
    assert (m.user, m.item, m.rating, m.timestamp) == expected


def test_guess_item_columns_and_override():
    columns = ["movieId", "name", "categories", "tags", "overview", "poster_path", "year"]
    m = guess_mapping(columns)
    assert (m.item_id, m.title, m.genres, m.tags, m.description, m.image) == tuple(columns[:6])
    m = guess_mapping(columns, ColumnMapping(title="year", description=""))
    assert (m.title, m.description) == ("year", None)
    # A column the caller assigned is not guessed again for another field.
    m = guess_mapping(["user", "item", "rating"], ColumnMapping(user="item", item="user"))
    assert (m.user, m.item, m.rating) == ("item", "user", "rating")


def test_column_mapping_round_trip_and_validation():
    m = ColumnMapping(user="u", rating="", extra=["year"])
    assert ColumnMapping.from_dict(m.to_dict()) == m
    with pytest.raises(ConfigError, match="column mapping: unknown key.*usr; valid keys: user, item"):
        ColumnMapping.from_dict({"usr": "u"})
    with pytest.raises(ConfigError, match="'user' must be a column name"):
        ColumnMapping.from_dict({"user": 3})
    with pytest.raises(ConfigError, match="'extra' must be a list"):
        ColumnMapping.from_dict({"extra": "year"})


def test_load_items_columns():
    text = ('id,name,category,plot,poster,year\n1,A,"x, y",p,a.jpg,1999\n2,,,,,\n'
            '3,C,Drama|(no genres listed),,,\n')
    items = load_items(_upload("m.csv", text), {"extra": ["year"]})
    assert list(items.columns) == ["item_id", "title", "genres", "tags", "description", "image", "year"]
    assert items["title"].tolist() == ["A", "2", "C"]
    assert items["genres"].tolist() == [["x", "y"], [], ["Drama"]]
    assert items["description"].tolist() == ["p", "", ""]
    assert items["image"].tolist() == ["a.jpg", "", ""]
    assert _error(load_items, _upload("m.csv", text), {"extra": ["price"]}) == (
        "m.csv: column 'price' not found; the columns are: id, name, category, plot, poster, year")


def test_items_without_ids_are_dropped_and_noted():
    raw = pd.DataFrame({"item_id": ["1", None, "1"], "title": ["a", "b", "c"]})
    items, notes = items_from_table(raw, source="m.csv")
    assert items["title"].tolist() == ["a", "c"]
    assert notes == ["m.csv: dropped 1 row without an id",
                     "m.csv: 1 repeated item ids; the first row of each is used"]


# ---------------------------------------------------------------------------- load_dataset
def test_generic_folder_finds_the_interaction_and_item_files(tmp_path):
    (tmp_path / "clicks.csv").write_text("visitor_id,product_id,ts\nv1,p1,10\nv1,p2,11\nv2,p1,12\n")
    (tmp_path / "products.csv").write_text("product_id,product_title,category\np1,Socks,Clothes\np2,Tea,Food\n")
    (tmp_path / "prices.csv").write_text("product_id,price\np1,3\n")
    ds = load_dataset(tmp_path)
    assert (ds.preset, ds.name, ds.n_users, ds.n_items) == (None, tmp_path.name, 2, 2)
    assert ds.items["title"].tolist() == ["Socks", "Tea"]
    assert ds.items["genres"].tolist() == [["Clothes"], ["Food"]]
    assert "not used: prices.csv (neither interactions nor the item table)" in ds.notes
    (tmp_path / "more.csv").write_text("product_id,title\np1,x\n")
    assert "several files could be the item table (more.csv, products.csv)" in _error(load_dataset, tmp_path)
    ds = load_dataset(tmp_path / "clicks.csv", items=tmp_path / "more.csv", name="shop")
    assert (ds.name, ds.items["title"].tolist()) == ("shop", ["x", "p2"])


def test_uploads_of_the_sample_files_give_the_sample_dataset(sample_dir, sample_dataset):
    uploads = []
    for name in ("movies.csv", "ratings.csv", "tags.csv"):
        buffer = io.BytesIO((sample_dir / name).read_bytes())
        buffer.name = name
        uploads.append(buffer)
    ds = load_dataset(uploads)
    assert (ds.preset, ds.name) == ("movielens", "movies")
    assert ds.summary()["n_interactions"] == sample_dataset.n_interactions
    assert ds.items["tags"].tolist() == sample_dataset.items["tags"].tolist()


def test_load_dataset_cleaning_on_the_sample(sample_dir):
    ratings = pd.read_csv(sample_dir / "ratings.csv")
    ds = load_dataset(sample_dir, cleaning={"min_rating": 4.0})
    assert ds.n_interactions == int((ratings["rating"] >= 4).sum())
    assert ds.n_users == ratings.loc[ratings["rating"] >= 4, "userId"].nunique()
    kept = f"kept the {ds.n_interactions} interactions rated 4 or more"
    assert any(note.startswith(kept) for note in ds.notes)


# ---------------------------------------------------------------------------- cleaning
def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    return frame.astype({"rating": np.float32, "timestamp": np.int64})


def test_duplicates_keep_the_latest_rating():
    frame = _frame([("a", 1, 2.0, 20), ("a", 1, 5.0, 30), ("b", 1, 3.0, 5), ("a", 1, 1.0, 10)])
    kept, notes = clean(frame)
    assert kept.values.tolist() == [["a", 1, 5.0, 30], ["b", 1, 3.0, 5]]
    assert notes == ["dropped 2 repeated (user, item) interactions, keeping the latest of each"]
    assert len(clean(frame, CleaningOptions(drop_duplicates=False))[0]) == 4


def test_rating_threshold_and_k_core_cascade():
    frame = _frame([("a", 1, 5, 0), ("a", 2, 4, 0), ("b", 1, 4, 0), ("b", 2, 5, 0),
                    ("c", 1, 4, 0), ("c", 3, 5, 0), ("d", 1, 1, 0)])
    kept, notes = clean(frame, CleaningOptions(min_rating=4, k_core=2))
    pairs = sorted(map(tuple, kept[["user", "item"]].values.tolist()))
    assert pairs == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert notes == ["kept the 6 interactions rated 4 or more (dropped 1)",
                     "2-core filter (2 rounds): dropped 2 interactions, 1 users and 1 items"]


def test_nothing_left_after_filtering():
    frame = _frame([("a", 1, 1.0, 0), ("b", 2, 1.0, 0)])
    for options in (CleaningOptions(min_rating=2), CleaningOptions(k_core=2)):
        assert _error(clean, frame, options) == (
            "no interactions left after filtering: lower the rating threshold or the k-core")


def test_cleaning_options_round_trip_and_validation():
    options = CleaningOptions(drop_duplicates=False, min_rating=3.5, k_core=5)
    assert CleaningOptions.from_dict(options.to_dict()) == options
    with pytest.raises(ConfigError, match="cleaning options: unknown key.*kcore; valid keys"):
        CleaningOptions.from_dict({"kcore": 5})
    with pytest.raises(ConfigError, match="k_core must be a whole number >= 0, got -1"):
        CleaningOptions.from_dict({"k_core": -1})
    with pytest.raises(ConfigError, match="min_rating must be a number or empty, got 'high'"):
        CleaningOptions.from_dict({"min_rating": "high"})
