"""Hosting: while one browser session uploads each decompression bomb of the hostile corpus, a second
session keeps working (real ``streamlit run app.py``, two Chromium contexts = two Streamlit sessions).

Each bomb is small on disk and huge once decoded; the Data page must refuse it in one line naming the
setting that raises the limit, without a traceback, while the other session — which has loaded the
sample — moves between pages and keeps its data. Timings go to ``test-artifacts/bombs.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import psutil
import pytest

from app_helpers import ROOT
from browser_steps import ARGS, CHROMIUM, app_server, open_page, settle, shot

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
from make_corpus import make_file  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
#: corpus bomb → the setting its refusal must name
BOMBS = {"bomb_rows.parquet": "GENRE_MAX_ROWS", "bomb_dictionary.parquet": "GENRE_MAX_DECODED_MB",
         "bomb_new_key_per_line.jsonl": "GENRE_MAX_COLUMNS", "bomb_wide_header.csv": "GENRE_MAX_COLUMNS"}
#: Generous ceilings (a shared 2-core CI machine): a session that waited longer was blocked, not slow.
RESPONSIVE_S, SERVER_GROWTH_MB = 60.0, 1500.0

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                      reason="needs Debian's chromium (apt-get install -y chromium)")]


def _rss_mb(process) -> float:
    root = psutil.Process(process.pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


def test_a_second_session_stays_responsive_while_each_bomb_is_refused(tmp_path):
    from playwright.sync_api import sync_playwright

    files = {name: make_file(name, tmp_path / "bombs") for name in BOMBS}
    timings: dict[str, dict[str, float]] = {}
    with app_server(tmp_path) as (url, _, _, process), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            attacker = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            visitor = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
            visitor.goto(url)
            settle(visitor)
            visitor.locator(".st-key-home_load_sample button").first.click()
            settle(visitor)
            visitor.get_by_text("610 users").first.wait_for(timeout=60_000)
            attacker.goto(url)
            settle(attacker)
            open_page(attacker, "Data")
            attacker.get_by_test_id("stRadioGroup").get_by_text("Upload files").click()
            settle(attacker)
            baseline = _rss_mb(process)
            for name, setting in BOMBS.items():
                started = time.perf_counter()
                attacker.locator('.st-key-upload_interactions input[type="file"]').set_input_files(str(files[name]))
                # the visitor works while the bomb is sent, decoded and refused
                open_page(visitor, "Data" if name != "bomb_rows.parquet" else "Train")
                visitor_s = time.perf_counter() - started
                open_page(visitor, "Home")
                visitor.get_by_text("610 users").first.wait_for(timeout=30_000)  # still its data
                settle(attacker)
                refused = attacker.get_by_test_id("stAlertContentError").filter(has_text=setting)
                if not refused.count():  # the bounded preview read only its head: refused on loading
                    attacker.get_by_role("button", name="Load data").click()
                    settle(attacker)
                refused.first.wait_for(timeout=60_000)
                timings[name] = {"visitor page change (s)": round(visitor_s, 2),
                                 "bomb refused (s)": round(time.perf_counter() - started, 2),
                                 "server RSS growth (MB)": round(_rss_mb(process) - baseline, 1)}
                assert attacker.get_by_test_id("stException").count() == 0, name
                assert visitor_s < RESPONSIVE_S, (name, timings[name])
                assert timings[name]["server RSS growth (MB)"] < SERVER_GROWTH_MB, (name, timings[name])
            shot(attacker, ARTIFACTS / "bombs_attacker.png")
            shot(visitor, ARTIFACTS / "bombs_visitor.png")
        finally:
            browser.close()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "bombs.json").write_text(json.dumps(timings, indent=2))
    print(timings)
