"""The LLM plumbing: the embedded client, the batched driver, the output cache, parsing, templates."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from genre.data import Dataset
from genre.errors import ConfigError, LLMError
from genre.llm import (
    EmbeddedClient,
    Generation,
    HTTPClient,
    LLMCancelled,
    OutputCache,
    ParseReport,
    check_template,
    complete_many,
    enrich_items,
    make_client,
    parse_reply,
    select_items,
)
from genre.llm.prompts import ITEM_TEMPLATE, PROFILE_TEMPLATE, template_fields
from genre.paths import llm_cache_dir

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


class Counting:
    """Wraps a client and counts the calls that reach it."""

    def __init__(self, inner):
        self.inner = inner
        self.model_id = inner.model_id
        self.prompts: list[str] = []

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        self.prompts.append(prompt)
        return self.inner.complete(prompt, max_tokens=max_tokens, temperature=temperature)


class CountingBatches(Counting):
    """Wraps a batching client and records each batch that reaches it."""

    def __init__(self, inner):
        super().__init__(inner)
        self.batch_size = inner.batch_size
        self.batches: list[list[str]] = []

    def complete_batch(self, prompts, max_tokens: int = 24, temperature: float = 0.0) -> list[str]:
        self.batches.append(list(prompts))
        self.prompts.extend(prompts)
        return self.inner.complete_batch(prompts, max_tokens=max_tokens, temperature=temperature)


class EchoBatches:
    """A batching stand-in: answers each prompt with its last line, upper-cased."""

    model_id = "echo-batches"
    batch_size = 2

    def complete_batch(self, prompts, max_tokens: int = 24, temperature: float = 0.0) -> list[str]:
        return [p.splitlines()[-1].upper() for p in prompts]


class Echo:
    """A deterministic stand-in model: answers with the prompt's last line, upper-cased."""

    model_id = "echo"

    def complete(self, prompt: str, max_tokens: int = 24, temperature: float = 0.0) -> str:
        return prompt.splitlines()[-1].upper()


@pytest.fixture(scope="module")
def three_movies() -> Dataset:
    movies = pd.read_csv(SAMPLE / "movies.csv", nrows=3).rename(columns={"movieId": "item_id"})
    interactions = pd.DataFrame({"user": [1, 1, 2], "item": movies["item_id"]})
    return Dataset.from_frame(interactions, movies)


# ---------------------------------------------------------------- embedded model
@pytest.mark.slow
def test_embedded_enrichment_is_batched_generated_once_then_cached(three_movies, tmp_path):
    client = CountingBatches(EmbeddedClient(n_threads=1, batch_size=2))
    cache = OutputCache(tmp_path)
    first = enrich_items(three_movies, client, generation=Generation(max_tokens=6, cache=cache))
    assert list(first["item_id"]) == [1, 2, 3]
    assert all(text.strip() for text in first["text"]), first
    assert sorted(map(len, client.batches)) == [1, 2]  # two forward passes for three prompts
    assert len(client.prompts) == 3 and any("Toy Story (1995)" in p for p in client.prompts)
    assert any("Adventure, Animation" in p for p in client.prompts)

    again = enrich_items(three_movies, client, generation=Generation(max_tokens=6, cache=OutputCache(tmp_path)))
    assert len(client.prompts) == 3  # no second model call: every output came from disk
    pd.testing.assert_frame_equal(first, again)
    assert first.attrs["parse_report"].total == 3
    with pytest.raises(LLMError, match="exceeds the context of 16"):
        EmbeddedClient(n_threads=1, n_ctx=16).complete("word " * 40, max_tokens=4)


def test_embedded_model_id_is_stable_and_missing_file_is_an_llm_error(tmp_path):
    assert EmbeddedClient().model_id == EmbeddedClient(n_threads=1, batch_size=4).model_id
    assert EmbeddedClient().model_id.startswith("transformers:SmolLM2-135M-Instruct.Q4_1.gguf:")
    assert EmbeddedClient.default_concurrency == 1
    with pytest.raises(LLMError, match="model file not found"):
        EmbeddedClient(model_path=tmp_path / "nope.gguf").complete("hi")


