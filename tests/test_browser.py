"""End to end in real headless Chromium: upload, train, and every page renders; screenshots of each.

Starts ``streamlit run app.py`` on a free local port, drives it with the playwright python
client and Debian's chromium (never ``playwright install``), and saves a full-page screenshot
of every page to ``test-artifacts/`` (git-ignored) together with the measured timings.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from app_helpers import ROOT, sample_slice

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                      reason="needs Debian's chromium (apt-get install -y chromium)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """The app served on 127.0.0.1; yields (url, seconds until healthy); terminated afterwards."""
    port = _free_port()
    env = {**os.environ, "GENRE_HOME": str(tmp_path / "home"), "GENRE_CACHE_DIR": str(tmp_path / "cache"),
           "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log = open(tmp_path / "streamlit.log", "wb")
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert process.poll() is None, (tmp_path / "streamlit.log").read_text()
            assert time.monotonic() < deadline, "the server did not become healthy in 60 s"
            time.sleep(0.2)
        yield url, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _settle(page, timeout: float = 300_000) -> None:
    """Wait until the script run that the last action started is over, then check for tracebacks."""
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_timeout(300)
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def _open(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
    _settle(page)


def _shot(page, name: str) -> None:
    """Full-page screenshot: the viewport grows to the page's height (Streamlit scrolls inside it)."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(1000, min(int(height) + 40, 6000))})
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size({"width": 1440, "height": 1000})


def _sidebar_status(page) -> str:
    return page.get_by_test_id("stSidebarUserContent").inner_text()


def _check_second_session_is_isolated(browser, url: str, first) -> None:
    """A second browser context is a second Streamlit session: it sees none of ``first``'s data or
    training, and loading data in it leaves ``first`` as it was.

    ``first`` has uploaded ratings.csv and trained, and shows Home.
    """
    before = _sidebar_status(first)
    assert "ratings.csv" in before and "trained: ease, content" in before, before
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        second = context.new_page()
        second.goto(url)
        second.get_by_role("heading", name="GENRE").wait_for(timeout=60_000)
        _settle(second)
        status = _sidebar_status(second)
        assert "no data loaded" in status and "not trained yet" in status, status
        home = second.get_by_test_id("stMain").inner_text()
        assert "ratings.csv" not in home and "mix of ease" not in home, home
        assert "load the sample or upload your files" in home and "choose algorithms and train" in home, home

        for label in ("Recommendations", "Metrics"):
            _open(second, label)
            second.get_by_text("No data yet").first.wait_for()
            shown = second.get_by_test_id("stMain").inner_text()
            assert "Top 10" not in shown and "Metrics per algorithm" not in shown, f"{label}: {shown}"

        _open(second, "Home")
        second.get_by_role("button", name="Load sample data (MovieLens)").click()
        second.get_by_test_id("stSidebarUserContent").get_by_text("MovieLens sample").wait_for(timeout=120_000)
        _settle(second)
        status = _sidebar_status(second)
        assert "610 users" in status and "not trained yet" in status and "ratings.csv" not in status, status
        second.mouse.move(1400, 900)  # off the button, so its tooltip does not cover the page
        _shot(second, "8_second_session")
        _open(second, "Recommendations")
        second.get_by_text("Nothing trained yet").first.wait_for()
        assert second.locator('[data-testid="stButton"]').filter(has_text="thumb_up").count() == 0

        _open(first, "Home")  # a fresh script run of the first session, reading its state on the server
        assert _sidebar_status(first) == before
        home = first.get_by_test_id("stMain").inner_text()
        assert "ratings.csv: 60 users" in home and "mix of ease, content" in home, home
        assert "MovieLens sample: 610 users" not in home, home
    finally:
        context.close()


def test_upload_train_and_every_page_renders(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, healthy_after = server
    ARTIFACTS.mkdir(exist_ok=True)
    files = {}
    for name, content in sample_slice(60).items():
        files[name] = tmp_path / name
        files[name].write_bytes(content)
    timings = {"server healthy (s)": round(healthy_after, 2)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            start = time.perf_counter()
            page.goto(url)
            page.get_by_role("heading", name="GENRE").wait_for(timeout=60_000)
            timings["home first paint (s)"] = round(time.perf_counter() - start, 2)
            _settle(page)
            _shot(page, "0_home_empty")

            _open(page, "Data")
            page.get_by_test_id("stRadioGroup").get_by_text("Upload files").click()
            _settle(page)
            uploads = page.locator('[data-testid="stFileUploader"] input[type="file"]')
            uploads.nth(0).set_input_files(str(files["ratings.csv"]))
            _settle(page)
            uploads.nth(1).set_input_files([str(files["movies.csv"]), str(files["tags.csv"])])
            _settle(page)
            page.get_by_role("button", name="Load data").click()
            page.get_by_text("Loaded: ratings.csv").wait_for(timeout=60_000)
            _settle(page)
            page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.wait_for()
            _shot(page, "1_data")

            _open(page, "Encoders & LLM")
            _shot(page, "2_encoders")
            page.get_by_role("tab", name="LLM item text").click()
            _settle(page)
            _shot(page, "2_encoders_llm")

            _open(page, "Train")
            start = time.perf_counter()
            page.get_by_role("button", name="Train", exact=True).click()
            page.get_by_text("Mix weights — live").wait_for(timeout=300_000)
            _settle(page)
            timings["train ease + content on 60 users, click to chart (s)"] = round(time.perf_counter() - start, 2)
            page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.wait_for()
            _shot(page, "3_train")

            _open(page, "Embeddings")
            page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.wait_for()
            assert page.locator(".js-plotly-plot .scatterlayer, .js-plotly-plot .gl-container").count() > 0
            _shot(page, "4_embeddings")

            _open(page, "Metrics")
            page.get_by_text("Metrics per algorithm and for the mix").first.wait_for()
            _shot(page, "5_metrics")

            _open(page, "Recommendations")
            page.get_by_text("Top 10").first.wait_for()
            _shot(page, "6_recommendations")
            assert page.locator('[data-testid="stButton"]').filter(has_text="thumb_up").count() == 10

            _open(page, "Configuration")
            page.get_by_text("python -m genre run genre-config.yaml").first.wait_for()
            _shot(page, "7_configuration")

            _open(page, "Home")
            _shot(page, "0_home_done")

            start = time.perf_counter()
            _check_second_session_is_isolated(browser, url, page)
            timings["second session checks (s)"] = round(time.perf_counter() - start, 2)
        finally:
            browser.close()
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2))
    print(timings)
    assert timings["home first paint (s)"] < 10
