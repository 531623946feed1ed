"""Which language-model servers a browser user may make GENRE call, and with which key.

A server URL typed in the app makes the *GENRE server* send requests: without a rule, any
browser user could reach hosts on the server's network (cloud metadata, internal admin
pages) and receive the server's own API key. The rule, set by the operator:

- ``GENRE_LLM_HOSTS``: comma-separated allow-list of ``host[:port]`` entries — a host name,
  ``*.domain`` (any name under it), an IP address or a network (``10.0.0.0/8``); default:
  loopback only (``127.0.0.0/8``, ``::1``, ``localhost``). The host of ``GENRE_LLM_BASE_URL``
  is always allowed.
- The host of a typed URL must match an entry. It is then resolved, and every address must be
  loopback or inside a listed network — unless the host is a name the operator listed exactly
  (their own server, resolved by their DNS). So ``localhost`` or a ``*.domain`` name that
  resolves (or is rebound) to, say, 10.0.0.5 is refused unless 10.0.0.0/8 is listed.
- The server's own key (``OPENAI_API_KEY``) goes only to ``GENRE_LLM_BASE_URL``; any other
  server gets only the key the user typed (kept in their session).

The CLI, run by the machine's owner, may call any URL: only the app applies these checks.
Known limit: the host is resolved when the URL is checked; a resolver that answers
differently a moment later is beyond this check (use networks, or a firewall, for that).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable

from genre.errors import LLMError
from genre.llm.http import api_root, snippet

HOSTS_ENV = "GENRE_LLM_HOSTS"
BASE_URL_ENV = "GENRE_LLM_BASE_URL"
KEY_ENV = "OPENAI_API_KEY"
DEFAULT_HOSTS = ("127.0.0.0/8", "::1", "localhost")
#: getaddrinfo's signature: tests and callers may pass their own resolver.
Resolver = Callable[..., list]


@dataclass(frozen=True)
class _Entry:
    host: str  # lower-case name, "*.domain", or "" for a network entry
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    port: int | None
    operator_name: bool  # an exact name the operator listed: trusted to resolve anywhere

    def matches(self, host: str, ip: Any, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip is not None and ip in self.network
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


def operator_url() -> str | None:
    """``GENRE_LLM_BASE_URL`` as an API root, or None when unset."""
    value = os.environ.get(BASE_URL_ENV, "").strip()
    return api_root(value) if value else None


def allowed_entries() -> list[str]:
    """The allow-list in force, as written (for messages and the app's help text)."""
    listed = os.environ.get(HOSTS_ENV, "")
    entries = [e.strip() for e in listed.split(",") if e.strip()] if listed.strip() else list(DEFAULT_HOSTS)
    operator = operator_url()
    if operator:
        netloc = urllib.parse.urlsplit(operator).netloc.rsplit("@", 1)[-1]
        entries.append(netloc)
    return entries


def check_app_url(base_url: str, resolve: Resolver = socket.getaddrinfo) -> str:
    """The API root of ``base_url`` if the operator's allow-list admits it; LLMError naming the rule otherwise."""
    root = api_root(base_url)
    parts = urllib.parse.urlsplit(root)
    if parts.username or parts.password:
        raise LLMError("the server URL must not carry a user name or password; type the key in the API key field")
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise LLMError(f"the server URL has an invalid port: {snippet(base_url, 80)}") from exc
    entries = [_parse(e) for e in allowed_entries()]
    literal = _ip(host)
    matched = [e for e in entries if e.matches(host, literal, port)]
    if not matched:
        raise LLMError(f"{host}:{port} is not an allowed language-model server (rule: {HOSTS_ENV}, now "
                       f"{', '.join(allowed_entries())}); ask the operator to add it to {HOSTS_ENV}")
    if literal is None and not any(e.operator_name for e in matched):
        networks = [e.network for e in entries if e.network is not None]
        for address in _addresses(host, port, resolve):
            if not (address.is_loopback or any(address in n for n in networks)):
                raise LLMError(f"{host} resolves to {address}, outside the allowed networks (rule: "
                               f"{HOSTS_ENV}); list that network in {HOSTS_ENV} if it is meant")
    return root


def app_client_options(base_url: str, model: str, user_key: str = "",
                       resolve: Resolver = socket.getaddrinfo) -> dict[str, Any]:
    """``HTTPClient`` options for a server typed in the app: URL checked, and the right key.

    The user's own key if they typed one; else the server's ``OPENAI_API_KEY`` only for the
    operator's ``GENRE_LLM_BASE_URL``; else no key at all.
    """
    root = check_app_url(base_url, resolve)
    options: dict[str, Any] = {"base_url": root, "model": model, "api_key": None, "api_key_env": None}
    if user_key.strip():
        options["api_key"] = user_key.strip()
    elif root == operator_url():
        options["api_key_env"] = KEY_ENV
    return options


def _parse(entry: str) -> _Entry:
    """'host', 'host:port', '*.domain', '10.0.0.0/8', '::1', '[::1]:8000' → an _Entry."""
    text = entry.strip().lower()
    port: int | None = None
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    elif text.count(":") == 1:
        host, _, tail = text.partition(":")
        if not tail.isdigit():
            raise LLMError(f"{HOSTS_ENV} entry {entry!r} has an invalid port; write host or host:port")
        port = int(tail)
    else:
        host = text
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        network = None
    operator = network is None and not host.startswith("*.") and host != "localhost"
    return _Entry(host="" if network else host.rstrip("."), network=network, port=port, operator_name=operator)


def _ip(host: str) -> Any:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _addresses(host: str, port: int, resolve: Resolver) -> list[Any]:
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise LLMError(f"cannot resolve the server host {host}: {exc}; check the URL") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
