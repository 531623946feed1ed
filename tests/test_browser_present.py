"""The Present page in real headless Chromium: the sample with its LLM descriptions, a small mix trained
and saved with models, the live mix changed, then the
persona picker and cards, two mixes side by side, the read-only view, and its link reopened in a
second browser session of the same owner. Full-page screenshots go to ``test-artifacts/present_*.png``
(git-ignored), to be looked at as a stakeholder would."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from app_helpers import ROOT
from browser_steps import (ARGS, CHROMIUM, app_server, choose_algorithms, move_weight, open_page, sample_loaded, settle,
                           shot)

ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                                      reason="needs Debian's chromium (apt-get install -y chromium)")]


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("GENRE_USER", "presenter")  # one owner: a link opens in their other sessions
    with app_server(tmp_path) as (url, _, _, _):
        yield url


def _choose(page, key: str, option: str) -> None:
    page.locator(f".st-key-{key}").get_by_role("combobox").click()
    page.get_by_role("option", name=option).first.click()
    settle(page)


def test_present_cards_side_by_side_and_a_shared_link(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = sample_loaded(browser, server)
            open_page(page, "Encoders & LLM")
            page.get_by_role("tab", name="LLM item text").click()
            page.get_by_role("button", name="Use the descriptions SmolLM2 already wrote for the sample").click()
            settle(page)
            open_page(page, "Train")
            offered = page.evaluate("""() => Array.from(document.querySelectorAll('[class*="st-key-on_"]'))
                .map(e => Array.from(e.classList).find(c => c.startsWith('st-key-on_')).slice(10))""")
            choose_algorithms(page, {"popularity": {}, "item_knn": {}}, offered)
            page.get_by_role("button", name="Train", exact=True).click()
            page.get_by_text("Mix weights — live").wait_for(timeout=120_000)
            settle(page)
            open_page(page, "Metrics")
            page.locator(".st-key-run_name input").fill("popularity and item-kNN")
            page.get_by_role("button", name="Save with models").click()
            settle(page)
            page.get_by_text("with its models").first.wait_for()
            open_page(page, "Train")
            move_weight(page, "popularity", "Home")  # the current mix: item-kNN alone

            open_page(page, "Present")
            page.get_by_text("Top 10").first.wait_for()
            shot(page, ARTIFACTS / "present_1_cards.png")
            page.locator(".st-key-present_search input").fill("Horror")
            page.locator(".st-key-present_search input").press("Enter")
            settle(page)
            page.locator(".st-key-present_user").get_by_role("combobox").click()
            shot(page, ARTIFACTS / "present_2_picker.png")
            page.keyboard.press("Escape")
            settle(page)
            _choose(page, "present_vs", "Saved #1: popularity and item-kNN")
            page.get_by_text("recommendations in both lists").first.wait_for()
            shot(page, ARTIFACTS / "present_3_side_by_side.png")
            link = page.locator('[data-testid="stCode"]').last.inner_text().strip()
            assert "run=current" in link and "vs=1" in link and "view=present" in link

            page.locator(".st-key-present_view label").first.click()
            settle(page)
            assert page.locator(".st-key-present_run").count() == 0
            shot(page, ARTIFACTS / "present_4_read_only.png")

            other = browser.new_page(viewport={"width": 1440, "height": 1000})  # another session, same owner
            asked = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}  # the saved run alone, its mix
            other.goto(f"{server}/present?" + urlencode({"user": asked["user"], "run": asked["vs"],
                                                        "mix": asked["vsmix"], "view": "present"}))
            other.get_by_text("Top 10").first.wait_for(timeout=60_000)
            settle(other)
            shot(other, ARTIFACTS / "present_5_link_in_another_session.png")
            assert other.get_by_text(f"User {asked['user']}", exact=True).count() == 1
        finally:
            browser.close()
