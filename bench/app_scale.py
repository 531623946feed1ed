"""The app at real size, in a real browser: upload a generated 1M-interaction CSV, train the
five-algorithm mix on the Train page, move a weight slider, open every page.

Run: ``nice -n 0 .venv/bin/python bench/app_scale.py [--interactions 1000000] [--items 50000] [--render-only]``

Data: ``bench/synth.py`` (MovieLens layout, reused from ``--data`` if already written). The app
runs as ``streamlit run app.py`` through ``tests/browser_steps.py`` (the browser test's own
server and steps: this script puts ``tests/`` on its path), driven in headless Debian chromium
by the playwright python client. Recorded: each stage as the page shows it — upload + preview
parse, Load data, Train (click until the metrics show, with the progress bar's stage messages
and when each appeared), each weight-slider move until the shown metrics change (goal ≤ 1.5 s),
and each page's time to draw with its exception count and the number of chart points it drew.
Screenshots go to ``test-artifacts/app_scale/`` (git-ignored). Writes
``bench/app_scale_results.json`` (with ``bench.results.provenance``) and the RESULTS.md
"app_scale" section, rendered from that JSON alone (``--render-only`` does just that).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.results import provenance, write_section  # noqa: E402
from bench.scale import ALS_FACTORS, KNN_K  # noqa: E402  (the scale bench's mix, the same parameters)

RESULTS_JSON = ROOT / "bench" / "app_scale_results.json"
SHOTS = ROOT / "test-artifacts" / "app_scale"
GOAL_WEIGHT_CHANGE_S = 1.5  # issue 21 item 6: metrics updated ≤ 1.5 s after a move on a quiet machine
#: The five-algorithm mix of bench/scale.py, as typed into the Train page (other parameters as the page has them).
MIX = {"popularity": {}, "item_knn": {"k": KNN_K}, "als": {"factors": ALS_FACTORS}, "sequential": {}, "content": {}}
#: Each page after training: the element that says it has drawn.
PAGES = {"Embeddings": '[data-testid="stPlotlyChart"] .js-plotly-plot', "Metrics": '[data-testid="stDataFrame"]',
         "Recommendations": "text=Top 10", "Configuration": "text=python -m genre run genre-config.yaml",
         "Data": '[data-testid="stPlotlyChart"] .js-plotly-plot', "Home": "text=mix of"}
#: Weight moves after training: (algorithm, key pressed on its slider).
MOVES = [("popularity", "Home"), ("item_knn", "Home"), ("popularity", "End")]


def chart_points(page) -> list[int]:
    """Points drawn by each Plotly chart on the page (sum over its traces): what the page sampled."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd =>
        (gd._fullData || []).reduce((n, t) => n + (t.x ? t.x.length : t.values ? t.values.length
                                                    : t.z ? t.z.length : 0), 0))""")


def sampling_notes(page) -> list[str]:
    """The page's captions that say it drew or evaluated a sample."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('[data-testid="stCaptionContainer"]'))
        .map(c => c.innerText).filter(t => /sample/i.test(t))""")


def stage_seconds(page) -> dict[str, float]:
    """The Train page's "Time per stage" chart, read back from the figure: stage → seconds."""
    return page.evaluate("""() => {
        const gd = Array.from(document.querySelectorAll('.js-plotly-plot'))
            .find(g => ((g.layout.title || {}).text || '').includes('Time per stage'));
        if (!gd) return {};
        const t = gd._fullData[0]; return Object.fromEntries(Array.from(t.y).map((s, i) => [s, t.x[i]]));
    }""")


def drive(url: str, ratings: Path, movies: Path, offered: list[str], shots: Path = SHOTS) -> dict:
    """The whole session in one browser page (screenshots to ``shots``); every figure the JSON holds
    about the app. tests/test_browser.py runs it too, on smaller data, and asserts on what it returns."""
    from playwright.sync_api import sync_playwright

    from browser_steps import (ARGS, CHROMIUM, choose_algorithms, mix_metrics, move_weight, open_page, set_toggle,
                               settle, shot, train, upload)

    out: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(120_000)
            start = time.perf_counter()
            page.goto(url)
            page.get_by_role("heading", name="GENRE").wait_for()
            settle(page)
            out["home_first_paint_s"] = time.perf_counter() - start

            out["upload"] = upload(page, ratings, [movies])
            out["loaded"] = next(line for line in page.get_by_test_id("stSidebarUserContent").inner_text()
                                 .splitlines() if " interactions" in line)
            out["pages"] = {"Data": {"points_drawn": chart_points(page)}}
            shot(page, shots / "1_data.png")

            open_page(page, "Train")
            choose_algorithms(page, MIX, offered)
            set_toggle(page, "tune_on_train", False)
            shot(page, shots / "3_train_setup.png")
            out["train"] = train(page, timeout=3600)
            out["train"]["flash"] = page.get_by_test_id("stAlertContentSuccess").first.inner_text().splitlines()[-1]
            out["train"]["metrics"] = mix_metrics(page)
            out["train"]["page_stage_seconds"] = stage_seconds(page)
            out["trained"] = next(line for line in page.get_by_test_id("stSidebarUserContent").inner_text()
                                  .splitlines() if "trained: " in line)
            shot(page, shots / "3_train.png")

            out["weight_moves"] = []
            for name, key in MOVES:
                moved = move_weight(page, name, key)
                out["weight_moves"].append({"algorithm": name, "key": key, **moved,
                                            "server_remix_s": stage_seconds(page).get("fuse+evaluate")})
            shot(page, shots / "3_train_after_moves.png")

            for n, (label, ready) in enumerate(PAGES.items(), start=4):
                start = time.perf_counter()
                exceptions = open_page(page, label, allow_exceptions=True)
                page.locator(ready).first.wait_for(timeout=600_000)
                seconds = time.perf_counter() - start
                out["pages"][label] = {"seconds": seconds, "exceptions": len(exceptions),
                                       "first_exception": exceptions[0][:500] if exceptions else None,
                                       "points_drawn": chart_points(page), "sampling_notes": sampling_notes(page)}
                shot(page, shots / f"{n}_{label.lower()}.png")
        finally:
            browser.close()
    return out


