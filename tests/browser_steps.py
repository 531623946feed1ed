"""The app in real headless Chromium: start it, and the steps a person takes in it — one place for
tests/test_browser.py and bench/app_scale.py (which puts tests/ on its path to import this).

Debian's chromium through the playwright python client (never ``playwright install``); widgets
are found by the ``st-key-<key>`` class Streamlit gives every keyed widget, so a step names the
same key the page's code does.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from servers import free_port, process_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def app_server(home: Path, timeout: float = 60) -> Iterator[tuple[str, int, float, Any]]:
    """``streamlit run hosted.py`` (as run.sh: app.py behind the hosting guard) with its own GENRE_HOME
    and cache under ``home``; yields
    (url, port, seconds until healthy, the server's Popen). No ``--server.address``: the
    committed config binds it."""
    port = free_port()
    env = {"GENRE_HOME": str(home / "home"), "GENRE_CACHE_DIR": str(home / "cache"),
           "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "streamlit", "run", "hosted.py", "--server.headless", "true",
               "--server.port", str(port), "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    with process_server(command, f"{url}/_stcore/health", timeout=timeout, env=env, cwd=ROOT) as process:
        yield url, port, time.perf_counter() - started, process


def sample_loaded(browser: Any, url: str) -> Any:
    """A new page (a new session) on ``url`` with the bundled sample loaded from Home."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(url)
    page.get_by_role("heading", name="GENRE").wait_for(timeout=60_000)
    settle(page)
    page.get_by_role("button", name="Load sample data (MovieLens)").click()
    settle(page)
    return page


def settle(page: Any, timeout: float = 300_000, allow_exceptions: bool = False) -> list[str]:
    """Wait until the script run the last action started is over; the texts of any exceptions shown
    (an AssertionError with the first one unless ``allow_exceptions``)."""
    page.wait_for_timeout(500)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    page.wait_for_timeout(300)
    exceptions = page.locator('[data-testid="stException"]')
    texts = [exceptions.nth(i).inner_text() for i in range(exceptions.count())]
    assert allow_exceptions or not texts, texts[:1]
    return texts


def open_page(page: Any, label: str, allow_exceptions: bool = False) -> list[str]:
    """Click ``label`` in the sidebar navigation and settle; the exceptions shown (see ``settle``)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
    return settle(page, allow_exceptions=allow_exceptions)


def shot(page: Any, path: Path) -> None:
    """Full-page screenshot: the viewport grows to the page's height (Streamlit scrolls inside it)."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(1000, min(int(height) + 40, 6000))})
    page.wait_for_timeout(400)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 1000})


def upload(page: Any, interactions: Path, items: list[Path]) -> dict[str, float]:
    """Data page → Upload files → both uploaders → Load data; seconds of each step (until the page
    has settled: transfer, the preview's parse, then loading and the Data page's charts)."""
    seconds = {}
    open_page(page, "Data")
    page.get_by_test_id("stRadioGroup").get_by_text("Upload files").click()
    settle(page)
    for key, files in (("upload_interactions", [interactions]), ("upload_items", items)):
        start = time.perf_counter()
        page.locator(f'.st-key-{key} input[type="file"]').set_input_files([str(f) for f in files])
        settle(page, timeout=600_000)
        seconds[f"upload + preview {', '.join(f.name for f in files)} (s)"] = time.perf_counter() - start
    start = time.perf_counter()
    page.get_by_role("button", name="Load data").click()
    page.get_by_text("Loaded:").first.wait_for(timeout=1_200_000)
    settle(page, timeout=1_200_000)
    page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first.wait_for()
    seconds["load data: parse, clean, Data page drawn (s)"] = time.perf_counter() - start
    return seconds


def set_toggle(page: Any, key: str, on: bool) -> None:
    """Switch the toggle ``key`` on or off (a click on its label when it is the other way)."""
    if page.locator(f".st-key-{key} input").is_checked() != on:
        page.locator(f".st-key-{key} label").first.click()
        page.wait_for_timeout(100)


