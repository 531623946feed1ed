"""Personas (users summarised, vectorised) and item cards (plain text, images only from the data roots)."""

import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from genre import personas
from genre.config import RunConfig
from genre.data import Dataset
from genre.run import Experiment
from genre.safe_text import escape_markdown

MONTHS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|active|later)\b")


def test_sample_personas_match_a_per_user_count(sample_dataset):
    people = personas.summarise(sample_dataset)
    frame = sample_dataset.interactions
    assert people.n_users == sample_dataset.n_users and people.genre_word == "genres"
    assert (people.n_interactions == frame.groupby("user").size().to_numpy()).all()
    user = 413  # the most active user of the sample
    mine = frame[frame["user"] == user]
    assert personas.time_span(people.first[user], people.last[user]) == personas.time_span(
        mine["timestamp"].min(), mine["timestamp"].max())
    genres = pd.Series([g for gs in sample_dataset.items["genres"].to_numpy()[mine["item"]] for g in gs])
    favourite = [people.genre_names[j] for j in people.top_genres[user] if j >= 0]
    assert len(favourite) == 3 and set(favourite) <= set(genres.value_counts().index[:6])
    row = personas.describe(people, [user]).iloc[0]
    assert row["label"].startswith("414 · 2,698 interactions · ") and "active Jun 2000 – Jun 2018" in row["label"]


def test_search_matches_ids_genres_and_tags_most_active_first(sample_dataset):
    people = personas.summarise(sample_dataset)
    everyone = personas.search(people, "", limit=10)
    assert (np.diff(people.n_interactions[everyone]) <= 0).all() and everyone[0] == 413
    horror = personas.search(people, "horror", limit=1000)
    code = list(people.genre_names).index("Horror")
    assert len(horror) and all(code in people.top_genres[u] for u in horror)
    assert set(horror) == set(np.flatnonzero((people.top_genres == code).any(axis=1)))
    tagged = personas.search(people, "pixar", limit=1000)
    assert all("pixar" in personas.describe(people, [u])["tags"].iloc[0] for u in tagged)
    assert 413 in personas.search(people, "414") and personas.find_user(people, "414") == 413
    assert personas.find_user(people, "no such user") is None


def test_no_genres_no_timestamps_no_time_words():
    frame = pd.DataFrame({"user": ["u1", "u1", "u2", "u3"], "item": ["a", "b", "a", "c"]})
    dataset = Dataset.from_frame(frame, pd.DataFrame({"item_id": ["a", "b", "c"], "title": ["A", "B", "C"]}))
    people = personas.summarise(dataset)
    assert people.first is None and (people.top_genres == -1).all() and (people.top_tags == -1).all()
    table = personas.describe(people, personas.search(people))
    assert list(table["user_id"]) == ["u1", "u2", "u3"] and table["active"].eq("").all()
    assert table["label"].tolist() == ["u1 · 2 interactions", "u2 · 1 interaction", "u3 · 1 interaction"]
    assert not any(MONTHS.search(label) for label in table["label"])
    assert personas.held_out_badge("temporal", dataset.interactions) == "in their held-out items"


def test_item_tags_stand_in_for_missing_genres():
    frame = pd.DataFrame({"user": [1, 1, 2], "item": [10, 11, 10], "timestamp": [0, 86400 * 40, 0]})
    items = pd.DataFrame({"item_id": [10, 11], "title": ["X", "Y"], "tags": ["space, robots", "robots"]})
    people = personas.summarise(Dataset.from_frame(frame, items))
    assert people.genre_word == "tags"
    assert personas.describe(people, [0])["genres"].iloc[0] == "robots, space"
    assert personas.describe(people, [0])["active"].iloc[0] == "Jan 1970 – Feb 1970"


def test_clean_text_makes_odd_and_hostile_text_one_plain_line():
    assert personas.clean_text("a\x00b\u202ec\u200b  d\n e") == "abc d e"
    assert personas.clean_text(b"caf\xe9 \xff") == "caf\ufffd \ufffd"
    assert personas.clean_text(float("nan")) == "" and personas.clean_text(None) == ""
    long = personas.clean_text("word " * 100, limit=30)
    assert long.endswith("…") and len(long) <= 31


def _hostile(tmp_path) -> Dataset:
    frame = pd.DataFrame({"user": ["u", "u", "v", "v"], "item": ["1", "../../etc/passwd", "2", "3"]})
    poster = tmp_path / "roots" / "poster.png"
    poster.parent.mkdir()
    Image.new("RGB", (8, 12), (200, 30, 30)).save(poster)
    items = pd.DataFrame({
        "item_id": ["1", "../../etc/passwd", "2", "3"],
        "title": ["[x](http://evil)", "<img src=x>", "![i](http://evil/i.png) \x00ok", "**b** :red[r]"],
        "genres": ["[g](http://evil)", "", "", ""],
        "description": ["<script>alert(1)</script> " + "long " * 80, "", "", ""],
        "image": ["http://evil/p.png", "/etc/passwd", str(poster), str(tmp_path / "outside.png")]})
    Image.new("RGB", (8, 12)).save(tmp_path / "outside.png")
    return Dataset.from_frame(frame, items)


