"""The Streamlit app's own helpers: session state, cached resources and shared widgets.

Only the app imports this package; ``genre`` never imports streamlit.
"""
