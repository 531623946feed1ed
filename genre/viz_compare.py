"""Figures that compare: bars with their 95 % intervals as error bars, and sweeps with their best point.

Pure functions like ``genre.viz`` (whose colours and escaping they reuse): frames in, plotly
figures out, tested without a browser. Every text that may come from data passes
``escape_html`` first, as in ``genre.viz``.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"run": ["#1 a", "#2 b"], "value": [0.16, 0.15], "half_width": [0.01, 0.02]})
>>> fig = comparison_intervals_bar(table, "ndcg@10")
>>> list(fig.data[0].error_y.array)
[0.01, 0.02]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from genre.errors import ConfigError
from genre.safe_text import escape_html as _text
from genre.viz import ALGORITHM_COLORS, algorithm_colors, heatmap_figure, sweep_figure, tuning_curve_figure

_TEMPLATE = "plotly_white"
_MIX_COLOR = ALGORITHM_COLORS["mix"]
_BAR_COLOR = "#1f77b4"
_BEST_COLOR = "#ff7f0e"


def _styled(fig: go.Figure, title: str, height: int = 360, **layout) -> go.Figure:
    fig.update_layout(template=_TEMPLATE, title=dict(text=_text(title), x=0.0, xanchor="left"),
                      height=height, margin=dict(l=10, r=10, t=50, b=10), **layout)
    return fig


def _errors(widths: np.ndarray) -> dict:
    """An ``error_y`` of 95 % half-widths; a NaN (no interval) draws no bar (plotly skips a null)."""
    return dict(type="data", array=[None if np.isnan(w) else float(w) for w in widths], visible=True,
                thickness=1.5, width=5, color="#444")


def metrics_intervals_bar(metrics: pd.DataFrame, intervals: pd.DataFrame | None,
                          columns: Sequence[str] | None = None) -> go.Figure:
    """``genre.viz.metrics_bar`` with each bar's 95 % interval as an error bar (none where NaN)."""
    columns = list(columns) if columns is not None else list(metrics.columns)
    missing = [c for c in columns if c not in metrics.columns]
    if missing:
        raise ConfigError(f"metrics have no column(s) {', '.join(missing)}; "
                          f"available: {', '.join(map(str, metrics.columns))}")
    widths = (intervals.reindex(index=metrics.index, columns=columns) if intervals is not None
              else pd.DataFrame(np.nan, index=metrics.index, columns=columns))
    colors = algorithm_colors(metrics.index)
    fig = go.Figure()
    for name in metrics.index:
        half = widths.loc[name, columns].to_numpy(dtype=float)
        fig.add_trace(go.Bar(name=_text(name), x=[_text(c) for c in columns],
                             y=metrics.loc[name, columns].to_numpy(dtype=float), marker_color=colors[name],
                             error_y=_errors(half), customdata=np.nan_to_num(half, nan=0.0),
                             hovertemplate=f"{_text(name)} %{{x}}: %{{y:.4f}} ± %{{customdata:.4f}}<extra></extra>"))
    fig.update_layout(barmode="group", legend=dict(orientation="h", y=-0.15))
    return _styled(fig, "Metrics per algorithm and for the mix", height=400)


def comparison_intervals_bar(table: pd.DataFrame, metric: str) -> go.Figure:
    """One bar per run (``table``: ``run``, ``value``, ``half_width`` as ``genre.compare.interval_table``
    gives), its 95 % interval as an error bar, the best in the mix's red."""
    for column in ("run", "value", "half_width"):
        if column not in table.columns:
            raise ConfigError(f"the comparison has no column {column!r}")
    values = table["value"].to_numpy(dtype=float)
    widths = table["half_width"].to_numpy(dtype=float)
    best = int(np.nanargmax(values)) if len(values) and not np.isnan(values).all() else -1
    colors = [_MIX_COLOR if i == best else _BAR_COLOR for i in range(len(values))]
    labels = [f"{v:.4f}" + ("" if np.isnan(w) else f" ± {w:.4f}") for v, w in zip(values, widths)]
    fig = go.Figure(go.Bar(x=[_text(r) for r in table["run"]], y=values, marker_color=colors,
                           error_y=_errors(widths), text=labels, textposition="inside", insidetextanchor="start",
                           textfont=dict(color="white"), customdata=np.nan_to_num(widths, nan=0.0),
                           hovertemplate="%{x}: %{y:.4f} ± %{customdata:.4f}<extra></extra>"))
    fig.update_yaxes(title=_text(f"{metric} (bars: 95 % interval)"), rangemode="tozero")
    fig.update_layout(bargap=max(0.2, 0.75 - 0.1 * len(values)))  # two runs: not two walls
    return _styled(fig, f"{metric} by run")


def _star_best(fig: go.Figure, x: float, y: float, label: str, ax: int) -> None:
    """A star at the best point and its label on a white box beside it (legible over lines and cells)."""
    fig.add_trace(go.Scatter(x=[x], y=[y], mode="markers", name="best", showlegend=False, cliponaxis=False,
                             marker=dict(symbol="star", size=16, color=_BEST_COLOR, line=dict(color="#333", width=1)),
                             hovertemplate=f"{_text(label)}<extra></extra>"))
    fig.add_annotation(x=x, y=y, text=_text(label), showarrow=True, arrowhead=0, ax=ax, ay=28,
                       bgcolor="rgba(255,255,255,0.9)", bordercolor="#999", borderwidth=1, font=dict(size=11))


def sweep_best_figure(sweep: pd.DataFrame, metric: str, current: float | None = None,
                      on: str | None = None) -> go.Figure:
    """``genre.viz.sweep_figure`` with its best point starred."""
    fig = sweep_figure(sweep, metric, x="weight", current=current, on=on)
    values = sweep[metric].to_numpy(dtype=float)
    if len(values) and not np.isnan(values).all():
        row = sweep.iloc[int(np.nanargmax(values))]
        weight = float(row["weight"])
        _star_best(fig, weight, float(row[metric]), f"best {row[metric]:.4f} at {weight:.2f}",
                   -60 if weight >= 0.7 else 60)
    fig.update_layout(showlegend=False)
    return fig


def heatmap_best_figure(grid: pd.DataFrame, x: str, y: str, metric: str, on: str | None = None,
                        current: Mapping[str, float] | None = None) -> go.Figure:
    """``genre.viz.heatmap_figure`` with its best cell starred (and the current mix ringed, if given)."""
    fig = heatmap_figure(grid, x, y, metric, on=on)
    values = grid[metric].to_numpy(dtype=float) if metric in grid.columns else np.array([])
    if len(values) and not np.isnan(values).all():
        row = grid.iloc[int(np.nanargmax(values))]
        _star_best(fig, float(row[x]), float(row[y]), f"best {row[metric]:.4f}", -50 if float(row[x]) >= 0.7 else 50)
    if current is not None and x in current and y in current:
        fig.add_trace(go.Scatter(x=[current[x]], y=[current[y]], mode="markers", name="current",
                                 showlegend=False, hovertemplate="current mix<extra></extra>",
                                 marker=dict(symbol="circle-open", size=18, color="white", line=dict(width=2))))
    return fig


def tuning_curve_before_figure(curve: pd.DataFrame, metric: str, before: float | None) -> go.Figure:
    """``genre.viz.tuning_curve_figure`` with the validation score of the weights before tuning dashed."""
    fig = tuning_curve_figure(curve, metric)
    if before is not None and not np.isnan(before):
        fig.add_hline(y=before, line_dash="dot", line_color="#555",
                      annotation_text=_text(f"before tuning {before:.4f}"), annotation_position="bottom right")
    return fig
