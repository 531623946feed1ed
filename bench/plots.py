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
        figure.write_image(stem.with_suffix(".png"), width=figure.layout.width or 1200,
                           height=figure.layout.height or 520, scale=1)
        saved.append(stem.with_suffix(".png"))
    except Exception as error:  # kaleido missing or no browser for it: the HTML and the table remain
        log.warning("no PNG for %s: %s", stem.name, error)
    return saved


def run_peak_gb(run: dict) -> float:
    """RSS peak over a scale run's stages and weight changes (not the library fits done after them)."""
    return max(row["peak_rss_mb"] for name, row in run["stages"].items() if not name.startswith("compare:")) / 1024


def _stage_groups(run: dict) -> dict[str, float]:
    """Wall seconds of the stages worth a line: data prep, each fit, scoring + evaluation, the run."""
    stages = run["stages"]
    groups = {"load + split + features": sum(stages.get(s, {}).get("wall_s", 0.0)
                                             for s in ("load", "split", "features"))}
    for name, row in stages.items():
        if name.startswith("fit "):
            groups[name] = row["wall_s"]
    groups["score + evaluate + mix"] = sum(row["wall_s"] for name, row in stages.items()
                                           if name.startswith("score + evaluate") or name == "mix")
    groups["whole run"] = run["run_wall_s"]
    return groups


def scale_figure(runs: dict, labels: list[str], goals: dict[str, dict[str, float]]) -> go.Figure:
    """Against interactions (log): wall time per stage group, peak RSS, weight change, GENRE / implicit fit
    ratios; the issue's goals as red markers."""
    figure = make_subplots(rows=2, cols=2, column_widths=[0.6, 0.4], vertical_spacing=0.16,
                           subplot_titles=("wall time (s), shared 2-core machine", "peak RSS of the run + weight changes (GB)",
                                           "weight change: store re-mix + metrics (s, slowest of 3)",
                                           "fit time, GENRE / implicit directly (wall)"))
    x = [runs[k]["interactions"] for k in labels]
    groups = [_stage_groups(runs[k]) for k in labels]
    for name in dict.fromkeys(name for g in groups for name in g):
        y = [g.get(name) if g.get(name, 0.0) >= 0.05 else None for g in groups]  # log axis: drop ~0
        if any(v is not None for v in y):
            figure.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers",
                                        line=dict(width=4) if name == "whole run" else None), row=1, col=1)
    panels = {("run_s", 1, 1): None,
              ("peak_rss_gb", 1, 2): [run_peak_gb(runs[k]) for k in labels],
              ("weight_change_s", 2, 1): [max(runs[k]["weight_change_s"]) for k in labels]}
    for (key, row, col), y in panels.items():
        if y is not None:
            figure.add_trace(go.Scatter(x=x, y=y, mode="lines+markers+text", text=[f"{v:.2f}" for v in y],
                                        textposition="top center", showlegend=False), row=row, col=col)
        marked = [label for label in goals if label in runs]
        figure.add_trace(go.Scatter(x=[runs[k]["interactions"] for k in marked], y=[goals[k][key] for k in marked],
                                    mode="markers", marker=dict(symbol="line-ew-open", size=22, color="red"),
                                    name="goal", showlegend=key == "run_s"), row=row, col=col)
    for algo in ("item_knn", "als"):
        figure.add_trace(go.Scatter(x=x, y=[runs[k]["library"][algo]["ratio_wall"] for k in labels],
                                    name=f"{algo}: GENRE / implicit", mode="lines+markers"), row=2, col=2)
    figure.update_xaxes(type="log", title="interactions")
    figure.update_yaxes(type="log", row=1, col=1)
    figure.update_yaxes(type="log", row=2, col=1)
    figure.update_yaxes(rangemode="tozero", row=1, col=2)
    figure.update_yaxes(rangemode="tozero", row=2, col=2)
    sizes = " / ".join(f"{runs[k]['interactions'] / 1e6:g}M" for k in labels)
    figure.update_layout(title=f"GENRE on synthetic data ({sizes} interactions): five-algorithm mix",
                         template="plotly_white", height=900, width=1300)
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
