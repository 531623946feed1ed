"""Defensive parsing of model replies: never fail, always keep usable text, count what went wrong.

Small models answer in many shapes (a JSON object, a bulleted list, a preamble, nothing at
all, or text that runs on until the token limit). Every reply becomes one trimmed line of
text; replies that needed a fallback are counted in a ``ParseReport`` so the user sees how
many outputs to distrust.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

#: Outcome of parsing one reply.
OUTCOMES = ("ok", "json", "bad_json", "empty", "runaway")

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_LABEL = re.compile(r"^\s*(?:(?:sure|here (?:is|are))[^:\n]*|keywords?|description|interests?|"
                    r"summary|tags?|genres?|movie)\s*:\s*", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.MULTILINE)


@dataclass
class ParseReport:
    """How many replies parsed cleanly and how many needed each fallback.

    ``counts`` has one entry per outcome: ``ok`` (plain text), ``json`` (a JSON reply
    unpacked), ``bad_json`` (looked like JSON, did not parse: raw text kept), ``empty`` (no
    text) and ``runaway`` (longer than the limit: cut at a word boundary).
    """

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def fallbacks(self) -> int:
        """Replies whose text is a fallback (bad JSON, empty, runaway)."""
        return self.counts["bad_json"] + self.counts["empty"] + self.counts["runaway"]

    def __str__(self) -> str:
        details = ", ".join(f"{n} {name}" for name, n in self.counts.items() if n and name != "ok")
        return f"{self.total} replies, {self.fallbacks} fallbacks" + (f" ({details})" if details else "")


def parse_reply(raw: str, *, max_chars: int = 200, report: ParseReport | None = None) -> str:
    """One clean line of text from a model reply.

    JSON replies (an object or a list) are unpacked into their string values joined by
    ", "; code fences, leading labels ("Keywords:") and list bullets are removed; newlines
    collapse to ", ". Replies over ``max_chars`` are cut at the last word boundary.

    Examples
    --------
    >>> parse_reply('{"keywords": ["space", "robots"]}')
    'space, robots'
    >>> parse_reply("Keywords: heist, 1960s\\n")
    'heist, 1960s'
    """
    text, outcome = _parse(raw if isinstance(raw, str) else "", max_chars)
    if report is not None:
        report.add(outcome)
    return text


def _parse(raw: str, max_chars: int) -> tuple[str, str]:
    text = _FENCE.sub("", raw.strip()).strip()
    outcome = "ok"
    if text and text[0] in "{[":
        try:
            text = ", ".join(_strings(json.loads(text)))
            outcome = "json"
        except json.JSONDecodeError:
            text = re.sub(r'[{}\[\]"]', "", text)
            outcome = "bad_json"
    text = _BULLET.sub("", _LABEL.sub("", text, count=1))
    text = ", ".join(part.strip(" ,;") for part in text.splitlines() if part.strip(" ,;"))
    text = re.sub(r"\s+", " ", text).strip(" \"'")
    if not text:
        return "", "empty"
    if len(text) > max_chars:
        cut = text[:max_chars].rsplit(" ", 1)[0]
        return cut.rstrip(" ,;:-"), "runaway"
    return text, outcome


def _strings(value: object) -> list[str]:
    """Every string (and number) in a JSON value, depth first, in order."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
