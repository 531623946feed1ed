"""Data page: upload, preset detection, column mapping, cleaning, charts, and errors that leave the page usable."""

import pandas as pd

from app_helpers import app, button, check, plain, plotly_specs, sample_slice, upload_slice  # noqa: F401


def test_upload_detects_movielens_and_shows_charts(app):
    upload_slice(app, n_users=60)
    dataset = app.session_state["dataset"]
    ratings = pd.read_csv(pd.io.common.BytesIO(sample_slice(60)["ratings.csv"]))
    assert dataset.preset == "movielens"
    assert dataset.n_users == 60 and dataset.n_interactions == len(ratings)
    assert dataset.items["title"].str.len().gt(0).all() and dataset.tags is not None
    titles = [spec["layout"]["title"]["text"] for spec in plotly_specs(app)]
    assert any(t.startswith("Interactions per user") for t in titles)
    assert any(t.startswith("Interactions per item") for t in titles)
    assert {"Rating distribution", "Activity over time", "Items per genre"} <= set(titles)
    assert [m.value for m in app.metric][:3] == ["60", f"{dataset.n_items:,}", f"{len(ratings):,}"]
    assert "movielens" in app.caption[1].value  # "Detected layout: movielens"
    config = app.session_state["config"].data
    assert isinstance(config.source, list) and all(p.endswith(".csv") for p in config.source)


def test_mapping_is_prefilled_and_cleaning_applies(app):
    app.switch_page("pages/1_Data.py").run()
    app.radio(key="data_source").set_value("Upload files").run()
    app.file_uploader(key="upload_interactions").upload("ratings.csv", sample_slice(60)["ratings.csv"], "text/csv").run()
    check(app)
    assert [app.selectbox(key=f"map_{f}").value for f in ("user", "item", "rating", "timestamp")] == [
        "userId", "movieId", "rating", "timestamp"]
    app.number_input(key="clean_min_rating").set_value(4.0)
    app.number_input(key="clean_k_core").set_value(2)
    button(app, "Load data").click().run()
    check(app)
    dataset = app.session_state["dataset"]
    assert dataset.interactions["rating"].min() >= 4.0
    counts = dataset.interactions.groupby("item").size()
    assert counts.min() >= 2
    assert app.session_state["config"].data.cleaning == {"min_rating": 4.0, "k_core": 2, "drop_duplicates": True}
    assert any("2-core filter" in plain(c.value) for c in app.caption)  # what cleaning dropped is shown


def test_unmapped_columns_can_be_mapped_by_hand(app):
    raw = pd.read_csv(pd.io.common.BytesIO(sample_slice(60)["ratings.csv"]))
    renamed = raw.rename(columns={"userId": "who", "movieId": "what"}).to_csv(index=False).encode()
    app.switch_page("pages/1_Data.py").run()
    app.radio(key="data_source").set_value("Upload files").run()
    app.file_uploader(key="upload_interactions").upload("clicks.csv", renamed, "text/csv").run()
    assert app.selectbox(key="map_user").value == "(none)"
    app.selectbox(key="map_user").set_value("who")
    app.selectbox(key="map_item").set_value("what")
    button(app, "Load data").click().run()
    check(app)
    assert app.session_state["dataset"].n_users == 60
    assert app.session_state["config"].data.mapping == {"user": "who", "item": "what"}


def test_a_wrong_column_shows_an_error_and_the_page_still_works(app):
    bad = b"who,what\n1,10\n2,20\n"  # (customer,product is now guessed: issue 14 item 8)
    app.switch_page("pages/1_Data.py").run()
    app.radio(key="data_source").set_value("Upload files").run()
    app.file_uploader(key="upload_interactions").upload("bad.csv", bad, "text/csv").run()
    button(app, "Load data").click().run()
    assert not app.exception
    assert len(app.error) == 1 and "user" in app.error[0].value and "who" in app.error[0].value
    assert app.session_state["dataset"] is None
    # the page recovers: pick the bundled sample instead
    app.radio(key="data_source").set_value("Bundled sample (MovieLens)").run()
    button(app, "Load data").click().run()
    check(app)
    assert app.session_state["dataset"].n_users == 610