@pytest.mark.slow
def test_export_hf_folder_is_idempotent_and_atomic(tmp_path):
    from genre.llm.embedded import export_hf_folder

    folder = export_hf_folder(target=tmp_path / "hf")
    config = (folder / "config.json").read_text()
    assert '"LlamaForCausalLM"' in config and "quantization_config" not in config
    assert (folder / "tokenizer_config.json").is_file()
    stamp = (folder / "config.json").stat().st_mtime_ns
    assert export_hf_folder(target=folder) == folder and (folder / "config.json").stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["hf"]  # no staging folder left behind


# ---------------------------------------------------------------- complete_many
def test_complete_many_dedupes_reports_progress_and_resumes_after_cancel(tmp_path):
    client = Counting(Echo())
    cache = OutputCache(tmp_path)
    prompts = ["a\nx", "b\ny", "a\nx", "c\nz"]
    calls: list[tuple[int, int, str]] = []
    stop_after = {"n": 1}

    def should_stop() -> bool:
        return len(client.prompts) >= stop_after["n"]

    with pytest.raises(LLMCancelled, match="run again with the same cache"):
        complete_many(client, prompts, cache=cache, progress=lambda *a: calls.append(a),
                      should_stop=should_stop)
    assert client.prompts == ["a\nx"]
    # The duplicate prompt counted as done with its twin; the estimate is in the message.
    assert calls[-1][:2] == (2, 4) and "left" in calls[-1][2] and "prompts/s" in calls[-1][2]

    stop_after["n"] = 99
    calls.clear()
    out = complete_many(client, prompts, cache=cache, progress=lambda *a: calls.append(a),
                        should_stop=should_stop)
    assert out == ["X", "Y", "X", "Z"]
    assert client.prompts == ["a\nx", "b\ny", "c\nz"]  # resumed: "a" was not generated again
    assert calls[0][:2] == (2, 4) and calls[-1][:2] == (4, 4)


def test_complete_many_batches_similar_lengths_and_cancels_between_batches(tmp_path):
    client = CountingBatches(EchoBatches())
    prompts = ["long prompt\nccc", "a\nx", "mid one\nbb", "a\nx", "z"]
    stop = {"after": 1}
    with pytest.raises(LLMCancelled):
        complete_many(client, prompts, cache=OutputCache(tmp_path),
                      should_stop=lambda: len(client.batches) >= stop["after"])
    assert client.batches == [["z", "a\nx"]]  # shortest first, two per batch, the duplicate once
    stop["after"] = 99
    out = complete_many(client, prompts, cache=OutputCache(tmp_path), should_stop=lambda: False)
    assert out == ["CCC", "X", "BB", "X", "Z"]
    assert client.batches[1:] == [["mid one\nbb", "long prompt\nccc"]]  # resumed, nothing twice


def test_complete_many_rejects_non_text_and_bad_max_tokens():
    class Broken:
        model_id = "broken"

        def complete(self, prompt, max_tokens=24, temperature=0.0):
            return None

    with pytest.raises(LLMError, match="returned NoneType for 1 prompt.*expected text"):
        complete_many(Broken(), ["p"])
    with pytest.raises(ConfigError, match="max_tokens"):
        complete_many(Echo(), ["p"], max_tokens=0)


# ---------------------------------------------------------------- cache
def test_cache_keys_on_model_prompt_tokens_and_temperature(tmp_path):
    cache = OutputCache(tmp_path)
    cache.put("m1", "prompt", 24, 0.0, "one")
    assert cache.get("m1", "prompt", 24, 0.0) == "one"
    assert cache.get("m2", "prompt", 24, 0.0) is None
    assert cache.get("m1", "prompt", 12, 0.0) is None
    assert cache.get("m1", "prompt", 24, 0.7) is None
    assert cache.get("m1", "prompt!", 24, 0.0) is None
    cache.put("m1", "prompt", 24, 0.0, "two")  # replaces
    assert OutputCache(tmp_path).get("m1", "prompt", 24, 0.0) == "two"  # persisted
    assert len(cache) == 1 and cache.models() == {"m1": 1}


