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


def _stage_groups(stages: dict) -> dict[str, float]:
    """Wall seconds of the stages worth a line: data prep, each fit, scoring + evaluation."""
    groups = {"load + split + features": sum(stages.get(s, {}).get("wall_s", 0.0)
                                             for s in ("load", "split", "features"))}
    for name, row in stages.items():
        if name.startswith("fit "):
            groups[name] = row["wall_s"]
    groups["score + evaluate (first pass)"] = sum(row["wall_s"] for name, row in stages.items()
                                                  if name == "fuse+evaluate" or
                                                  (name.startswith("score ") and "inside" not in name))
    groups["weight change"] = stages.get("weight change", {}).get("wall_s", 0.0)
    return groups


def scale_figure(results: dict, labels: list[str]) -> go.Figure:
    """Log-log wall time per stage group, and the run's peak RSS, against the number of interactions."""
    figure = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38],
                           subplot_titles=("wall time (s), shared 2-core machine", "peak RSS of the run (GB)"))
    x = [results[k]["interactions"] for k in labels]
    groups = [_stage_groups(results[k]["stages"]) for k in labels]
    names = list(dict.fromkeys(name for g in groups for name in g))
    for name in names:
        y = [g.get(name) if g.get(name, 0.0) >= 0.05 else None for g in groups]  # log axis: drop ~0
        if any(v is not None for v in y):
            figure.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers"), row=1, col=1)
    figure.add_trace(go.Scatter(x=x, y=[results[k]["process_peak_rss_gb"] for k in labels], name="peak RSS",
                                mode="lines+markers+text", text=[f"{results[k]['process_peak_rss_gb']:.1f}"
                                                                 for k in labels],
                                textposition="top center", showlegend=False), row=1, col=2)
    figure.update_xaxes(type="log", title="interactions")
    figure.update_yaxes(type="log", row=1, col=1)
    figure.update_yaxes(rangemode="tozero", row=1, col=2)
    figure.update_layout(title="GENRE on synthetic data: 100k / 1M / 5M interactions (10k / 50k / 200k items)",
                         template="plotly_white", height=560, width=1200)
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
                         height=120 + 28 * len(rows), width=1300, margin=dict(l=480))
    return figure