def run(args: argparse.Namespace) -> dict:
    from browser_steps import app_server
    from bench.synth import write
    from genre.algorithms import ALGORITHM_NAMES

    started = time.perf_counter()
    folder = write(args.data or Path(f"/tmp/genre-synth/app-{args.interactions}-{args.items}"),
                   args.interactions, args.items)
    ratings, movies = folder / "ratings.csv", folder / "movies.csv"
    results = {"provenance": provenance(ROOT, {"ratings.csv": ratings, "movies.csv": movies}, sys.argv),
               "interactions": args.interactions, "items": args.items,
               "ratings_csv_mb": ratings.stat().st_size / 1e6, "mix": MIX,
               "goal_weight_change_s": GOAL_WEIGHT_CHANGE_S}
    with tempfile.TemporaryDirectory(prefix="genre-app-scale-") as home, \
            app_server(Path(home), timeout=120) as (url, _port, healthy, _):
        results["server_healthy_s"] = healthy
        results.update(drive(url, ratings, movies, list(ALGORITHM_NAMES)))
    results["total_s"] = time.perf_counter() - started
    results["load_average_end"] = os.getloadavg()
    return results


def _stage_changes(stages: list[list]) -> list[list]:
    """The progress messages with each stage's counted steps ("x of n users", "iteration i/n")
    reduced to the first and the last."""
    def stage(text: str) -> str:
        return text.split(":")[0] if any(c.isdigit() for c in text) else text

    return [row for i, row in enumerate(stages)
            if i in (0, len(stages) - 1) or stage(row[1]) != stage(stages[i - 1][1])
            or stage(row[1]) != stage(stages[i + 1][1])]


def render(results: dict) -> str:
    """The RESULTS.md section, from the JSON alone."""
    p = results["provenance"]
    moves = results["weight_moves"]
    worst = max(m["seconds"] for m in moves)
    lines = [
        f"Command: `{' '.join(p['argv'])}` ({p['date'][:10]}, commit {p['commit'][:7]}, {p['machine']}, load average "
        f"{p['load_average']:.1f} at the start and {results['load_average_end'][0]:.1f} at the end). Headless "
        f"chromium drives `streamlit run app.py` (tests/browser_steps.py, the browser test's steps) on "
        f"`bench/synth.py` data: {results['loaded']} ({results['ratings_csv_mb']:.0f} MB ratings.csv). The mix: "
        + ", ".join(f"{a}" + (f" ({', '.join(f'{k}={v}' for k, v in ps.items())})" if ps else "")
                    for a, ps in results["mix"].items()) + ", chosen on the Train page; weights as the page sets "
        "them. Times are from the browser's side: action until the page has drawn.", "",
        "| stage | s |", "|---|---|",
        f"| server healthy | {results['server_healthy_s']:.1f} |",
        f"| Home first paint | {results['home_first_paint_s']:.1f} |",
        *[f"| {stage.removesuffix(' (s)')} | {s:.1f} |" for stage, s in results["upload"].items()],
        f"| Train: click until the metrics show | {results['train']['seconds']:.1f} |",
        *[f"| weight slider {m['algorithm']} ({m['key']}) until the metrics change (server re-mix + evaluation "
          f"{m['server_remix_s']:.2f}) | {m['seconds']:.2f} |" for m in moves], "",
        f"Weight change: slowest of {len(moves)} moves **{worst:.2f} s** (goal ≤ {results['goal_weight_change_s']:g} s,"
        f" {'met' if worst <= results['goal_weight_change_s'] else 'missed'}). The page's own message: "
        f"“{results['train']['flash']}”. While training, the browser answered every script call within "
        f"{results['train']['slowest_page_answer_s']:.2f} s (the page stays responsive).", "",
        "Progress bars during Train: the second after the click each message first showed, how full the stage "
        "bar was, the stage — and its counted work (first and last step of each count):", "",
        *[f"- {at:.1f} s ({filled:.0f} %) {text}" for at, text, filled in _stage_changes(results["train"]["stages"])],
        "",
        "Time per stage as the Train page's chart shows it (s): " + ", ".join(
            f"{stage} {s:.1f}" for stage, s in sorted(results["train"]["page_stage_seconds"].items(),
                                                      key=lambda kv: -kv[1]) if s >= 0.05) + ".", "",
        "| page | s to draw | exceptions | points per chart |", "|---|---|---|---|",
        *[f"| {name} | {page.get('seconds', float('nan')):.1f} | {page.get('exceptions', '—')} | "
          f"{', '.join(f'{n:,}' for n in page['points_drawn']) or '—'} |" for name, page in results["pages"].items()],
        "", "What the pages say they sampled:", "",
        *[f"- {name}: {note}" for name, page in results["pages"].items() for note in page.get("sampling_notes", [])],
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--data", type=Path, help="folder for the generated data (reused if present)")
    parser.add_argument("--render-only", action="store_true", help="rewrite RESULTS.md from the JSON")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a terminated run still stops its server
    if not args.render_only:
        RESULTS_JSON.write_text(json.dumps(run(args), indent=2) + "\n")
    results = json.loads(RESULTS_JSON.read_text())
    body = render(results)
    write_section(ROOT / "bench" / "RESULTS.md", "app_scale", "The app at size: upload, train, slider, pages in a "
                  "real browser", body)
    print(body)


if __name__ == "__main__":
    main()
