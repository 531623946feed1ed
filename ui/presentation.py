"""Presentation mode's session glue: which runs are shown, the shareable URL, and item cards.

The page shows one user (a persona, ``genre.personas``) and the top-k of one run, or of two runs
side by side with the shared items marked. A run is the session's current trained run or a run
this owner saved with its models (``TrainedRun.load``: no refit), kept per session once opened.

The URL's query parameters name the view — ``user`` (raw id), ``run`` / ``vs`` ("current" or a
saved run id), ``mix`` / ``vsmix`` (``name:weight,…``) and ``view=present`` (read-only) — so a
link reopens it in another browser session of the same owner. A URL is adopted once, when it
differs from what this page last wrote; afterwards the widgets lead and the URL follows.
A run of another owner is refused in one line (``RunRegistry.models_path``).

Everything quoted from data is plain text or Markdown escaped by ``ui.widgets.md``; images come
only from files ``genre.personas.item_images`` found inside the data roots.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from genre import personas
from genre.errors import ConfigError, GenreError
from ui import state, widgets
from ui.saved_runs import registry

CURRENT = "current"
#: Widget keys of the page (the URL's parameters map onto them).
RUN, VS, USER, SEARCH, VIEW = "present_run", "present_vs", "present_user", "present_search", "present_view"
NONE = "none"
PARAMS = ("user", "run", "mix", "vs", "vsmix", "view")
K = 10
#: What each algorithm's reason is called for people who do not know the algorithms' names.
SOURCES = {"popularity": "popular overall", "item_knn": "people with the same items", "ease": "people with the same items",
           "sequential": "what people took next", "transformer_seq": "what people took next",
           "als": "taste profile", "bpr": "taste profile", "two_tower": "taste profile",
           "content": "similar content", "content_to_cf": "similar content", "genre_pref": "favourite genres",
           "profile": "the language model's profile"}


# ----------------------------------------------------------------------------- runs
def run_choices() -> dict[str, str]:
    """Runs this session may present: key ("current" or a saved id) → label."""
    choices = {}
    trained = st.session_state.get("trained_run")
    if trained is not None:
        choices[CURRENT] = f"Current run ({mix_label(trained.weights_)})"
    try:
        saved = registry().list("own")
    except GenreError:
        saved = pd.DataFrame()
    for row in saved.itertuples() if len(saved) else ():
        if row.models:
            choices[str(row.id)] = f"Saved #{row.id}: {row.name or row.algorithms}"
    return choices


def run_of(key: str) -> Any:
    """The ``TrainedRun`` behind ``key``; a saved run is loaded once per session (owner checked)."""
    if key == CURRENT:
        trained = st.session_state.get("trained_run")
        if trained is None:
            raise GenreError("this link shows a run that was never saved: the presenter must save it with "
                             "models (Metrics page) to share it")
        return trained
    if not re.fullmatch(r"[0-9]{1,12}", str(key)):
        raise GenreError(f"the link's run {str(key)[:40]!r} is not a saved run id")
    opened = st.session_state.setdefault("_present_runs", {})
    if int(key) not in opened:
        from genre.run import TrainedRun  # the run core loads when a saved run is shown, not on first view

        opened[int(key)] = TrainedRun.load(registry().models_path(int(key)))
    return opened[int(key)]


def mix_label(weights: dict[str, float]) -> str:
    return " + ".join(f"{name} {w:.2g}" for name, w in weights.items() if w > 0) or "no weights"


def parse_mix(text: str | None) -> dict[str, float] | None:
    """``"popularity:0.3,item_knn:0.7"`` → weights; None for a blank text."""
    if not text:
        return None
    weights = {}
    for part in str(text).split(","):
        name, _, value = part.partition(":")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            weights[name.strip()] = float("nan")
        if not math.isfinite(weights[name.strip()]) or weights[name.strip()] < 0:
            raise ConfigError(f"the link's mix {str(text)[:80]!r} is not name:weight,… with weights ≥ 0")
    return weights


def format_mix(weights: dict[str, float]) -> str:
    return ",".join(f"{name}:{float(w)!r}" for name, w in weights.items())  # exact: the same mix reopens


def _apply_mix(slot: str, trained: Any) -> None:
    """Give ``trained`` the mix the adopted URL named for ``slot``, once."""
    wanted = st.session_state.get("_present_mix", {}).pop(slot, None)
    if not wanted or wanted == trained.weights_:
        return
    trained.set_weights(wanted)  # the run owns its weights; only the store is re-mixed
    if trained is st.session_state.get("trained_run"):
        st.session_state["result"] = trained.result_
        state.reset_widgets(state.WEIGHT_SLIDERS)  # the Train page's sliders follow the new mix


def chosen_runs() -> tuple[Any, Any, list[str]]:
    """(run A, run B or None, one-line problems) for the runs the widgets name, mixes applied."""
    problems, runs = [], []
    for slot, key in (("a", RUN), ("b", VS)):
        choice = st.session_state.get(key)
        if choice in (None, NONE) or (slot == "b" and choice == st.session_state.get(RUN)):
            runs.append(None)
            continue
        try:
            trained = run_of(choice)
            _apply_mix(slot, trained)
            runs.append(trained)
        except GenreError as error:
            problems.append(str(error))
            runs.append(None)
    return runs[0], runs[1], problems


def remember() -> None:
    """Keep the page's choices while its controls are hidden: Streamlit forgets the value of a
    widget a run does not draw, so each is copied aside and put back when it went missing."""
    kept = st.session_state.setdefault("_present_kept", {})
    for key in (RUN, VS, USER, SEARCH, VIEW):
        if key in st.session_state:
            kept[key] = st.session_state[key]
        elif key in kept:
            st.session_state[key] = kept[key]


def settle(choices: dict[str, str]) -> None:
    """Make the run widgets' values valid options before they are drawn."""
    if st.session_state.get(RUN) not in choices:
        st.session_state[RUN] = next(iter(choices))
    if st.session_state.get(VS, NONE) not in (NONE, *choices) or st.session_state.get(VS) == st.session_state[RUN]:
        st.session_state[VS] = NONE


