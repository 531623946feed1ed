"""bench/scale.py end to end on a tiny synthetic log: the child's figures, and the section rendered from them."""

import json

import pytest

from bench import scale, synth


@pytest.fixture(scope="module")
def child_payload(tmp_path_factory):
    folder = synth.write(tmp_path_factory.mktemp("synth") / "tiny", 3000, 300, seed=1)
    out = folder.parent / "tiny.json"
    scale.run_child(folder, out)
    return json.loads(out.read_text())


def test_the_child_times_every_stage_of_the_run_and_the_library_fits(child_payload):
    stages = child_payload["stages"]
    for stage in ("load", "split", "features", "fit popularity", "fit item_knn", "fit als", "fit sequential",
                  "fit content", "weight change", "compare: GENRE item_knn", "compare: implicit als"):
        assert stage in stages, stage
    assert any(s.startswith("score + evaluate") for s in stages)
    assert all(row["wall_s"] >= 0 and row["peak_rss_mb"] > 0 for row in stages.values())
    assert len(child_payload["weight_change_s"]) == 3
    for algo in ("als", "item_knn"):
        row = child_payload["library"][algo]
        assert row["ratio_wall"] == pytest.approx(row["genre_wall_s"] / row["direct_wall_s"])
    assert 0 < child_payload["mix"]["ndcg@10"]["value"] <= 1
    assert [a["name"] for a in child_payload["config"]["algorithms"]] == [
        "popularity", "item_knn", "als", "sequential", "content"]


def test_the_section_is_rendered_from_the_json_alone(child_payload, tmp_path):
    run = dict(child_payload, process_wall_s=10.0, process_peak_rss_gb=0.5, nice=5, date="2026-11-30T16:00:00+00:00",
               machine="x86_64, 2 cores", load_average_mean=1.0, argv=["bench/scale.py"], commit="0" * 40,
               uncommitted=[], input_sha256={"ratings.csv": "a" * 64, "movies.csv": "b" * 64},
               data="bench/synth.py 3000 --items 300 --seed 0")
    before = {"1m": {"process_wall_s": 552.0, "process_peak_rss_gb": 1.26,
                     "stages": {"load": {"wall_s": 1.0, "cpu_s": 0.8}, "score als (inside weight change)":
                                {"wall_s": 12.9, "cpu_s": None}, "weight change": {"wall_s": 110.8, "cpu_s": 108.0}}}}
    text = scale.render({"runs": {"1m": run}, "before": {"commit": "9" * 40, "results": before}},
                        plot_stem=tmp_path / "scale")
    assert "| fit item_knn |" in text and "**whole run**" in text
    assert "| 1m | run_s | ≤ 120 |" in text and "| 10m | — | — | not run yet | — | — |" in text
    assert "| 1m | 552 (1) → " in text and "| 110.8 (108.0) → " in text  # before / after
    assert (tmp_path / "scale.html").exists()
