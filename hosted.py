"""The GENRE app as ``run.sh`` serves it: ``app.py`` behind ``genre.hosting.asgi_guard.HostingGuard``.

``streamlit run hosted.py`` finds the ``st.App`` below and serves it with uvicorn; the pages are
``app.py``'s. The guard closes what Streamlit's settings cannot (docs/hosting.md): the
``/_stcore/metrics`` endpoint, and WebSockets from foreign origins (which would make Streamlit look
the server's external IP up on the internet). ``GENRE_ALLOWED_ORIGINS`` (comma-separated URLs) adds
origins allowed besides the app's own address and loopback.
"""

import os

import streamlit as st
from starlette.middleware import Middleware

from genre.hosting.asgi_guard import HostingGuard

app = st.App("app.py", middleware=[Middleware(HostingGuard, allowed_origins=[
    origin.strip() for origin in os.environ.get("GENRE_ALLOWED_ORIGINS", "").split(",") if origin.strip()])])
