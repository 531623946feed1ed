"""The outbound policy for server URLs typed in the app (issue 10 §2): allow-list, DNS, which key goes where.

Host names other than ``localhost`` cannot be resolved on this offline machine, so the DNS
tests hand ``check_app_url`` a resolver that answers as a rebinding DNS server would.
"""

from __future__ import annotations

import socket

import pytest

from genre.errors import LLMError
from genre.llm import HTTPClient
from genre.llm.endpoints import allowed_entries, app_client_options, check_app_url
from servers import ScriptedServer, chat_reply


def resolver(table: dict[str, str]):
    """getaddrinfo answering from ``table`` (name → address), as a DNS server controlled by someone would."""
    def resolve(host, port, type=0):  # noqa: A002 (getaddrinfo's name)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        family = socket.AF_INET6 if ":" in table[host] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (table[host], port))]
    return resolve


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("GENRE_LLM_HOSTS", "GENRE_LLM_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_default_allows_loopback_only():
    assert check_app_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert check_app_url("http://127.3.2.1:1234/v1") == "http://127.3.2.1:1234/v1"
    assert check_app_url("http://[::1]:8000/v1") == "http://[::1]:8000/v1"
    assert check_app_url("http://localhost:8000/v1") == "http://localhost:8000/v1"  # the real resolver
    for url in ("http://10.0.0.5:8000/v1", "http://169.254.169.254/latest", "http://evil.example/v1",
                "https://api.openai.com/v1", "http://0.0.0.0:8000/v1"):
        with pytest.raises(LLMError, match=r"not an allowed language-model server \(rule: GENRE_LLM_HOSTS, "
                                           r"now 127\.0\.0\.0/8, ::1, localhost\); ask the operator"):
            check_app_url(url)
    with pytest.raises(LLMError, match="must not carry a user name or password"):
        check_app_url("http://user:pw@127.0.0.1:8000/v1")
    with pytest.raises(LLMError, match="must look like http://host:port/v1"):
        check_app_url("file:///etc/passwd")


def test_dns_rebinding_to_a_private_address_is_refused(monkeypatch):
    monkeypatch.setenv("GENRE_LLM_HOSTS", "*.example, localhost, 10.1.0.0/16")
    with pytest.raises(LLMError, match=r"evil\.example resolves to 10\.0\.0\.5, outside the allowed networks"):
        check_app_url("http://evil.example:8000/v1", resolve=resolver({"evil.example": "10.0.0.5"}))
    with pytest.raises(LLMError, match=r"localhost resolves to 10\.0\.0\.5"):
        check_app_url("http://localhost:8000/v1", resolve=resolver({"localhost": "10.0.0.5"}))
    assert check_app_url("http://good.example/v1", resolve=resolver({"good.example": "10.1.2.3"}))
    assert check_app_url("http://lo.example/v1", resolve=resolver({"lo.example": "127.0.0.1"}))
    with pytest.raises(LLMError, match="cannot resolve the server host gone.example"):
        check_app_url("http://gone.example/v1", resolve=resolver({}))
    with pytest.raises(LLMError, match="not an allowed"):
        check_app_url("http://127.0.0.1:8000/v1")  # the list replaces the loopback default...
    assert check_app_url("http://10.1.9.9:8000/v1")  # ...networks match IP literals


def test_operator_server_is_allowed_by_name_and_port(monkeypatch):
    monkeypatch.setenv("GENRE_LLM_BASE_URL", "http://llm.internal:9000/v1")
    assert allowed_entries() == ["127.0.0.0/8", "::1", "localhost", "llm.internal:9000"]
    # The operator's own name is trusted to resolve where their DNS says (here: nowhere at all).
    assert check_app_url("http://llm.internal:9000/v1", resolve=resolver({})) == "http://llm.internal:9000/v1"
    with pytest.raises(LLMError, match=r"llm\.internal:9001 is not an allowed"):
        check_app_url("http://llm.internal:9001/v1")
    monkeypatch.setenv("GENRE_LLM_HOSTS", "gpu-box:8000, [::1]:8080")
    assert check_app_url("http://gpu-box:8000/v1", resolve=resolver({"gpu-box": "192.168.1.7"}))
    assert check_app_url("http://[::1]:8080/v1")
    with pytest.raises(LLMError, match="not an allowed"):
        check_app_url("http://[::1]:8081/v1")
    monkeypatch.setenv("GENRE_LLM_HOSTS", "gpu-box:http")
    with pytest.raises(LLMError, match="GENRE_LLM_HOSTS entry 'gpu-box:http' has an invalid port"):
        check_app_url("http://gpu-box/v1")


def test_the_servers_key_goes_only_to_the_operators_server(monkeypatch):
    """Real requests: the operator's server gets $OPENAI_API_KEY, a typed one only the typed key."""
    answer = lambda n, path, body: (200, chat_reply("ok"), {})  # noqa: E731
    with ScriptedServer(answer) as operator, ScriptedServer(answer) as typed:
        monkeypatch.setenv("GENRE_LLM_BASE_URL", operator.url)
        monkeypatch.setenv("OPENAI_API_KEY", "server-secret")
        for url, key in [(operator.url, ""), (typed.url, ""), (typed.url, "users-own-key"),
                         (operator.url, "users-own-key")]:
            HTTPClient(**app_client_options(url, "m", key)).complete("hi")
        seen = [r["headers"].get("authorization") for r in operator.requests + typed.requests]
        assert seen == ["Bearer server-secret", "Bearer users-own-key", None, "Bearer users-own-key"]