def test_cache_exports_csv_to_buffer_and_path(tmp_path):
    cache = OutputCache(tmp_path)
    cache.put("m", "p, with comma\nand newline", 8, 0.0, 'out "quoted"')
    cache.put("n", "q", 8, 0.0, "other")
    buffer = io.StringIO()
    cache.export_csv(buffer, model_id="m")
    frame = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert list(frame.columns) == ["model_id", "prompt", "max_tokens", "temperature", "output", "created"]
    assert frame.loc[0, "prompt"] == "p, with comma\nand newline"
    assert frame.loc[0, "output"] == 'out "quoted"' and len(frame) == 1
    cache.export_csv(tmp_path / "all.csv")
    assert len(pd.read_csv(tmp_path / "all.csv")) == 2


def test_llm_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GENRE_CACHE_DIR", str(tmp_path))
    assert llm_cache_dir() == tmp_path / "llm"
    assert OutputCache().path == tmp_path / "llm" / "outputs.sqlite"
    monkeypatch.delenv("GENRE_CACHE_DIR")
    assert llm_cache_dir() == Path.home() / ".cache" / "genre" / "llm"


# ---------------------------------------------------------------- parsing
@pytest.mark.parametrize("raw, text, outcome", [
    ("A heist in 1960s Rome.", "A heist in 1960s Rome.", "ok"),
    ('{"keywords": ["space", "robots"], "mood": "tense"}', "space, robots, tense", "json"),
    ('["space", "robots"]', "space, robots", "json"),
    ('{"keywords": ["space", "rob', "space, rob", "bad_json"),
    ("   \n ", "", "empty"),
    ("", "", "empty"),
    ("Keywords: heist, Rome\n", "heist, Rome", "ok"),
    ("Movie: Heat (1995) is a crime thriller.", "Heat (1995) is a crime thriller.", "ok"),
    ("Here are five keywords:\n\n1. Action\n2. Crime\n- Heist", "Action, Crime, Heist", "ok"),
    ("```json\n{\"text\": \"a film\"}\n```", "a film", "json"),
])
def test_parse_reply_falls_back_to_trimmed_text(raw, text, outcome):
    report = ParseReport()
    assert parse_reply(raw, report=report) == text
    assert report.counts[outcome] == 1 and report.total == 1


def test_parse_reply_cuts_runaway_text_at_a_word_boundary_and_reports():
    report = ParseReport()
    long = "word " * 100
    text = parse_reply(long, max_chars=42, report=report)
    assert len(text) <= 42 and text.endswith("word") and not text.endswith(" ")
    parse_reply("fine", report=report)
    parse_reply("", report=report)
    assert report.counts == {"ok": 1, "json": 0, "bad_json": 0, "empty": 1, "runaway": 1}
    assert report.fallbacks == 2
    assert str(report) == "3 replies, 2 fallbacks (1 empty, 1 runaway)"


# ---------------------------------------------------------------- templates and clients
def test_template_fields_and_validation():
    assert template_fields(ITEM_TEMPLATE) == ["title", "genres"]
    assert template_fields(PROFILE_TEMPLATE) == ["titles", "genres"]
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \{plot\}; available fields: \{title\}, \{genres\}"):
        check_template("About {title}: {plot}", ["title", "genres"])
    with pytest.raises(ConfigError, match="positional"):
        check_template("About {}", ["title"])
    with pytest.raises(ConfigError, match="cannot be parsed"):
        check_template("About {title", ["title"])
    assert check_template("Literal {{braces}} and {title}", ["title"]) == ["title"]


def test_enrich_items_checks_the_template_before_any_call(three_movies):
    client = Counting(Echo())
    with pytest.raises(ConfigError, match="available fields: {title}, {genres}"):
        enrich_items(three_movies, client, template="{title} {year}")
    assert client.prompts == []
    assert list(select_items(three_movies, "first", 2)) == [0, 1]


def test_make_client_validates_kind_and_options():
    client = make_client("http", base_url="http://127.0.0.1:8000", model="smollm2")
    assert isinstance(client, HTTPClient)
    assert client.model_id == "http://127.0.0.1:8000/v1#smollm2"
    assert isinstance(make_client("embedded", n_threads=1), EmbeddedClient)
    with pytest.raises(ConfigError, match="valid kinds: embedded, http"):
        make_client("openai")
    with pytest.raises(ConfigError, match="no option.*url.*valid options: base_url, model"):
        make_client("http", url="http://x")
