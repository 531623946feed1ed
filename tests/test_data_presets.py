"""Presets: detection by file names, and tiny MovieLens, ml-100k, RecBole and MIND folders."""

import io

import pandas as pd
import pytest

from genre.data import detect_preset, load_dataset
from genre.data.formats import ML100K_GENRES, load_preset
from genre.errors import DataError


def _flags(*genres: str) -> str:
    return "|".join("1" if g in genres else "0" for g in ML100K_GENRES)


@pytest.fixture
def ml100k(tmp_path):
    (tmp_path / "u.data").write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t302\t5\t881251000\n"
                                     "22\t377\t1\t878887116\n")
    lines = [
        f"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya|{_flags('Comedy')}",
        f"302|Misérables, Les (1995)|01-Jan-1995||http://x|{_flags('Crime', 'Film-Noir', 'Thriller')}",
        f'377|"Heavyweights" (1994)|01-Jan-1994||http://y|{_flags("unknown")}',
        f"999|Unrated (1990)|01-Jan-1990||http://z|{_flags('Drama')}",
    ]
    (tmp_path / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    for name in ("u.user", "u.genre", "u1.base", "README"):
        (tmp_path / name).write_text("ignored\n")
    return tmp_path


@pytest.fixture
def recbole(tmp_path):
    (tmp_path / "toy.inter").write_text(
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
        "1\t10\t4.0\t874965758.0\n1\t20\t2.5\t874965759.0\n2\t10\t5.0\t874965760.0\n")
    (tmp_path / "toy.item").write_text(
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "10\tToy Story\t1995\tAnimation Children's Comedy\n20\t\"Heat\"\t1995\tAction Crime\n")
    return tmp_path


@pytest.fixture
def mind(tmp_path):
    (tmp_path / "behaviors.tsv").write_text(
        "1\tU1\t11/15/2019 8:55:22 AM\tN1 N2\tN3-1 N4-0 N5-1\n"
        "2\tU1\t11/15/2019 9:00:00 AM\tN1 N2\tN4-1 N6-0\n"
        "3\tU2\t11/14/2019 11:00:00 PM\t\tN3-0 N5-1\n")
    news = [("N1", "news", "newsworld", "First", 'An "abstract"'), ("N2", "sports", "golf", "Second", ""),
            ("N3", "news", "newsus", "Third", "c"), ("N4", "tv", "tvnews", "Fourth", "d"),
            ("N5", "news", "newsus", "Fifth", "e"), ("N7", "autos", "cars", "Unseen", "f")]
    (tmp_path / "news.tsv").write_text("".join(f"{n}\t{c}\t{s}\t{t}\t{a}\thttps://x/{n}\t[]\t[]\n"
                                               for n, c, s, t, a in news))
    return tmp_path


def _time(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").timestamp())


def _pairs(ds) -> list[tuple]:
    frame = ds.interactions
    return list(zip(ds.user_ids[frame["user"]], ds.item_ids[frame["item"]], frame["rating"], frame["timestamp"]))


# ---------------------------------------------------------------------------- detection
def test_detect_preset_from_names_folders_and_uploads(ml100k, sample_dir):
    assert detect_preset(sample_dir) == "movielens"
    assert detect_preset(ml100k) == "movielens-100k"
    assert detect_preset(["x/behaviors.tsv", "x/news.tsv"]) == "mind"
    assert detect_preset(["ml-1m.inter", "ml-1m.item"]) == "recbole"
    assert detect_preset(["Ratings.CSV", "movies.csv"]) == "movielens"
    upload = io.BytesIO(b"")
    upload.name = "u.data"
    assert detect_preset([upload]) == "movielens-100k"
    assert detect_preset(["ratings.csv"]) is None
    assert detect_preset(sample_dir / "ratings.csv") is None


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(DataError, match="unknown preset 'netflix'; the presets are: movielens, movielens-100k"):
        load_preset("netflix", [])


# ---------------------------------------------------------------------------- MovieLens
def test_movielens_preset_honours_a_mapping_override(tmp_path, sample_dir):
    lines = (sample_dir / "ratings.csv").read_text().splitlines()[:201]
    (tmp_path / "ratings.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "movies.csv").write_bytes((sample_dir / "movies.csv").read_bytes())
    ds = load_dataset(tmp_path, mapping={"rating": ""})
    assert ds.preset == "movielens" and ds.n_interactions == 200
    assert set(ds.interactions["rating"]) == {1.0}
    assert "ratings.csv: no rating column, so every interaction counts 1.0" in ds.notes
    assert ds.tags is None and set(ds.items["tags"]) == {""}


# ---------------------------------------------------------------------------- ml-100k
def test_movielens_100k(ml100k):
    ds = load_dataset(ml100k)
    assert (ds.preset, ds.n_users, ds.n_items, ds.n_interactions) == ("movielens-100k", 3, 3, 4)
    assert _pairs(ds)[0] == (196, 242, 3.0, 881250949)
    assert ds.items["title"].tolist() == ["Kolya (1996)", "Misérables, Les (1995)", '"Heavyweights" (1994)']
    assert ds.items["genres"].tolist() == [["Comedy"], ["Crime", "Film-Noir", "Thriller"], []]
    assert "1 item-table rows have no interactions and were left out of the catalog" in ds.notes


def test_movielens_100k_without_item_file(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n")
    ds = load_dataset(tmp_path)
    assert ds.items["title"].tolist() == ["2"]


# ---------------------------------------------------------------------------- RecBole
def test_recbole_atomic_files(recbole):
    ds = load_dataset(recbole)
    assert ds.preset == "recbole"
    assert _pairs(ds) == [(1, 10, 4.0, 874965758), (1, 20, 2.5, 874965759), (2, 10, 5.0, 874965760)]
    assert ds.items["title"].tolist() == ["Toy Story", '"Heat"']
    assert ds.items["genres"].tolist() == [["Animation", "Children's", "Comedy"], ["Action", "Crime"]]


def test_recbole_split_files_are_read_together(recbole):
    (recbole / "toy.test.inter").write_text("user_id:token\titem_id:token\trating:float\n3\t20\t1\n")
    ds = load_dataset(recbole)
    assert ds.n_interactions == 4 and ds.user_ids.tolist() == [1, 2, 3]
    assert "2 .inter files were read as one interaction table" in ds.notes


# ---------------------------------------------------------------------------- MIND
def test_mind_clicks_and_histories(mind):
    ds = load_dataset(mind)
    assert (ds.preset, ds.user_ids.tolist(), ds.item_ids.tolist()) == (
        "mind", ["U1", "U2"], ["N1", "N2", "N3", "N4", "N5"])
    first = _time("2019-11-15 08:55:22")
    expected = {
        ("U1", "N1", 1.0, first - 1), ("U1", "N2", 1.0, first - 1), ("U1", "N3", 1.0, first),
        ("U1", "N5", 1.0, first), ("U1", "N4", 1.0, _time("2019-11-15 09:00:00")),
        ("U2", "N5", 1.0, _time("2019-11-14 23:00:00")),
    }
    assert set(_pairs(ds)) == expected and ds.n_interactions == len(expected)
    assert ds.interactions["timestamp"].is_monotonic_increasing
    items = ds.items.set_index("item_id")
    assert items.loc["N1", "title"] == "First" and items.loc["N1", "description"] == 'An "abstract"'
    assert items.loc["N2", "genres"] == ["sports"] and items.loc["N2", "subcategory"] == "golf"
    assert "behaviors.tsv: 4 clicked impressions and 2 history items (dated just before each user's " \
           "first impression)" in ds.notes


def test_mind_test_set_without_labels(tmp_path):
    (tmp_path / "behaviors.tsv").write_text("1\tU1\t11/15/2019 8:55:22 AM\tN1\tN3 N4\n")
    ds = load_dataset(tmp_path)
    assert ds.item_ids.tolist() == ["N1"]
    assert any("carry no click labels" in note for note in ds.notes)


def test_mind_bad_time_names_the_row(tmp_path):
    (tmp_path / "behaviors.tsv").write_text("1\tU1\t11/15/2019 8:55:22 AM\tN1\tN3-1\n"
                                            "2\tU1\t2019-11-15\tN1\tN3-1\n")
    with pytest.raises(DataError, match=r"behaviors.tsv: column 'time' row 2 holds '2019-11-15'"):
        load_dataset(tmp_path)
