"""Background jobs (ui/jobs.py): training runs in a worker thread owned by the session, shows its
progress and a Cancel button in the sidebar, installs its run when it ends, and a failure or a
cancel leaves the earlier run in place. Real training on the bundled sample, no mocks.

AppTest draws the shared sidebar on the entry page only, so the tests look at the sidebar (and
press Cancel) on Home; in the browser it is on every page (tests/test_browser.py).
"""

import pytest

from app_helpers import app, button, check, finish_job, plain, plotly_specs, train, upload_slice  # noqa: F401

#: Enough work on the whole sample (fits twice, tuning trials) that a job is still running when the
#: test looks at it a fraction of a second later.
SLOW = ("popularity", "item_knn", "als")


def _load_sample(at):
    button(at, "Load sample data (MovieLens)").click().run()
    check(at)
    assert at.session_state["dataset"].n_users == 610
    return at


def _start_training(at, algorithms=SLOW, tune=True, check_page=True):
    """Press Train with ``algorithms`` switched on, without waiting for the job (None when it already
    ended and the page collected it in the same run)."""
    at.switch_page("pages/3_Train.py").run()
    for toggle in at.toggle:
        if toggle.key and toggle.key.startswith("on_") and not toggle.disabled:
            toggle.set_value(toggle.key[3:] in algorithms)
    at.checkbox(key="tune_on_train").set_value(tune)
    button(at, "Train").click().run()
    if check_page:
        check(at)
    return at.session_state["job"] if "job" in at.session_state else None


def _sidebar_text(at):
    return " ".join(plain(m.value) for m in [*at.sidebar.markdown, *at.sidebar.caption])


def test_a_training_job_runs_in_the_background_and_installs_its_run(app):
    upload_slice(app, n_users=60)
    job = _start_training(app, ("popularity", "item_knn"), tune=False)
    assert job.label == "Training popularity, item_knn"
    assert any("runs in the background" in plain(i.value) for i in app.info)  # where to look, on Train
    trained_with = app.session_state["config"].fusion.normalization
    app.session_state["config"].fusion.normalization = "rank"  # the pages edit the setup meanwhile
    finish_job(app)
    assert app.session_state["trained_from"].fusion.normalization == trained_with != "rank"  # what was trained
    assert app.session_state["trained_run"].config.fusion.normalization == trained_with
    app.session_state["config"].fusion.normalization = trained_with
    trained_run = app.session_state["trained_run"]
    assert trained_run is not None and list(trained_run.weights_) == ["popularity", "item_knn"]
    assert app.session_state["result"] is trained_run.result_
    assert app.session_state["trained_from"].algorithm("item_knn") is not None
    notices = [plain(s.value) for s in app.success]
    assert len(notices) == 1 and notices[0].startswith("Trained popularity, item_knn in ")
    assert [m.label for m in app.metric][:1] == ["mix ndcg@10"]  # the page shows the new run
    app.run()
    assert not app.success  # the notice is shown once
    app.switch_page("app.py").run()
    text = _sidebar_text(app)
    assert "trained: popularity, item_knn" in text and "Cancel" not in [b.label for b in app.sidebar.button]


def test_cancel_stops_a_running_job_and_keeps_the_earlier_run(app):
    _load_sample(app)
    earlier = train(app, ("popularity",)).session_state["trained_run"]
    job = _start_training(app)
    app.switch_page("app.py").run()  # leaving Train does not stop it; Home shows it in the sidebar
    assert job.running, "the job ended before the test could cancel it"
    text = _sidebar_text(app)
    assert "Training popularity, item_knn, als" in text and "so far" in text
    assert app.sidebar.get("progress")
    app.button(key="job_cancel").click().run()
    check(app)
    warnings = [plain(w.value) for w in app.warning]  # a cancel seen at once is collected in that run
    assert job.wait(60) and job.state == "cancelled"
    app.run()
    check(app)
    warnings += [plain(w.value) for w in app.warning]
    assert "job" not in app.session_state
    assert app.session_state["trained_run"] is earlier  # nothing was installed
    assert list(app.session_state["result"].weights) == ["popularity"]
    assert sum("cancelled" in w and "nothing changed" in w for w in warnings) == 1, warnings  # shown once
    assert "trained: popularity" in _sidebar_text(app)


def test_a_failing_job_shows_its_one_line_error_and_loses_nothing(app, monkeypatch):
    upload_slice(app, n_users=60)
    earlier = train(app, ("popularity", "item_knn")).session_state["trained_run"]
    result = app.session_state["result"]
    monkeypatch.setenv("GENRE_RUN_MEMORY_MB", "0.001")  # the worker's memory check refuses the run
    job = _start_training(app, ("popularity", "item_knn", "ease"), tune=False, check_page=False)
    errors = [plain(e.value) for e in app.error]  # a busy machine may collect the failure in the same run
    if job is not None:
        assert job.wait(60) and job.state == "failed"
        assert "\n" not in job.error and "budget" in job.error
    app.run()
    errors += [plain(e.value) for e in app.error]
    assert len(errors) == 1 and errors[0].startswith("Training popularity, item_knn, ease failed: this run needs")
    assert "\n" not in errors[0] and "budget" in errors[0]
    assert "Nothing changed." in errors[0]
    assert app.session_state["trained_run"] is earlier and app.session_state["result"] is result
    assert [m.label for m in app.metric][:1] == ["mix ndcg@10"]  # the earlier run's page, intact
    app.run()
    assert not app.error  # shown once


