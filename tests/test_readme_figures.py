"""Every figure README.md and docs/ quote comes from a committed bench JSON, and the headline ones reproduce."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import coldstart, quality, readme  # noqa: E402

PROVENANCE = {"argv": ["bench/x.py"], "commit": "0123456789abcdef", "uncommitted": [], "seconds": 12.0,
              "date": "2026-11-30T19:00:00+00:00", "machine": "x86_64, 2 cores", "load_average": 1.25,
              "input_sha256": {"ratings.csv": "ab"}}


def quality_results() -> dict:
    """A small results dict in bench/quality.py's schema."""
    def row(model, params, ndcg, in_mix=True, reference=None):
        return {"model": model, "params": params, "in_mix": in_mix, "ndcg@10": ndcg, "recall@10": ndcg / 2,
                "fit_s": 1.5, "reference": reference, "bar": None}

    return {**PROVENANCE, "argv": ["bench/quality.py"], "config": "configs/tuned_mix.yaml", "split": "temporal",
            "users": 610, "features": [{"name": "text", "fields": ["title"], "encoder": "tfidf"}],
            "rows": [row("ease", {"l2": 250.0}, 0.13, reference=0.1326), row("item_knn", {"k": 400}, 0.12),
                     row("content", {"weighting": "uniform"}, 0.02),
                     row("popularity", {}, 0.0885, in_mix=False, reference=0.0885)],
            "mix": {"weights": {"ease": 0.6, "item_knn": 0.3, "content": 0.1}, "ndcg@10": 0.16543,
                    "recall@10": 0.09, "fit_s": 3.0, "validation_metric": "ndcg@10", "validation_score": 0.175,
                    "n_trials": 40, "reference": "0.1326 (best single)", "bar": 0.136},
            "refuse_s": 0.2, "refuse_repeats": 5}


def coldstart_results(llm_items: int = 9724) -> dict:
    """A small results dict in bench/coldstart.py's schema; ``llm_items`` of 9,724 items have LLM text."""
    def row(model, kind, ndcg, label="", **extra):
        return {"model": model, "label": label or model, "kind": kind, "ndcg@10": ndcg, "recall@10": ndcg / 2,
                "fit_s": 0.1, **extra}

    params = {"l2": 0.0001, "knn_weight": 0.1}
    rows = [row(f"content ({key})", "content", ndcg, space=key, reference=None)
            for key, ndcg in (("tfidf", 0.1424), ("minilm", 0.07), ("minilm+llm", 0.08), ("use", 0.065),
                              ("use+llm", 0.06), ("genres", 0.045), ("random", 0.018))]
    rows += [row("content_to_cf (use)", "content_to_cf", 0.26569, "ContentToCF on USE", space="use", params=params,
                 reference="bar 0.214 (1.5× TF-IDF), aim 0.285"),
             row("content_to_cf (use+llm)", "content_to_cf_llm", 0.27, "ContentToCF on USE + LLM text",
                 space="use+llm", params=params),
             {**row("content_to_cf (use) map alone", "part", 0.25, "its content-to-CF map alone", knn_weight=0.0),
              "fit_s": None},
             row("two_space (use map, tfidf transfer)", "two_space", 0.286, map="use", transfer="tfidf",
                 transfer_weight=0.1)]
    return {**PROVENANCE, "argv": ["bench/coldstart.py"], "n_items": 9724, "cold_items": 1944,
            "evaluated_users": 608, "validation": {"cold_items": 1556, "users": 605}, "rows": rows,
            "chosen": {"space": "use", "encoder": "use-multilingual", "params": params, "repr": "ContentToCF(...)",
                       "validation_ndcg@10": 0.33},
            "validation_grid": {"knn_weights": [0.0, 0.1], "rows": [{"encoder": "use", "l2": 1e-4,
                                                                     "ndcg@10": [0.32, 0.33], "fit_s": 25.0}]},
            "two_space": {"weights": [0.1], "rows": [{"map": "use", "transfer": "tfidf", "ndcg@10": [0.347]}],
                          "chosen": {"map": "use", "transfer": "tfidf", "weight": 0.1}},
            "llm": {"file": "sample_data/enrichment/smollm2_items.csv", "model": "SmolLM2-135M", "items": llm_items,
                    "cold_items": 1944, "runtimes": {"transformers": llm_items}}}


# ------------------------------------------------------------------ renderers, on small dicts
def test_sections_carry_their_command_commit_date_and_load():
    for text in (quality.render(quality_results()), coldstart.render(coldstart_results())):
        assert "commit 0123456789" in text and "2026-11-30" in text and "load average 1.2" in text
    assert "`.venv/bin/python bench/quality.py`" in quality.render(quality_results())
    section = coldstart.render(coldstart_results())
    assert "| **ContentToCF** on USE (l2=0.0001, knn_weight=0.1) | **0.2657** |" in section
    assert "| ↳ its content-to-CF map alone (knn_weight=0, same fit) | 0.2500 | 0.1250 | — | — |" in section
    assert "| use | 0.0001 | 0.3200 | 0.3300 | 25.0 |" in section


