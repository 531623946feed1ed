"""The Streamlit app's own helpers: session state, cached resources and shared widgets.

Only the app imports this package; ``genre`` never imports streamlit.
"""

from genre.paths import confine_paths_in_data

# Every page imports this package: the app process serves browser users, so paths named inside
# their uploaded data (image columns) are confined to the data roots like imported configs.
confine_paths_in_data()
