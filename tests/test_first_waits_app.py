"""Issue 21 §2 in the app: a UMAP map laid out once is read back from disk — by another session, after a
restart — with no job and no wait (genre.projection's layout store under the session's cache folder)."""

import pytest

from app_helpers import app, check, finish_job, plain, plotly_specs, train, upload_slice  # noqa: F401
from ui import projections


@pytest.mark.slow
def test_a_umap_map_laid_out_once_comes_back_from_disk_without_a_job(app):
    upload_slice(app, n_users=15)
    train(app, ("popularity",))
    app.switch_page("pages/4_Embeddings.py").run()
    app.toggle(key="emb_users").set_value(False)
    app.radio(key="emb_method").set_value("umap").run()
    check(app)
    assert app.session_state["job"].kind == "umap"
    finish_job(app, timeout=300)
    laid_out = plotly_specs(app)[0]
    assert laid_out["layout"]["title"]["text"].endswith(", UMAP")

    app.session_state[projections.HELD] = {}  # as a new session, or the server after a restart, starts
    app.radio(key="emb_method").set_value("pca").run()
    app.radio(key="emb_method").set_value("umap").run()
    check(app)
    assert "job" not in app.session_state  # read from disk: nothing laid out again
    again = plotly_specs(app)[0]
    assert again["layout"]["title"]["text"].endswith(", UMAP")
    assert not any("in the background" in plain(i.value) for i in app.info)
    assert [t["x"] for t in again["data"]] == [t["x"] for t in laid_out["data"]]