def test_readme_blocks_quote_the_json_figures():
    block = readme.quality_block(quality_results())
    assert "| EASE (λ=250) | 0.1300 |" in block and "| item-kNN (k=400) |" in block
    assert "**tuned mix** (EASE, item-kNN, TF-IDF content) | **0.1654** |" in block
    assert block.endswith("reproduces the mix's 0.1654.")
    block = readme.coldstart_block(coldstart_results())
    assert ("| **ContentToCF** (multilingual USE → collaborative space, + content-kNN transfer) | **0.2657** |"
            in block)
    assert "weight 0.1) | 0.2860 |" in block and "MiniLM profile cosine rose from 0.0700 to 0.0800" in block


def test_llm_text_is_phrased_from_its_coverage():
    full = coldstart_results(llm_items=9724)
    assert "descriptions of all 9,724 items (the 1,944 cold ones included;" in readme.coldstart_block(full)
    assert "lack the text" not in readme.coldstart_block(full)
    assert "Every item has it" in coldstart.render(full) and "partial" not in coldstart.render(full)
    partial = coldstart_results(llm_items=2128)
    assert ("descriptions of all 1,944 cold items (`sample_data/enrichment/`; 2,128 of 9,724 items described so "
            "far)" in readme.coldstart_block(partial))
    assert "mostly lack the text (184 of 7,780 have it; see" in readme.coldstart_block(partial)
    assert "mostly learnt from vectors without LLM text" in coldstart.render(partial)


def test_update_readme_rewrites_only_the_marked_blocks(tmp_path, monkeypatch):
    results = quality_results()
    (tmp_path / "quality.json").write_text(json.dumps(results))
    monkeypatch.setitem(readme.JSONS, "quality", tmp_path / "quality.json")
    for other in set(readme.JSONS) - {"quality"}:
        monkeypatch.setitem(readme.JSONS, other, tmp_path / "missing.json")
    page = tmp_path / "README.md"
    page.write_text("# Title\n\n<!-- figures:quality:start -->\nold 0.1\n<!-- figures:quality:end -->\n\nrest\n")
    assert readme.update_readme(path=page) == ["quality"]
    text = page.read_text()
    assert text.startswith("# Title\n\n<!-- figures:quality:start -->\n") and text.endswith("-->\n\nrest\n")
    assert readme.marked_block(text, "quality") == readme.quality_block(results)
    assert readme.update_readme(path=page) == ["quality"] and page.read_text() == text  # idempotent


def test_a_json_missing_new_fields_names_the_script_to_rerun():
    stale = copy.deepcopy(coldstart_results())
    del stale["validation_grid"]
    with pytest.raises(readme.StaleResults, match="validation_grid.*bench/coldstart.py"):
        readme.coldstart_block(stale)


# ------------------------------------------------------------------ the committed README and JSONs
def committed(key: str) -> dict:
    results = readme.load_results(key)
    if results is None:
        pytest.skip(f"{readme.JSONS[key].relative_to(ROOT)} not written yet: run {readme.SCRIPTS[key]}")
    return results


@pytest.mark.parametrize("key", list(readme.BLOCKS))
def test_readme_and_docs_quote_the_committed_jsons(key):
    """Each block, in the page it lives in (README.md or docs/), is what its committed JSON renders to."""
    results = committed(key)
    page = readme.TARGETS[key]
    text = page.read_text(encoding="utf-8")
    assert readme.marked_block(text, key, page) == readme.BLOCKS[key](results), \
        f"{page.relative_to(ROOT)}'s {key} block is stale: run `.venv/bin/python bench/readme.py`"


def test_each_figure_block_lives_in_exactly_one_page():
    """A block moved out of the README leaves no unrendered copy behind."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for key in readme.BLOCKS:
        start, _ = readme.markers(key)
        holders = [page.relative_to(ROOT) for page in pages if start in page.read_text(encoding="utf-8")]
        assert holders == [readme.TARGETS[key].relative_to(ROOT)], (key, holders)


def genre_run(config: str) -> dict:
    """``python -m genre run CONFIG --json --no-save`` as a user runs it: the printed metrics."""
    # the embedding cache persists between runs in the git-ignored .genre-cache (never the user's home)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT / ".genre-cache"), "GENRE_HOME": str(ROOT / ".genre-cache"),
           "GENRE_CACHE_DIR": str(ROOT / ".genre-cache" / "embeddings"),
           "OPENBLAS_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-m", "genre", "run", config, "--json", "--no-save"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["metrics"]["mix"]


@pytest.mark.slow
def test_headline_figures_reproduce():
    """The README's two headline figures, as their JSONs record them, come out of the CLI on the configs."""
    mix = committed("quality")
    cold = committed("coldstart")
    assert round(genre_run(mix["config"])["ndcg@10"], 4) == round(mix["mix"]["ndcg@10"], 4)

    chosen = cold["chosen"]
    config = yaml.safe_load((ROOT / "configs" / "content_to_cf.yaml").read_text(encoding="utf-8"))
    assert [m["encoder"] for m in config["features"]["modalities"]] == [chosen["encoder"]], \
        "configs/content_to_cf.yaml no longer uses the encoder bench/coldstart.py chose"
    assert config["algorithms"][0]["params"] == pytest.approx(chosen["params"])
    row = next(r for r in cold["rows"] if r["model"] == f"content_to_cf ({chosen['space']})")
    ndcg = genre_run("configs/content_to_cf.yaml")["ndcg@10"]
    assert round(ndcg, 4) == round(row["ndcg@10"], 4)
