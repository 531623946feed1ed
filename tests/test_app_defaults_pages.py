"""(To add with the Train and Recommendations page edits.) The setup note on the Train page; no time words on
the Recommendations page for a play-count log without timestamps."""

import numpy as np
import pandas as pd

from app_helpers import app, button, check, plain, train  # noqa: F401
from test_app_defaults import TIME_WORDS, _plays, _upload


def test_the_train_page_shows_why_ease_was_left_out(app):
    n_items = 25_000
    items = np.arange(2 * n_items) % n_items
    _upload(app, "big.csv", pd.DataFrame({"user": np.arange(2 * n_items) * 7 % 400, "item": items}))
    app.switch_page("pages/3_Train.py").run()
    check(app)
    assert any("ease left out" in plain(i.value) and "max_items" in plain(i.value) for i in app.info)
    app.toggle(key="on_ease").set_value(True)
    app.selectbox(key="preset_pick").set_value("collaborative only")
    button(app, "Load preset").click().run()
    assert any("ease left out" in plain(i.value) for i in app.info) and not app.toggle(key="on_ease").value


def test_recommendations_for_plays_without_timestamps_have_no_time_words(app):
    _upload(app, "listens.csv", _plays())
    train(app, ("popularity", "item_knn"))
    app.switch_page("pages/6_Recommendations.py").run()
    check(app)
    texts = [plain(m.value) for m in app.markdown]
    assert not [t for t in texts if TIME_WORDS.search(t)], [t for t in texts if TIME_WORDS.search(t)]
    assert any(t.startswith("**History**") for t in texts)
    columns = list(app.dataframe[0].value.columns)
    assert "timestamp" not in columns
