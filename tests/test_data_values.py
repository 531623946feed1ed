"""What an interaction log's value column is (genre.data.values): ratings or counts, and its bands."""

import io

import numpy as np
import pandas as pd

from genre.data import load_dataset
from genre.data.values import RATINGS, count_bands, value_kind


def _plays_log() -> pd.DataFrame:
    """A music listening log: play counts per (user, artist), no timestamps, a long tail up to 350k."""
    return pd.DataFrame({"user": ["u1", "u1", "u2", "u2", "u3", "u3"],
                         "artist": ["a", "b", "a", "c", "b", "c"],
                         "plays": [3, 120, 1, 350_000, 48, 7]})


def test_play_counts_are_implicit_and_named_plays():
    kind = value_kind(_plays_log()["plays"], column="plays")
    assert kind.implicit and kind.log_axis and (kind.plural, kind.singular) == ("plays", "play")


def test_counts_take_the_word_of_their_column_or_a_plain_one():
    counts = pd.Series([1.0, 40.0, 2_000.0])
    assert value_kind(counts, "clicks").plural == "clicks"
    assert value_kind(counts, "weight").plural == "counts"  # Last.fm's user_artists.dat
    assert value_kind(counts).plural == "counts"


def test_a_five_star_scale_is_ratings_whatever_the_column_is_called():
    stars = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 4.0])
    assert value_kind(stars, "rating") == RATINGS and value_kind(stars) == RATINGS
    assert value_kind(pd.Series([0.5, 3.5, 5.0])) == RATINGS  # half stars
    assert value_kind(pd.Series([-10.0, 2.5, 9.9])) == RATINGS  # Jester's -10..10
    assert not RATINGS.log_axis


def test_a_small_whole_number_column_named_as_a_count_is_counts():
    assert value_kind(pd.Series([1.0, 2.0, 5.0]), "plays").implicit
    assert not value_kind(pd.Series([1.5, 2.0, 5.0]), "plays").implicit  # fractional: a scale


def test_one_value_throughout_is_nothing_to_chart():
    assert value_kind(pd.Series(np.ones(5, dtype=np.float32))) is None
    assert value_kind(pd.Series([], dtype=float)) is None


def test_count_bands_hold_every_count_in_whole_bands():
    counts, edges, labels = count_bands(_plays_log()["plays"])
    assert counts.sum() == 6 and len(labels) == len(counts) == len(edges) - 1
    assert np.all(edges == np.round(edges)) and edges[0] == 1 and edges[-1] > 350_000
    assert labels[0] == "1" and np.all(np.diff(edges) > 0)


def test_a_loaded_plays_log_keeps_its_value_column_and_has_no_time():
    upload = io.BytesIO(_plays_log().to_csv(index=False).encode())
    upload.name = "listens.csv"
    dataset = load_dataset(upload)
    assert dataset.value_column == "plays"
    kind = value_kind(dataset.interactions["rating"], dataset.value_column)
    assert kind.plural == "plays" and dataset.summary()["has_timestamps"] is False


def test_repeated_pairs_without_timestamps_are_not_called_the_latest():
    frame = pd.concat([_plays_log(), _plays_log().head(2)])
    upload = io.BytesIO(frame.to_csv(index=False).encode())
    upload.name = "listens.csv"
    note = next(n for n in load_dataset(upload).notes if n.startswith("dropped 2 repeated"))
    assert "latest" not in note and "file order" in note


def test_text_in_the_value_column_is_no_error():
    """An upload's preview may hold text where numbers belong: only the numbers are read."""
    assert value_kind(pd.Series(["![r](http://127.0.0.1:9/rating.png)", "x"])) is None
    assert value_kind(pd.Series(["4.5", "oops", 3, 1.0])) == RATINGS