def set_number(page: Any, key: str, value: float) -> None:
    """Type ``value`` into the number input ``key`` (Tab commits it; inside a form, on submit)."""
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Tab")


def choose_algorithms(page: Any, params: dict[str, dict[str, float]], offered: list[str]) -> None:
    """On the Train page's setup form: switch on exactly the algorithms in ``params`` (of the
    ``offered`` names) and type their parameters."""
    for name in offered:
        set_toggle(page, f"on_{name}", name in params)
    for name, values in params.items():
        for param, value in values.items():
            set_number(page, f"p_{name}_{param}", value)


#: The Train page's metric row as shown, in the page: {"ndcg@10": "0.1234", …} (labels "mix <name>").
_MIX_METRICS_JS = """() => Object.fromEntries(Array.from(document.querySelectorAll('[data-testid="stMetric"]'))
    .map(m => [m.querySelector('[data-testid="stMetricLabel"]'), m.querySelector('[data-testid="stMetricValue"]')])
    .filter(([label, value]) => label && value && label.innerText.trim().startsWith('mix '))
    .map(([label, value]) => [label.innerText.trim().slice(4), value.innerText.trim()]))"""


def mix_metrics(page: Any) -> dict[str, str]:
    """The Train page's metric row as shown: ``{"ndcg@10": "0.1234", …}``."""
    return page.evaluate(_MIX_METRICS_JS)


def train(page: Any, timeout: float = 1_800) -> dict[str, Any]:
    """Press Train and wait for the live weights. Returns the seconds until the metrics show, the
    progress bars' messages (stage — its counted work) with the second each first appeared and how
    full the stage bar was (%), and the slowest answer of the page to a script call while training
    ran (is the browser responsive?)."""
    start = time.perf_counter()
    page.get_by_role("button", name="Train", exact=True).click()
    stages: list[tuple[float, str, float | None]] = []
    slowest = 0.0
    done = page.get_by_text("Mix weights — live")
    while not done.count():
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"training did not finish within {timeout:.0f} s; last stage: {stages[-1:]}")
        asked = time.perf_counter()
        text, filled = page.evaluate("""() => {
            const bars = Array.from(document.querySelectorAll('[data-testid="stProgress"]'));
            const first = bars.length ? bars[0].querySelector('[role="progressbar"]') : null;
            return [bars.map(b => b.innerText.trim()).join(' — '),
                    first ? Number(first.getAttribute('aria-valuenow')) : null]; }""")
        slowest = max(slowest, time.perf_counter() - asked)
        if text and (not stages or stages[-1][1] != text):
            stages.append((round(time.perf_counter() - start, 2), text, filled))
        page.wait_for_timeout(250)
    settle(page, timeout=timeout * 1000)
    page.locator('[data-testid="stMetric"]').first.wait_for()
    return {"seconds": time.perf_counter() - start, "stages": stages, "slowest_page_answer_s": slowest}


def move_weight(page: Any, name: str, key: str = "Home", timeout: float = 120) -> dict[str, Any]:
    """Focus ``name``'s live weight slider and press ``key`` (Home: weight 0); seconds until the
    shown metrics differ from before, both readings, and the sidebar's mix NDCG@10 afterwards."""
    before = mix_metrics(page)
    thumb = page.locator(f".st-key-live_{name}").get_by_role("slider")
    thumb.focus()
    start = time.perf_counter()
    thumb.press(key)
    # checked in the page on every animation frame: the moment the new numbers are drawn
    shown = json.dumps(before, separators=(",", ":"), ensure_ascii=False)  # as JSON.stringify writes it
    page.wait_for_function(f"before => JSON.stringify(({_MIX_METRICS_JS})()) !== before", arg=shown,
                           polling="raf", timeout=timeout * 1000)
    seconds = time.perf_counter() - start
    settle(page)
    sidebar = page.get_by_test_id("stSidebarUserContent").inner_text()
    return {"seconds": seconds, "before": before, "after": mix_metrics(page),
            "weight": float(thumb.get_attribute("aria-valuenow") or thumb.input_value()),
            "sidebar ndcg@10": sidebar.split("mix NDCG@10", 1)[1].split()[0]}
