"""Present: a user as a persona, their recommendations as item cards, and two mixes side by side —
read-only with a shareable link, for showing GENRE to people who do not tune it."""

import streamlit as st

from genre.errors import GenreError
from genre.personas import shared_items
from ui import presentation as present
from ui import widgets

refusal = present.adopt_url()  # a shared link names the user, the runs and their mixes
present.remember()
read_only = bool(st.session_state.get(present.VIEW))
if read_only:
    st.set_page_config(initial_sidebar_state="collapsed")
    st.title("Recommendations, explained")
else:
    widgets.header("Present", "One user as a persona, what a mix recommends to them and why — or two saved "
                              "mixes side by side. Switch on Presenting to hide the controls, and share the link.")
if refusal:
    st.error(widgets.md(refusal), icon=":material/block:")
choices = present.run_choices()
if not choices:
    st.info("Nothing to present yet: train a mix on the Train page, or open a run saved with its models.",
            icon=":material/info:")
    st.page_link(widgets.TRAIN, label="Go to Train", icon=":material/model_training:")
    st.stop()
present.settle(choices)
if not read_only:
    left, right, switch = st.columns([3, 3, 1], vertical_alignment="bottom")
    left.selectbox("Run", list(choices), format_func=choices.get, key=present.RUN)
    right.selectbox("Side by side with", present.other_choices(choices), key=present.VS,
                    format_func=lambda key: "— nothing —" if key == present.NONE else choices[key])
    switch.toggle("Presenting", key=present.VIEW, help="Hide the controls and the sidebar; the link opens this view.")
run_a, run_b, problems = present.chosen_runs()
for problem in problems:
    st.error(widgets.md(problem), icon=":material/block:")
if run_a is None:
    st.stop()

people = present.personas_of(run_a.dataset_)
find, pick = st.columns([1, 3], vertical_alignment="bottom")
query = find.text_input("Find a user", key=present.SEARCH, placeholder="a genre, a tag or an id")
options = present.user_options(people, query)
if note := st.session_state.pop("_present_note", None):
    st.warning(widgets.md(note), icon=":material/person_off:")
if not options:
    st.info("No user matches that search: try a genre such as Comedy, or clear the box.", icon=":material/search:")
    st.stop()
user = pick.selectbox(f"User — {len(options)} shown of {people.n_users:,}, most active first", list(options),
                      format_func=options.get, key=present.USER)
st.subheader(f"User {widgets.md(user)}", anchor=False)
present.show_persona(people, run_a, user)

with widgets.user_errors():
    if run_b is None:
        recs = run_a.recommend(user, k=present.K, explain=True)
        cards = present.card_frame(run_a, recs)
        badge = present.held_out_label(run_a, user)
        hits = f" — {int(cards['held_out'].sum())} of them {badge}" if badge else ""
        st.markdown(f"#### Top {len(cards)}: {widgets.md(choices[st.session_state[present.RUN]])}{hits}")
        present.show_cards(cards, badge, columns=2)
    else:
        recs_a = run_a.recommend(user, k=present.K, explain=True)
        try:
            recs_b = run_b.recommend(user, k=present.K, explain=True)
        except GenreError:
            st.error(widgets.md(f"User {user} is not in the data of the run to compare with."), icon=":material/block:")
            st.stop()
        shared = shared_items(recs_a["item_id"], recs_b["item_id"])
        st.markdown(f"#### {len(shared)} of {present.K} recommendations in both lists "
                    ":blue-badge[:material/join_inner: in both]")
        for column, trained, recs, key in zip(st.columns(2), (run_a, run_b), (recs_a, recs_b),
                                              (present.RUN, present.VS)):
            with column:
                badge = present.held_out_label(trained, user)
                st.markdown(f"**{widgets.md(choices[st.session_state[key]])}**")
                present.show_cards(present.card_frame(trained, recs, shared), badge, columns=1, shared="in both")

params = present.view_params(user, run_a, run_b)
present.write_url(params)
if read_only:
    if st.button("Show the controls", key="present_exit", type="tertiary", icon=":material/tune:"):
        st.session_state[present.VIEW] = False
        st.session_state["_present_kept"][present.VIEW] = False
        st.rerun()
else:
    st.divider()
    st.markdown("**Share this view** — opens read-only for the same owner (runs are private to their owner):")
    st.code(present.share_link(params), language=None, wrap_lines=True)
    if present.CURRENT in (st.session_state.get(present.RUN), st.session_state.get(present.VS)):
        st.caption("The current run is not saved: save it with models (Metrics page) for the link to work "
                   "in another browser session.")