def test_a_second_start_while_one_runs_is_refused(app):
    _load_sample(app)
    job = _start_training(app)
    button(app, "Train").click().run()  # again, while it runs
    check(app)
    assert job.running, "the job ended before the test could start a second one"
    refusals = [plain(w.value) for w in app.warning]
    assert any("is still running" in w and "Nothing new was started" in w for w in refusals), refusals
    assert app.session_state["job"] is job
    job.cancel()  # no need to wait for the whole training
    assert job.wait(60)
    app.run()
    check(app)
    assert app.session_state["trained_run"] is None


def test_umap_lays_the_map_out_in_the_background_with_pca_meanwhile(app):
    upload_slice(app, n_users=60)
    train(app, ("popularity", "item_knn"))
    app.switch_page("pages/4_Embeddings.py").run()
    app.toggle(key="emb_users").set_value(False)
    app.radio(key="emb_method").set_value("umap").run()
    check(app)
    job = app.session_state["job"]
    assert job.kind == "umap" and job.label.startswith("UMAP map of ")
    title = plotly_specs(app)[0]["layout"]["title"]["text"]
    assert title.endswith(", PCA") and any("in the background" in plain(i.value) for i in app.info), title
    finish_job(app, timeout=300)  # the first UMAP compiles its numba code
    assert plotly_specs(app)[0]["layout"]["title"]["text"].endswith(", UMAP")
    assert any("UMAP map" in plain(s.value) and "ready" in plain(s.value) for s in app.success)
    app.radio(key="emb_method").set_value("pca").run()
    app.radio(key="emb_method").set_value("umap").run()  # kept: no second job
    assert "job" not in app.session_state and plotly_specs(app)[0]["layout"]["title"]["text"].endswith(", UMAP")


def test_auto_tune_only_reads_the_live_run_and_its_weights_apply_when_collected(app):
    upload_slice(app, n_users=60)
    trained_run = train(app, ("popularity", "item_knn")).session_state["trained_run"]
    app.button(key="auto_tune").click().run()
    check(app)
    job = app.session_state["job"]
    assert job.kind == "auto_tune"
    app.slider(key="live_popularity").set_value(0.0).run()  # the sliders stay live while it searches
    check(app)
    assert trained_run.weights_["popularity"] == 0.0
    assert job.wait(120) and job.state == "done"
    # ended, not collected: the worker changed nothing of the run the pages read
    assert trained_run.tuning_ is None and trained_run.weights_["popularity"] == 0.0
    assert not any(stage.startswith("validation") for stage in trained_run.timings)
    finish_job(app)
    tuned = trained_run.tuning_.weights
    assert app.session_state["trained_run"] is trained_run and trained_run.weights_ == pytest.approx(tuned)
    assert app.slider(key="live_popularity").value == pytest.approx(tuned["popularity"], abs=1e-12)
    assert any(stage.startswith("validation") for stage in trained_run.timings)
    assert any(plain(s.value).startswith("Auto-tuned the weights on validation") for s in app.success)


def test_auto_tune_shows_validation_before_and_after_and_undo_restores_the_exact_weights(app):
    upload_slice(app, n_users=60)
    trained_run = train(app, ("popularity", "item_knn")).session_state["trained_run"]
    knn = trained_run.weights_["item_knn"]
    app.slider(key="live_popularity").set_value(0.1234).run()
    previous, test_before = dict(trained_run.weights_), app.session_state["result"].metrics.loc["mix", "ndcg@10"]
    assert previous == {"popularity": 0.1234, "item_knn": knn}
    app.button(key="auto_tune").click().run()
    finish_job(app)
    tuning = trained_run.tuning_
    assert tuning.baseline == previous  # the live weights were scored on the same validation store
    labels = {m.label: m for m in app.metric}
    shown = labels["validation ndcg@10 (tuned on)"]
    assert shown.value == f"{tuning.score:.4f}" and shown.delta == f"{tuning.score - tuning.baseline_score:+.4f} vs before"
    assert tuning.score >= tuning.baseline_score  # what it optimised never goes down
    captions = " ".join(plain(c.value) for c in app.caption)
    assert f"before {tuning.baseline_score:.4f} → after {tuning.score:.4f}" in captions
    assert f"before {test_before:.4f} → after" in captions
    assert labels["test ndcg@10"].value == f"{app.session_state['result'].metrics.loc['mix', 'ndcg@10']:.4f}"
    assert "never on test" in captions and "need not carry over" in captions
    app.slider(key="live_item_knn").set_value(0.5).run()  # the mix moves on: the figures are no longer its own
    assert "validation ndcg@10 (tuned on)" not in [m.label for m in app.metric]
    assert any("The mix moved since Auto-tune" in c.value for c in app.caption)
    app.button(key="auto_tune_undo_button").click().run()
    check(app)
    assert trained_run.weights_ == previous and trained_run.tuning_ is None  # exactly, and its tuning too
    assert app.session_state["result"].metrics.loc["mix", "ndcg@10"] == test_before
    assert app.slider(key="live_popularity").value == 0.1234 and app.slider(key="live_item_knn").value == knn
    assert any(plain(s.value) == f"Undone: back to popularity 0.1234, item_knn {knn:g}." for s in app.success)
    assert "validation ndcg@10 (tuned on)" not in [m.label for m in app.metric]  # nothing left to undo
