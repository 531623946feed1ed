"""The three LLM uses on the sample data: item enrichment, user profiles, genre tagging."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from genre.errors import ConfigError, DataError, NotFittedError
from genre.llm import (
    EmbeddedClient,
    Generation,
    GenreClassifier,
    enrich_items,
    evaluate_tagging,
    label_texts,
    load_enrichment,
    profile_users,
    select_items,
    tag_missing_genres,
    with_enrichment,
    zero_shot_genres,
)

ENRICHMENT = Path(__file__).resolve().parents[1] / "sample_data" / "enrichment" / "smollm2_items.csv"


class Recorder:
    """A stand-in model that remembers prompts and answers with a fixed JSON reply."""

    model_id = "recorder"

    def __init__(self, answer: str = '{"keywords": ["alpha", "beta"]}'):
        self.answer = answer
        self.prompts: list[str] = []

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        self.prompts.append(prompt)
        return self.answer


class Counting(Recorder):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.model_id = inner.model_id

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        self.prompts.append(prompt)
        return self.inner.complete(prompt, max_tokens=max_tokens, temperature=temperature)


# ---------------------------------------------------------------- item selection and enrichment
def test_select_items_strategies(sample_dataset):
    counts = np.bincount(sample_dataset.interactions["item"], minlength=sample_dataset.n_items)
    chosen = select_items(sample_dataset, "fewest_interactions", n=50)
    assert len(chosen) == 50 and np.all(np.diff(chosen) > 0)
    others = np.setdiff1d(np.arange(sample_dataset.n_items), chosen)
    assert counts[chosen].max() <= counts[others].min()
    assert list(select_items(sample_dataset, "first", n=3)) == [0, 1, 2]
    assert len(select_items(sample_dataset, "all")) == sample_dataset.n_items
    with pytest.raises(ConfigError, match="valid: fewest_interactions, first, all"):
        select_items(sample_dataset, "random", n=3)
    with pytest.raises(ConfigError, match="needs n >= 1"):
        select_items(sample_dataset, "first")


def test_enrich_items_prompts_from_item_side_fields_only(sample_dataset):
    client = Recorder()
    frame = enrich_items(sample_dataset, client, items=[0, 1])
    assert list(frame.columns) == ["item_id", "text"]
    assert list(frame["item_id"]) == list(sample_dataset.item_ids[:2])
    assert list(frame["text"]) == ["alpha, beta", "alpha, beta"]
    assert frame.attrs["parse_report"].counts["json"] == 2
    assert "Toy Story (1995)" in client.prompts[0]
    assert "Adventure, Animation, Children, Comedy, Fantasy" in client.prompts[0]
    tags = sample_dataset.items.loc[0, "tags"]
    assert tags and tags not in client.prompts[0]  # tags exist but stay out of the default prompt

    with_tags = Recorder()
    enrich_items(sample_dataset, with_tags, items=[0], fields=("title", "tags"),
                 template="{title} — tagged: {tags}")
    assert with_tags.prompts[0].startswith("Toy Story (1995) — tagged: ")
    with pytest.raises(ConfigError, match="unknown item field.*this dataset has: title, genres"):
        enrich_items(sample_dataset, Recorder(), items=[0], fields=("title", "plot"), template="{title}")
    with pytest.raises(DataError, match="item indices must lie in"):
        enrich_items(sample_dataset, Recorder(), items=[sample_dataset.n_items])


def test_enrichment_round_trip_adds_a_text_field(sample_dataset):
    frame = enrich_items(sample_dataset, Recorder("A toy comes to life."), items=[0, 5])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    loaded = load_enrichment(io.StringIO(buffer.getvalue()))
    enriched = with_enrichment(sample_dataset, loaded)
    assert "llm_text" not in sample_dataset.items.columns  # the original is untouched
    texts = enriched.item_text(("title", "llm_text"))
    assert texts[0] == "Toy Story (1995) | A toy comes to life."
    assert texts[1] == sample_dataset.items.loc[1, "title"]  # no enrichment: field left out
    assert enriched.notes[-1] == f"llm_text: LLM text for 2 of {sample_dataset.n_items} items"


def test_enrichment_files_are_validated(sample_dataset):
    with pytest.raises(DataError, match="lacks column.*text"):
        load_enrichment(io.StringIO("item_id,summary\n1,x\n"))
    with pytest.raises(DataError, match="1 repeated item_id.*e.g. 1"):
        load_enrichment(io.StringIO("item_id,text\n1,x\n1,y\n"))
    with pytest.raises(DataError, match="none of the 1 enrichment rows matches"):
        with_enrichment(sample_dataset, load_enrichment(io.StringIO("item_id,text\n999999999,x\n")))
    partly = with_enrichment(sample_dataset, load_enrichment(io.StringIO("item_id,text\n1,x\n999999999,y\n")))
    assert "1 enrichment rows name items outside the catalog" in partly.notes[-2]
    with pytest.raises(ConfigError, match="new column name"):
        with_enrichment(sample_dataset, load_enrichment(io.StringIO("item_id,text\n1,x\n")), field="title")


def test_committed_enrichment_covers_cold_items_first(sample_dataset):
    frame = load_enrichment(ENRICHMENT)
    enriched = with_enrichment(sample_dataset, frame)
    assert not any("outside the catalog" in note for note in enriched.notes)
    assert (frame["text"].str.len() > 0).mean() > 0.95
    n = sample_dataset.n_items
    cold = set(sample_dataset.item_ids[np.random.default_rng(42).choice(n, size=n // 5, replace=False)])
    ids = set(frame["item_id"])
    # Generated cold items first: a partial file holds only cold items, a longer one all of them.
    assert ids <= cold if len(ids) < len(cold) else cold <= ids


# ---------------------------------------------------------------- user profiles
@pytest.fixture(scope="module")
def sparse_users(sample_dataset) -> tuple[sp.csr_matrix, list[int]]:
    """Training matrix where user 0 has 1 interaction, user 1 has 3 and user 2 none."""
    rows = sample_dataset.interactions
    picked = pd.concat([rows[rows["user"] == 0].nsmallest(1, "timestamp"),
                        rows[rows["user"] == 1].nsmallest(3, "timestamp")])
    return sample_dataset.matrix(picked), [0, 1, 2]


@pytest.mark.slow
def test_profiles_of_users_with_one_and_three_interactions(sample_dataset, sparse_users):
    train, users = sparse_users
    client = Counting(EmbeddedClient(n_threads=1))
    frame = profile_users(sample_dataset, train, client, users=users, generation=Generation(max_tokens=4))
    assert list(frame["user"]) == users
    texts = list(frame["text"])
    assert texts[0] and texts[1] and texts[2] == ""  # the user with no history costs no call
    assert len(client.prompts) == 2
    history = [sample_dataset.items.loc[i, "title"] for i in train[1].indices]
    assert all(title in client.prompts[1] for title in history)


def test_profile_prompt_lists_recent_titles_first_and_checks_input(sample_dataset, sparse_users):
    train, _ = sparse_users
    client = Recorder("Loves adventure.")
    frame = profile_users(sample_dataset, train, client, users=[1], max_titles=2,
                          template="{n}|{genres}|{titles}")
    rows = sample_dataset.interactions
    mine = rows[(rows["user"] == 1) & rows["item"].isin(train[1].indices)]
    latest = sorted(zip(-mine["timestamp"], mine["item"]))[:2]  # newest first, ties by lower index
    expected = "\n".join(f"- {sample_dataset.items.loc[i, 'title']}" for _, i in latest)
    n, genres, titles = client.prompts[0].split("|")
    assert n == "2" and titles == expected and len(genres.split(", ")) <= 3
    assert list(frame["text"]) == ["Loves adventure."]
    with pytest.raises(ConfigError, match="available fields: {titles}, {genres}, {n}"):
        profile_users(sample_dataset, train, client, template="{age}")
    with pytest.raises(DataError, match="training matrix is 2 × 2"):
        profile_users(sample_dataset, sp.csr_matrix((2, 2)), client)


# ---------------------------------------------------------------- genre tagging
@pytest.fixture(scope="module")
def title_vectors(sample_dataset):
    """TF-IDF of titles only (genres must not leak into the vectors that predict them)."""
    from genre.encoders import make_encoder

    encoder = make_encoder("tfidf")
    vectors = encoder.encode(sample_dataset.items["title"].tolist())
    genres, names = sample_dataset.genre_matrix()
    return encoder, vectors, genres, names


def test_genre_tagging_on_real_items_beats_the_most_frequent_genre(title_vectors):
    encoder, vectors, genres, names = title_vectors
    labels = encoder.encode(label_texts(names))
    table = evaluate_tagging(vectors, genres, names, label_vectors=labels, test_size=0.2, seed=7)
    print("\n" + table.round(3).to_string())  # reported with pytest -s
    assert list(table.index) == ["classifier", "zero-shot", "most-frequent"]
    assert table["n_test"].iloc[0] == round(0.2 * int((genres.getnnz(axis=1) > 0).sum()))
    metrics = table[["top1_hit", "subset_accuracy", "sample_f1", "macro_f1"]].to_numpy()
    assert np.all((metrics >= 0) & (metrics <= 1))
    assert table.loc["classifier", "macro_f1"] > table.loc["most-frequent", "macro_f1"]
    assert table.loc["classifier", "sample_f1"] > table.loc["most-frequent", "sample_f1"]
    again = evaluate_tagging(vectors, genres, names, label_vectors=labels, test_size=0.2, seed=7)
    pd.testing.assert_frame_equal(table, again)  # seeded


def test_tagging_fills_items_without_genres(title_vectors):
    _, vectors, genres, names = title_vectors
    hidden = sp.lil_matrix(genres)
    hidden[:5] = 0  # pretend the first five items came without genres
    predicted = tag_missing_genres(vectors, sp.csr_matrix(hidden), names)
    genreless = np.flatnonzero(genres.getnnz(axis=1) == 0)  # "(no genres listed)" in MovieLens
    assert len(genreless) and sorted(predicted) == [0, 1, 2, 3, 4, *genreless.tolist()]
    assert all(p and set(p) <= set(names) for p in predicted.values())
    with pytest.raises(NotFittedError, match="not fitted"):
        GenreClassifier().predict(vectors[:1])


def test_zero_shot_genres_picks_nearest_labels():
    items = np.array([[1.0, 0.1, 0.0], [0.0, 0.2, 1.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    labels = np.eye(3, dtype=np.float32)
    names = ["Action", "Drama", "Horror"]
    assert zero_shot_genres(items, labels, names, top_n=2) == [["Action", "Drama"], ["Horror", "Drama"],
                                                                ["Action", "Drama"]]
    assert zero_shot_genres(items, labels, names, top_n=None, threshold=0.5) == [["Action"], ["Horror"],
                                                                                 ["Action"]]
    with pytest.raises(ConfigError, match="exactly one of top_n and threshold"):
        zero_shot_genres(items, labels, names, top_n=2, threshold=0.5)
    with pytest.raises(DataError, match="same encoder"):
        zero_shot_genres(items, np.eye(2, dtype=np.float32), names[:2])


def test_llm_genres_keeps_only_known_labels_in_the_order_named(tmp_path):
    from genre.llm import OutputCache, llm_genres

    client = Recorder("Comedy and DRAMA, maybe sci-fi; not Action-packed Romance")
    labels = ["Action", "Comedy", "Drama", "Sci-Fi", "Horror", "Romance"]
    tags = llm_genres(["Heat (1995)", "Up (2009)"], labels, client, cache=OutputCache(tmp_path), max_concurrency=2)
    assert tags == [["Comedy", "Drama", "Sci-Fi", "Action", "Romance"]] * 2
    assert client.prompts[0] == "Which genres fit the movie Heat (1995)? Choose from: " + ", ".join(labels) + "."
    assert llm_genres(["X"], ["Horror"], Recorder("no idea")) == [[]]
    with pytest.raises(ConfigError, match="available fields: {title}, {labels}"):
        llm_genres(["X"], labels, client, template="{plot}")
