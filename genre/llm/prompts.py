"""Editable prompt templates (``str.format`` style, named fields only) and their defaults.

The defaults are written for a 135M-parameter model: one short instruction, the facts, and
an answer format that fits in 24 tokens. The app lets users edit them, so a template is
checked against the fields its use can fill before any prompt is sent.
"""

from __future__ import annotations

import string
from typing import Iterable

from genre.errors import ConfigError

#: Item enrichment: one short sentence about a title from its item-side content. (Asked for
#: keywords, SmolLM2-135M mostly echoes the prompt; a sentence it writes.)
ITEM_TEMPLATE = (
    "Movie: {title}\n"
    "Genres: {genres}\n"
    "Describe this movie in one short sentence."
)

#: User profiling: a user's interests from the titles they interacted with last.
PROFILE_TEMPLATE = (
    "A viewer recently watched:\n{titles}\n"
    "Their favourite genres: {genres}\n"
    "Describe this viewer's taste in one short sentence."
)


def template_fields(template: str) -> list[str]:
    """Names of the fields a template uses, in order of first use.

    Raises ConfigError for a malformed template or a positional field (``{}`` / ``{0}``).
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"the prompt template cannot be parsed ({exc}); write fields as "
                          f"{{name}} and a literal brace as {{{{ or }}}}") from exc
    names: list[str] = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        base = name.split(".")[0].split("[")[0]
        if not base or base.isdigit():
            raise ConfigError("the prompt template has a positional field ({} or {0}); "
                              "use named fields such as {title}")
        if base not in names:
            names.append(base)
    return names


def check_template(template: str, available: Iterable[str]) -> list[str]:
    """Fields of ``template``; a ConfigError lists the available ones if any is unknown."""
    available = list(available)
    used = template_fields(template)
    unknown = [name for name in used if name not in available]
    if unknown:
        raise ConfigError(f"the prompt template uses unknown field(s) "
                          f"{', '.join('{' + n + '}' for n in unknown)}; available fields: "
                          f"{', '.join('{' + n + '}' for n in available)}")
    return used


def render(template: str, values: dict[str, str]) -> str:
    """The filled-in prompt (``values`` must cover the template's fields: check first)."""
    return template.format_map(values).strip()