def other_choices(choices: dict[str, str]) -> list[str]:
    """What the run on the right may be: nothing, or any run but the one on the left."""
    return [NONE, *(key for key in choices if key != st.session_state.get(RUN))]


# ----------------------------------------------------------------------------- the URL
def adopt_url() -> str | None:
    """Move a new URL's parameters into the widgets; returns a one-line refusal, or None."""
    params = {k: st.query_params.get(k) for k in PARAMS if st.query_params.get(k)}
    if params == st.session_state.get("_present_url"):
        return st.session_state.get("_present_refusal")
    st.session_state["_present_url"] = params
    refusal = None
    for key, param, mix, slot in ((RUN, "run", "mix", "a"), (VS, "vs", "vsmix", "b")):
        value = params.get(param)
        if value is None:
            continue
        try:
            run_of(value)  # owner and folder checked here
        except GenreError as error:
            refusal = refusal or f"The link's run {value[:40]} is not opened: {error}."
            continue
        st.session_state[key] = value
        try:
            weights = parse_mix(params.get(mix))
        except ConfigError as error:
            refusal, weights = refusal or f"{error}; showing the run's own mix.", None
        if weights:
            st.session_state.setdefault("_present_mix", {})[slot] = weights
    if params.get("user"):
        st.session_state["_present_user_raw"] = params["user"]
    st.session_state[VIEW] = params.get("view") == "present"
    st.session_state["_present_refusal"] = refusal
    return refusal


def view_params(user: Any, run_a: Any, run_b: Any) -> dict[str, str]:
    """The parameters that reopen the view on screen."""
    params = {"user": str(user) if user is not None else None}
    for key, param, mix, trained in ((RUN, "run", "mix", run_a), (VS, "vs", "vsmix", run_b)):
        if trained is not None:
            params[param], params[mix] = str(st.session_state.get(key)), format_mix(trained.weights_)
    params["view"] = "present" if st.session_state.get(VIEW) else None
    return {k: v for k, v in params.items() if v}


def write_url(params: dict[str, str]) -> None:
    """Show ``params`` in the browser's address bar (and remember them as adopted)."""
    if params != st.query_params.to_dict():
        st.query_params.from_dict(params)
    st.session_state["_present_url"] = params


def share_link(params: dict[str, str]) -> str:
    """The address to send: this page's URL with the view's parameters, opened read-only."""
    base = getattr(st.context, "url", None) or "/present"
    return f"{base}?{urlencode({**params, 'view': 'present'})}"


# ----------------------------------------------------------------------------- personas
def personas_of(dataset: Any) -> personas.Personas:
    """The personas of ``dataset``, computed once per session and dataset (vectorised; the last two
    datasets kept, so switching between a current and a saved run does not recompute them)."""
    memo = [entry for entry in st.session_state.get("_present_personas", []) if entry[0] is not dataset]
    found = next((entry for entry in st.session_state.get("_present_personas", []) if entry[0] is dataset), None)
    found = found or (dataset, personas.summarise(dataset))
    st.session_state["_present_personas"] = [found, *memo[:1]]
    return found[1]


