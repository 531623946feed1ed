"""genre.safe_text: hostile text stays text in Markdown (a real CommonMark parser) and in Plotly's HTML subset."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genre.safe_text import WORD_JOINER, escape_html, escape_markdown

HOSTILE = [
    "![x](http://127.0.0.1:9/pixel.png)",
    "[click](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    '<a href="http://127.0.0.1:9/">link</a>',
    "**bold** _em_ `code` ~~del~~",
    "# heading",
    "> quote\n- item\n1. item",
    "see http://127.0.0.1:9/a and www.example.org and a@example.org",
    "<http://127.0.0.1:9/auto>",
    ":red[colour] :material/home: $x^2$",
    "[ref]: http://127.0.0.1:9/\n[ref]",
    "&lt;img src=x&gt; &#60;b&#62;",
    "back\\slash \\*not bold\\*",
    "| a | b |\n|---|---|\n| 1 | 2 |",
]


class _Rendered(HTMLParser):
    """Tags and text of rendered HTML."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text += data


def _markdown(text: str) -> _Rendered:
    markdown_it = pytest.importorskip("markdown_it")
    return _Rendered(markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(text))


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_renders_hostile_text_as_one_plain_paragraph(text):
    rendered = _markdown(escape_markdown(text))
    assert set(rendered.tags) <= {"p", "br"}, rendered.tags  # no a, img, em, strong, code, h1, li, table…
    shown = rendered.text.replace(WORD_JOINER, "")
    assert re.sub(r"\s+", " ", shown).strip() == re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_nothing_is_left_for_gfm_auto_linking(text):
    shown = _markdown(escape_markdown(text)).text
    assert not re.search(r"[a-z]://|www\.|@\w", shown, re.IGNORECASE), shown


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
def test_any_printable_text_comes_back_unchanged(text):
    rendered = _markdown(escape_markdown(text))
    assert set(rendered.tags) <= {"p"}
    assert rendered.text.replace(WORD_JOINER, "").strip("\n") == text.strip(" ")


def test_non_ascii_text_is_untouched():
    assert escape_markdown("Amélie 千と千尋の神隠し") == "Amélie 千と千尋の神隠し"
    assert escape_html("Amélie 千と千尋の神隠し") == "Amélie 千と千尋の神隠し"


@pytest.mark.parametrize("text", HOSTILE)
def test_html_escape_leaves_no_tag_and_no_url(text):
    escaped = escape_html(text)
    assert "<" not in escaped and ">" not in escaped
    assert not re.search(r"[a-z]://|www\.", escaped, re.IGNORECASE)
    # Plotly decodes &lt; &gt; &amp; (and numeric entities) for display: the reader sees the text as written
    shown = escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace(WORD_JOINER, "")
    assert shown == text


def test_objects_are_escaped_as_their_str():
    assert escape_markdown(3.5) == "3\\.5"
    assert escape_html(None) == "None"


def test_metric_names_with_at_signs_are_not_touched_beyond_escaping():
    assert escape_html("ndcg@10 by run") == "ndcg@10 by run"
    assert escape_markdown("ndcg@10") == "ndcg\\@10"