def _recs(dataset: Dataset) -> pd.DataFrame:
    items = dataset.items
    return pd.DataFrame({"rank": [1, 2, 3, 4], "item_id": items["item_id"], "title": items["title"],
                         "genres": items["genres"], "held_out": [True, False, False, False],
                         "because": [["<img src=x>"], [], [], []], "explained_by": ["item_knn"] * 4,
                         "shared_genres": [[], [], [], []]})


def test_cards_of_hostile_items_are_inert_and_images_only_from_data_roots(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path / "roots"))
    dataset = _hostile(tmp_path)
    cards = personas.cards(dataset, _recs(dataset), marked=["2"]).set_index("item_id")
    assert cards["title"].to_dict() == {"1": "[x](http://evil)", "../../etc/passwd": "<img src=x>",
                                        "2": "![i](http://evil/i.png) ok", "3": "**b** :red[r]"}
    assert cards["image"].to_dict() == {"1": None, "../../etc/passwd": None, "3": None,
                                        "2": str((tmp_path / "roots" / "poster.png").resolve())}
    assert cards["shared"].to_dict() == {"1": False, "../../etc/passwd": False, "2": True, "3": False}
    assert cards.loc["1", "description"].endswith("…") and len(cards.loc["1", "description"]) <= 221
    for text in [*cards["title"], *cards["genres"], *cards["description"], *cards["because"].sum()]:
        shown = escape_markdown(text)  # what the page renders
        assert re.search(r"(?<!\\)[][<>()*:!]", shown) is None, shown  # every markup character escaped


def test_images_from_a_folder_or_zip_named_by_item_id_inside_the_roots(tmp_path, monkeypatch):
    folder = tmp_path / "roots" / "posters"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "a.jpg")
    (tmp_path / "secret.png").write_bytes(b"x")
    with zipfile.ZipFile(tmp_path / "roots" / "posters.zip", "w") as archive:
        archive.write(folder / "a.jpg", "b.jpg")
    dataset = Dataset.from_frame(pd.DataFrame({"user": [1, 1, 1], "item": ["a", "b", "../secret"]}))
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path / "roots"))
    found = personas.item_images(dataset, ["a", "b", "../secret"], [str(folder), str(tmp_path / "roots" / "posters.zip")])
    assert found[0] == str((folder / "a.jpg").resolve()) and isinstance(found[1], bytes) and found[2] is None
    monkeypatch.setenv("GENRE_DATA_ROOTS", str(tmp_path / "elsewhere"))
    assert personas.item_images(dataset, ["a", "b"], [str(folder), str(tmp_path / "roots" / "posters.zip")]) == [None, None]


def test_descriptions_fall_back_to_llm_text():
    frame = pd.DataFrame({"user": [1, 1], "item": [1, 2]})
    dataset = Dataset.from_frame(frame, pd.DataFrame({"item_id": [1, 2], "description": ["Own words.", ""]}))
    written = pd.DataFrame({"item_id": [1, 2], "text": ["LLM one", "LLM two"]})
    assert personas.descriptions(dataset, [1, 2], written) == ["Own words.", "LLM two…"]  # cut off: marked
    assert personas.descriptions(dataset, [2, 1]) == ["", "Own words."]


@pytest.fixture(scope="module")
def trained(sample_dataset):
    from conftest import first_users

    config = RunConfig.from_dict({"algorithms": [{"name": "popularity", "weight": 0.3},
                                                 {"name": "item_knn", "weight": 0.7}],
                                  "split": {"method": "temporal"}, "evaluation": {"ks": [10]}})
    return Experiment(config, dataset=first_users(sample_dataset, 40)).train()


def test_cards_of_a_trained_run_carry_reasons_and_held_out_items(trained):
    user = trained.user_ids_evaluated[0]
    recs = trained.recommend(user, k=10)
    cards = personas.cards(trained.dataset_, recs)
    assert cards["item_id"].tolist() == recs["item_id"].tolist()
    assert cards["held_out"].tolist() == recs["held_out"].tolist()
    assert cards["because"].tolist() == recs["because"].tolist() and cards["genres"].str.len().gt(0).all()
    assert personas.held_out_badge(trained.config.split.method, trained.dataset_.interactions) == "watched later"
    other = recs["item_id"].tolist()[::-1][:4]
    assert personas.shared_items(recs["item_id"], other) == [i for i in recs["item_id"] if i in other]