def user_options(people: personas.Personas, query: str) -> dict[str, str]:
    """A page of matching users (raw id as text → summary label), keeping the chosen one."""
    raw = st.session_state.pop("_present_user_raw", None)
    if raw is not None and personas.find_user(people, raw) is not None:
        st.session_state[USER] = str(raw)
    elif raw is not None:
        st.session_state["_present_note"] = f"The link's user {str(raw)[:40]} is not in this run's data."
    shown = list(personas.search(people, query, limit=50))
    chosen = personas.find_user(people, st.session_state.get(USER, ""))
    if chosen is not None and chosen not in shown:
        shown.insert(0, chosen)
    table = personas.describe(people, shown)
    options = dict(zip(table["user_id"].astype(str), table["label"]))
    if st.session_state.get(USER) not in options:
        st.session_state.pop(USER, None)
    return options


# ----------------------------------------------------------------------------- cards
def _enrichment_of(trained: Any) -> pd.DataFrame | None:
    """Text a language model wrote about the items: this session's, or the file the run names."""
    if trained is st.session_state.get("trained_run") and st.session_state.get("enrichment") is not None:
        return st.session_state["enrichment"]
    path = trained.config.features.enrichment
    if not path:
        return None
    try:
        from genre.llm import load_enrichment
        from genre.paths import confine_path

        return load_enrichment(confine_path(str(path), what="enrichment"))
    except GenreError:
        return None


def card_frame(trained: Any, recs: pd.DataFrame, marked: list | tuple = ()) -> pd.DataFrame:
    """``trained.recommend``'s frame ``recs`` as item cards, the ``marked`` items flagged ``shared``."""
    sources = [m.params.get("images") for m in trained.config.features.modalities if m.params.get("images")]
    return personas.cards(trained.dataset_, recs, _enrichment_of(trained), sources, marked)


def held_out_label(trained: Any, user: Any) -> str | None:
    """The badge for items the user took in TEST, or None when the user has no TEST items."""
    index = int(trained.dataset_.user_index(user)[0])
    if not (trained.split_.test["user"].to_numpy() == index).any():
        return None
    return personas.held_out_badge(trained.config.split.method, trained.dataset_.interactions)


def show_cards(cards: pd.DataFrame, held_out: str | None, columns: int = 2, shared: str | None = None) -> None:
    """Item cards in a grid of ``columns``: picture, title, badges, genres, description, why-chips."""
    for start in range(0, len(cards), columns):
        row = st.columns(columns)
        for slot, card in zip(row, cards.iloc[start:start + columns].itertuples()):
            with slot.container(border=True):
                _card(card, held_out, shared)


def _card(card: Any, held_out: str | None, shared: str | None) -> None:
    body = st
    if card.image is not None:
        picture, body = st.columns([1, 3])
        picture.image(card.image, width="stretch")
    badges = ""
    if shared and card.shared:
        badges += f" :blue-badge[:material/join_inner: {shared}]"
    if held_out and card.held_out:
        badges += f" :green-badge[:material/check: {held_out}]"
    body.markdown(f"**{card.rank}. {widgets.md(card.title)}**{badges}")
    if card.genres:
        body.caption(widgets.md(card.genres))
    if card.description:
        body.markdown(f":gray[{widgets.md(card.description)}]")
    body.markdown(why(card))


def why(card: Any) -> str:
    """The why-chips of one card: the history items behind it, else the genres it shares."""
    name = str(card.explained_by or "")
    model = f":gray[— {widgets.md(SOURCES.get(name, name))}]" if name else ""
    if card.because:
        chips = " ".join(f":violet-badge[{widgets.md(title)}]" for title in card.because)
        return f"Because they liked {chips} {model}"
    if len(card.shared_genres):
        chips = " ".join(f":orange-badge[{widgets.md(g)}]" for g in card.shared_genres)
        return f"Matches their taste for {chips} {model}"
    if name == "popularity":
        return ":gray[Popular with everyone]"
    return f":gray[From {widgets.md(SOURCES.get(name, name))}]" if name else ""


def show_persona(people: personas.Personas, trained: Any, user: Any) -> None:
    """The chosen user's summary, and a few of their items (the latest, when the data has times)."""
    index = personas.find_user(people, user)
    row = personas.describe(people, [index]).iloc[0]
    top = st.columns(3)
    top[0].markdown(f"**{row.interactions:,}** interactions")
    top[1].markdown(f"Favourite {people.genre_word}: **{widgets.md(row.genres or '—')}**")
    if row.active:
        top[2].markdown(f"Active **{widgets.md(row.active)}**")
    elif row.tags:
        top[2].markdown(f"Their tags: **{widgets.md(row.tags)}**")
    try:
        history = trained.history(user)
    except GenreError:
        return
    titles = [personas.clean_text(t, 50) for t in history["title"].head(5)]
    timed = people.first is not None
    if titles:
        st.caption(("Latest: " if timed else "Some of their items: ") + " · ".join(widgets.md(t) for t in titles))
