"""``python -m genre serve``: a real uvicorn process on a saved run, hit with a real HTTP client."""

from __future__ import annotations

import http.client
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from genre.config import RunConfig
from genre.run import Experiment
from genre.serving import curl_command, serve_command
from genre.serving.queries import MAX_K, UserLists, user_recommendations
from tests.servers import free_port, process_server

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"data": {"source": str(ROOT / "sample_data")}, "split": {"method": "temporal"},
          "features": {"modalities": []},
          "algorithms": [{"name": "popularity", "weight": 0.2}, {"name": "ease", "weight": 0.5},
                         {"name": "item_knn", "weight": 0.3}],
          "tuning": {"enabled": False}, "evaluation": {"ks": [10]}}
KEY = "s3cret-key"


@pytest.fixture(scope="module")
def trained_and_path(tmp_path_factory):
    trained = Experiment(RunConfig.from_dict(CONFIG)).train()
    path = tmp_path_factory.mktemp("served") / "run"
    trained.save(path)
    return trained, path


def _serve(path: Path, env: dict | None = None):
    port = free_port()
    command = [sys.executable, "-m", "genre", "serve", str(path), "--port", str(port)]
    return port, process_server(command, f"http://127.0.0.1:{port}/health", timeout=300, cwd=ROOT,
                                env={"OPENBLAS_NUM_THREADS": "1", "GENRE_API_KEY": "", **(env or {})})


@pytest.fixture(scope="module")
def server(trained_and_path):
    port, running = _serve(trained_and_path[1])
    with running:
        yield f"http://127.0.0.1:{port}"


def call(url: str, body: bytes | dict | None = None, headers: dict | None = None) -> tuple[int, dict, str]:
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as reply:
            text = reply.read().decode()
            return reply.status, json.loads(text), text
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text), text


def test_the_server_gives_the_trained_runs_top10(server, trained_and_path):
    trained, _ = trained_and_path
    for user in trained.user_ids_evaluated[:50]:
        status, body, _ = call(f"{server}/users/{user}/recommendations?k=10")
        assert status == 200
        expected = trained.recommend(user, k=10, explain=False)["item_id"].tolist()
        assert [item["item_id"] for item in body["items"]] == expected


def test_known_users_lists_ranked_at_startup_equal_recommend(trained_and_path):
    """The server's precomputed lists answer exactly what ``TrainedRun.recommend`` ranks, scores too."""
    trained, _ = trained_and_path
    lists = UserLists.of(trained)
    assert lists.complete.any()
    for user in trained.user_ids_evaluated[:60]:
        for k in (10, MAX_K):
            fast = user_recommendations(trained, str(user), k, lists)["items"]
            slow = user_recommendations(trained, str(user), k)["items"]
            assert [i["item_id"] for i in fast] == [i["item_id"] for i in slow]
            assert [i["title"] for i in fast] == [i["title"] for i in slow]
            assert [i["score"] for i in fast] == pytest.approx([i["score"] for i in slow], rel=1e-6, abs=1e-7)
    short = lists.users[~lists.complete]  # users with fewer candidates than MAX_K: answered by recommend
    for user in short[:5]:
        assert lists.row(int(user)) is None


def test_a_posted_history_is_folded_in(server, trained_and_path):
    trained, _ = trained_and_path
    user = trained.user_ids_evaluated[0]
    history = trained.history(user).sort_values("timestamp")
    status, body, _ = call(f"{server}/recommendations", {"items": history["item_id"].tolist(), "k": 10})
    assert status == 200 and body["skipped"] == {}
    assert [i["item_id"] for i in body["items"]] == trained.recommend(user, k=10, explain=False)["item_id"].tolist()
    stamps = (history["timestamp"].astype("int64") // 10**9).tolist()
    status, body, _ = call(f"{server}/recommendations", {"items": history["item_id"].tolist(), "timestamps": stamps})
    assert status == 200 and len(body["items"]) == 10


def test_similar_items_run_health_and_docs(server, trained_and_path):
    trained, _ = trained_and_path
    item = trained.dataset_.item_ids[0]
    status, body, _ = call(f"{server}/items/{item}/similar?k=5")
    assert status == 200 and len(body["items"]) == 5 and item not in [i["item_id"] for i in body["items"]]
    status, body, _ = call(f"{server}/run")
    assert status == 200 and body["weights"] == trained.weights_ and "mix" in body["metrics"]
    assert call(f"{server}/health")[0] == 200
    with urllib.request.urlopen(f"{server}/docs", timeout=60) as reply:
        assert reply.status == 200
    with urllib.request.urlopen(f"{server}/openapi.json", timeout=60) as reply:
        assert "/recommendations" in json.loads(reply.read())["paths"]


@pytest.mark.parametrize("path, body, status", [
    ("/users/no-such-user/recommendations", None, 404),
    ("/items/no-such-item/similar", None, 404),
    ("/recommendations", {"items": ["no-such-item"]}, 404),
    ("/users/1/recommendations?k=101", None, 400),
    ("/users/1/recommendations?k=0", None, 400),
    ("/users/1/recommendations?k=ten", None, 422),
    ("/recommendations", {"items": [1] * 1001}, 400),
    ("/recommendations", {"items": [1], "k": 500}, 400),
    ("/recommendations", {"items": []}, 400),
    ("/recommendations", {"items": [1, 2], "timestamps": [1]}, 400),
    ("/recommendations", {"items": [1], "extra": 1}, 400),
    ("/recommendations", b"not json", 400),
    ("/nowhere", None, 404),
])
def test_bad_requests_get_one_line_json_errors(server, path, body, status):
    code, reply, text = call(f"{server}{path}", body)
    assert code == status
    assert set(reply) == {"error"} and reply["error"] and "\n" not in text


def _raw_post(base: str, headers: dict, body: bytes) -> tuple[int, str]:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    connection.putrequest("POST", "/recommendations")
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    try:
        connection.send(body)
    except OSError:  # the server may answer (and close) before reading an oversized body
        pass
    reply = connection.getresponse()
    return reply.status, reply.read().decode()


def test_an_oversized_body_is_refused(server):
    status, text = _raw_post(server, {"Content-Type": "application/json", "Content-Length": "1000001"}, b"")
    assert status == 413 and set(json.loads(text)) == {"error"}
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in [b"[" + b"1," * 300_000] * 2) + b"0\r\n\r\n"
    status, text = _raw_post(server, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, chunks)
    assert status == 413 and "\n" not in text


def test_the_api_key_is_enforced_when_set(trained_and_path):
    port, running = _serve(trained_and_path[1], {"GENRE_API_KEY": KEY})
    base = f"http://127.0.0.1:{port}"
    with running:
        assert call(f"{base}/health")[0] == 200
        code, reply, _ = call(f"{base}/run")
        assert code == 401 and "X-API-Key" in reply["error"]
        assert call(f"{base}/run", headers={"X-API-Key": "wrong"})[0] == 401
        assert call(f"{base}/users/1/recommendations", headers={"X-API-Key": KEY})[0] == 200


def test_the_lines_the_app_shows():
    assert curl_command(1, 5) == "curl -s 'http://127.0.0.1:8000/users/1/recommendations?k=5'"
    assert "X-API-Key" in curl_command("a b", 5, with_api_key=True) and "a%20b" in curl_command("a b")
    assert serve_command("runs/x") == "python -m genre serve runs/x --port 8000"
