"""Text from data or the user, made inert for the two renderers the app feeds: Markdown and Plotly.

File names, column names, ids, titles, genres, run names and error messages (which quote
user data) all come from whoever uploaded the data. Streamlit renders labels and messages
as Markdown (links, images, colour directives, LaTeX, auto-linked bare URLs); Plotly renders
a subset of HTML (``<b>``, ``<br>``, ``<span style>``, live ``<a href>`` links) in titles,
hover labels, legends and tick labels. Both helpers keep the text readable — it shows
exactly as written — while nothing in it can become markup, a link or a request.

Examples
--------
>>> print(escape_markdown("![x](y) **z**"))
\\!\\[x\\]\\(y\\) \\*\\*z\\*\\*
>>> print(escape_html("<b>x</b> & y"))
&lt;b&gt;x&lt;/b&gt; &amp; y
>>> escape_html("http://h") == "http" + WORD_JOINER + "://h"
True
"""

from __future__ import annotations

import html
import re

#: Invisible, zero-width, and not a word character: it breaks "http://", "www." and "a@b.c"
#: apart, so neither GFM auto-linking (Streamlit) nor a reader's eye sees a difference.
WORD_JOINER = "\u2060"

_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# what GFM auto-links: scheme "://", "www." and e-mail addresses ("@" before a dotted domain;
# "ndcg@10" is left alone)
_LINKISH = re.compile(r"(?<=[A-Za-z0-9+.-])(?=://)|(?<=\bwww)(?=\.)|(?<=@)(?=[\w-]+\.\w)", re.IGNORECASE)


def _unlink(text: str) -> str:
    """``text`` with a word joiner where a URL scheme, ``www.`` or an e-mail ``@`` would auto-link."""
    return _LINKISH.sub(WORD_JOINER, text)


def escape_markdown(text: object) -> str:
    """``text`` shown literally by ``st.markdown``, ``st.error``, widget labels and the like.

    Every ASCII punctuation mark is backslash-escaped (no emphasis, links, images, HTML,
    LaTeX, headings or ``:red[…]``/``:material/…:`` directives), and URLs, ``www.`` and
    e-mail addresses carry a word joiner so GFM does not turn them into links: Markdown
    resolves a backslash escape *before* auto-linking, so escaping alone is not enough.
    """
    unlinked = _unlink(str(text))
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in unlinked)


def escape_html(text: object) -> str:
    """``text`` shown literally by Plotly (titles, hover text, legend and trace names, tick labels).

    ``&``, ``<`` and ``>`` become entities (Plotly decodes them for display but never parses
    them as tags; quotes stay, since without ``<`` there is no tag, and Plotly knows no
    ``&quot;``), and URLs carry a word joiner so nothing reads as a link target.
    """
    return html.escape(_unlink(str(text)), quote=False)
