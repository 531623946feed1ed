"""Plotly figures of the speed and scale benchmarks, saved as HTML (and PNG when kaleido can render)."""

from __future__ import annotations

import logging
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

log = logging.getLogger("genre")


def save_figure(figure: go.Figure, stem: Path) -> list[Path]:
    """Write ``stem.html`` (plotly.js from the CDN) and, if kaleido works here, ``stem.png``."""
    html = stem.with_suffix(".html")
    figure.write_html(html, include_plotlyjs="cdn")
    saved = [html]
    try:
        figure.write_image(stem.with_suffix(".png"), width=1200, height=520, scale=1)
        saved.append(stem.with_suffix(".png"))
    except Exception as error:  # kaleido missing or no browser for it: the HTML and the table remain
        log.warning("no PNG for %s: %s", stem.name, error)
    return saved


def scale_figure(results: dict, labels: list[str]) -> go.Figure:
    """Log-log time and peak RSS of the main stages against the number of interactions."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("wall time per stage (s)", "peak RSS during stage (MB)"))
    x = [results[k]["interactions"] for k in labels]
    stages = []
    for label in labels:
        stages += [s for s in results[label]["stages"] if s not in stages]
    for i, stage in enumerate(stages):
        wall = [results[k]["stages"].get(stage, {}).get("wall_s") for k in labels]
        rss = [results[k]["stages"].get(stage, {}).get("peak_rss_mb") for k in labels]
        group = dict(legendgroup=stage, name=stage, mode="lines+markers")
        figure.add_trace(go.Scatter(x=x, y=wall, **group), row=1, col=1)
        figure.add_trace(go.Scatter(x=x, y=rss, showlegend=False, **group), row=1, col=2)
    figure.update_xaxes(type="log", title="interactions")
    figure.update_yaxes(type="log")
    figure.update_layout(title="GENRE on synthetic data: 100k / 1M / 5M interactions (10k / 50k / 200k items)",
                         template="plotly_white", height=520, width=1200)
    return figure


def speed_figure(rows: list[tuple[str, float, float | None]]) -> go.Figure:
    """Horizontal bars of measured seconds, with the goal as a marker where there is one."""
    names = [r[0] for r in rows]
    figure = go.Figure(go.Bar(x=[r[1] for r in rows], y=names, orientation="h", name="measured (median)"))
    goals = [(r[0], r[2]) for r in rows if r[2] is not None]
    figure.add_trace(go.Scatter(x=[g[1] for g in goals], y=[g[0] for g in goals], mode="markers",
                                marker=dict(symbol="line-ns-open", size=18, color="red"), name="goal"))
    figure.update_xaxes(type="log", title="seconds")
    figure.update_layout(title="GENRE speed on ml-latest-small", template="plotly_white",
                         height=120 + 28 * len(rows), width=1200, margin=dict(l=320))
    return figure
