"""Plotly figure builders (the 2-D projections themselves are in ``genre.projection``).

Pure functions: frames and arrays in, ``plotly.graph_objects.Figure`` out, so every chart
the app shows is tested without a browser. Nothing here imports streamlit. Plotly renders a
subset of HTML (live ``<a href>`` links among it) in every text it draws, so every string that
may come from data — titles, hover text, legend and trace names, tick labels, axis titles —
passes ``_text`` first.

Examples
--------
>>> import numpy as np
>>> fig = long_tail_figure(np.array([5, 1, 3]), "user")
>>> [int(v) for v in fig.data[0].y]
[5, 3, 1]
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.cluster import KMeans

from genre.data.values import RATINGS, ValueKind, count_bands
from genre.errors import ConfigError
from genre.projection import PROJECTIONS, project_2d  # noqa: F401 - the map's projections, where pages look for them
from genre.safe_text import escape_html as _text

_TEMPLATE, _MIX_COLOR = "plotly_white", "#d62728"
#: Categories (genres, clusters) get these in turn: tab10, then 14 picked to stay apart from them and each
#: other (CIELAB ΔE ≥ 25): 24 colours, so 19 genres never share one; any beyond get ``OTHER_COLOR``.
CATEGORY_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                    "#bcbd22", "#17becf", "#000075", "#f032e6", "#ffd8b1", "#637939", "#ff9896", "#dcbeff",
                    "#98df8a", "#b15928", "#911eb4", "#393b79", "#800000", "#4363d8", "#a6cee3", "#fdbf6f")
OTHER_COLOR = "#c7c7c7"
_PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")  # single-series charts
#: One colour per algorithm on every page and in every run, whatever the order or subset shown; the mix red.
ALGORITHM_COLORS = {"mix": _MIX_COLOR, "popularity": "#7f7f7f", "item_knn": "#1f77b4", "sequential": "#2ca02c",
                    "ease": "#9467bd", "als": "#ff7f0e", "bpr": "#8c564b", "content": "#17becf",
                    "genre_pref": "#e377c2", "two_tower": "#bcbd22", "transformer_seq": "#393b79",
                    "content_to_cf": "#637939", "profile": "#fdbf6f"}
#: For other names (a config's second entry of an algorithm): a colour picked by a hash of the name.
_SPARE_COLORS = ("#800000", "#f032e6", "#4363d8", "#b15928", "#911eb4", "#000075", "#a6cee3", "#98df8a")


def _texts(values: Iterable[object]) -> list[str]:
    """``_text`` of each value: category labels, hover texts and names taken from data."""
    return [_text(v) for v in values]


def _styled(fig: go.Figure, title: str, height: int = 360, **layout) -> go.Figure:
    """The house layout; ``title`` is escaped here, so callers may build it from data."""
    fig.update_layout(template=_TEMPLATE, title=dict(text=_text(title), x=0.0, xanchor="left"),
                      height=height, margin=dict(l=10, r=10, t=50, b=10), **layout)
    return fig


def algorithm_color(name: str) -> str:
    """The colour of algorithm ``name``: fixed for the registered ones, a hash of the name (crc32, the
    same in every process) for others — so an algorithm looks the same on every page and run."""
    return ALGORITHM_COLORS.get(name) or _SPARE_COLORS[zlib.crc32(str(name).encode()) % len(_SPARE_COLORS)]


def algorithm_colors(names: Iterable[str]) -> dict[str, str]:
    """``algorithm_color`` of each name; the mix is always red so it stands out."""
    return {name: algorithm_color(name) for name in names}


def category_colors(values: Iterable[object]) -> dict[str, str]:
    """Category (as text) → colour, in the order given (largest first, say): ``CATEGORY_PALETTE``
    in turn, ``OTHER_COLOR`` beyond it and for "(no genre)"-like placeholders in parentheses."""
    names = [str(v) for v in dict.fromkeys(values)]
    colors = dict(zip([n for n in names if not n.startswith("(")], CATEGORY_PALETTE))
    return {n: colors.get(n, OTHER_COLOR) for n in names}


# ---------------------------------------------------------------------------- data overview
#: Points a long-tail curve is drawn with at most (``curve_ranks``).
LONG_TAIL_POINTS = 2_000


def long_tail_figure(counts: np.ndarray, what: str) -> go.Figure:
    """Interactions per user (or item), sorted from most to least active, log scale.

    The share held by the top 20 % is in the title: it says how skewed the data is at a glance.
    """
    ordered = np.sort(np.asarray(counts))[::-1]
    total = max(int(ordered.sum()), 1)
    top = int(ordered[: max(1, int(np.ceil(len(ordered) * 0.2)))].sum())
    ranks = curve_ranks(len(ordered))
    fig = go.Figure(go.Scatter(x=ranks, y=ordered[ranks - 1], mode="lines",
                               fill="tozeroy", line=dict(color=_PALETTE[0]),
                               hovertemplate=f"{_text(what)} rank %{{x}}: %{{y}} interactions<extra></extra>"))
    fig.update_yaxes(type="log", dtick=1, title="interactions")  # ticks at 1, 10, 100 … only
    fig.update_xaxes(title=_text(f"{what}s, most active first"))
    return _styled(fig, f"Interactions per {what} — top 20 % of {what}s hold {top / total:.0%}")


def curve_ranks(n: int, points: int = LONG_TAIL_POINTS) -> np.ndarray:
    """1-based ranks at which to draw a sorted curve of ``n`` values: all of them up to ``points``,
    else a log-spaced grid (dense in the head, where the curve bends) with the first and last.
    Why: a 200k-item catalog would otherwise ship 200k points to the browser for one line."""
    if n <= points:
        return np.arange(1, n + 1)
    return np.unique(np.r_[np.round(np.geomspace(1, n, points)).astype(np.int64), n])


def rating_histogram(ratings: Sequence[float] | np.ndarray, kind: ValueKind = RATINGS) -> go.Figure:
    """How often each rating value occurs; for counts (``genre.data.values.value_kind``: plays, clicks…)
    interactions per band on log axes, named as they are: a linear axis would squash every bar to 0."""
    if not kind.log_axis:
        values = pd.Series(np.asarray(ratings, dtype=float)).value_counts().sort_index()
        fig = go.Figure(go.Bar(x=values.index, y=values.to_numpy(), marker_color=_PALETTE[0],
                               hovertemplate="rating %{x}: %{y} interactions<extra></extra>"))
        return _styled(fig, "Rating distribution", xaxis_title="rating", yaxis_title="interactions")
    counts, edges, labels = count_bands(ratings)
    hover = f"%{{customdata}} {kind.plural}: %{{y}} interactions<extra></extra>"
    fig = go.Figure(go.Bar(x=np.sqrt(edges[:-1] * edges[1:]), y=counts, width=np.diff(edges), customdata=labels,
                           marker_color=_PALETTE[0], hovertemplate=hover))
    fig.update_yaxes(type="log", dtick=1, range=[-0.3, np.log10(max(counts.max(), 1)) + 0.2])  # from 0.5: 1 shows
    return _styled(fig, f"{kind.plural.capitalize()} per user–item pair", yaxis_title="interactions (log scale)",
                   xaxis=dict(type="log", title=f"{kind.plural} (log scale)"))


def genre_counts_figure(genres: Iterable[Sequence[str]], top: int = 20) -> go.Figure:
    """Number of items per genre (the ``top`` largest), as horizontal bars."""
    counts = Counter(g for gs in genres for g in gs).most_common(top)
    names = _texts(c[0] for c in counts)[::-1]
    values = [c[1] for c in counts][::-1]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=_PALETTE[1],
                           hovertemplate="%{y}: %{x} items<extra></extra>"))
    fig.update_xaxes(title="items")
    return _styled(fig, "Items per genre", height=max(300, 22 * len(names) + 80))


def activity_figure(timestamps: Sequence[int] | np.ndarray, freq: str = "MS") -> go.Figure:
    """Interactions per period (default month) from unix-second timestamps, as a filled step line.

    A line stays readable over decades of months, where bars would shrink to hairlines.
    """
    times = pd.to_datetime(np.asarray(timestamps, dtype=np.int64), unit="s")
    counts = pd.Series(1, index=times).resample(freq).sum()
    fig = go.Figure(go.Scatter(x=counts.index, y=counts.to_numpy(), mode="lines", line_shape="hv",
                               fill="tozeroy", line=dict(color=_PALETTE[2]),
                               hovertemplate="%{x|%b %Y}: %{y} interactions<extra></extra>"))
    fig.update_yaxes(title="interactions")
    return _styled(fig, "Activity over time")


# ---------------------------------------------------------------------------- metrics
def metrics_bar(metrics: pd.DataFrame, columns: Sequence[str] | None = None) -> go.Figure:
    """Grouped bars: one group per metric, one bar per algorithm (index), the mix in red."""
    columns = list(columns) if columns is not None else list(metrics.columns)
    missing = [c for c in columns if c not in metrics.columns]
    if missing:
        raise ConfigError(f"metrics have no column(s) {', '.join(missing)}; "
                          f"available: {', '.join(map(str, metrics.columns))}")
    colors = algorithm_colors(metrics.index)
    fig = go.Figure([go.Bar(name=_text(name), x=_texts(columns), y=metrics.loc[name, columns].to_numpy(dtype=float),
                            marker_color=colors[name],
                            hovertemplate=f"{_text(name)} %{{x}}: %{{y:.4f}}<extra></extra>")
                     for name in metrics.index])
    fig.update_layout(barmode="group", legend=dict(orientation="h", y=-0.15))
    return _styled(fig, "Metrics per algorithm and for the mix", height=400)


def comparison_bar(table: pd.DataFrame, metric: str, label: str = "run") -> go.Figure:
    """One bar per row of ``table`` (e.g. saved runs) for ``metric``, best highlighted."""
    if metric not in table.columns:
        raise ConfigError(f"no column {metric!r} to compare; available: {', '.join(map(str, table.columns))}")
    values = table[metric].to_numpy(dtype=float)
    names = _texts(table[label] if label in table.columns else table.index)
    best = int(np.nanargmax(values)) if len(values) and not np.isnan(values).all() else -1
    colors = [_MIX_COLOR if i == best else _PALETTE[0] for i in range(len(values))]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color=colors, text=[f"{v:.4f}" for v in values],
                           textposition="outside", hovertemplate="%{x}: %{y:.4f}<extra></extra>"))
    fig.update_yaxes(title=_text(metric), rangemode="tozero")
    return _styled(fig, f"{metric} by {label}")


def slices_figure(slices: pd.DataFrame, metric: str) -> go.Figure:
    """``metric`` per slice: one bar per ``group`` (e.g. cold users, long-tail items), coloured by ``slice``.

    Rows where the metric is undefined (NaN) are left out rather than drawn as zero.
    """
    if metric not in slices.columns:
        raise ConfigError(f"slices have no column {metric!r}; available: {', '.join(map(str, slices.columns))}")
    rows = slices[slices[metric].notna()]
    labels = pd.Series(_texts(rows["group"] if "group" in rows.columns else rows.index))
    kinds = pd.Series(_texts(rows["slice"]) if "slice" in rows.columns else ["slice"] * len(rows))
    users = rows["n_users"] if "n_users" in rows.columns else pd.Series([np.nan] * len(rows))
    fig = go.Figure()
    for i, kind in enumerate(dict.fromkeys(kinds)):
        mask = (kinds == kind).to_numpy()
        fig.add_trace(go.Bar(x=labels[mask], y=rows.loc[mask, metric].to_numpy(dtype=float), name=kind,
                             marker_color=_PALETTE[(i + 4) % len(_PALETTE)],
                             customdata=users[mask].to_numpy(),
                             hovertemplate="%{x}: %{y:.4f} (%{customdata} users)<extra></extra>"))
    fig.update_yaxes(title=_text(metric), rangemode="tozero")
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    return _styled(fig, f"{metric} by slice")


def sweep_figure(sweep: pd.DataFrame, metric: str, x: str = "weight", current: float | None = None,
                 on: str | None = None) -> go.Figure:
    """Metric as one weight varies; a dashed line marks the current value; ``on`` names the data
    it was measured on (e.g. "validation") in the title."""
    for column in (x, metric):
        if column not in sweep.columns:
            raise ConfigError(f"the sweep has no column {column!r}; available: {', '.join(sweep.columns)}")
    fig = go.Figure(go.Scatter(x=sweep[x], y=sweep[metric], mode="lines+markers",
                               line=dict(color=_PALETTE[0]),
                               hovertemplate=f"{_text(x)} %{{x:.2f}}: %{{y:.4f}}<extra></extra>"))
    if current is not None:
        fig.add_vline(x=current, line_dash="dash", line_color=_MIX_COLOR,
                      annotation_text="current", annotation_position="top")
    fig.update_xaxes(title=_text(x))
    fig.update_yaxes(title=_text(metric))
    return _styled(fig, f"{metric} as {x} varies" + (f" (on {on})" if on else ""))


def heatmap_figure(grid: pd.DataFrame, x: str, y: str, metric: str, on: str | None = None) -> go.Figure:
    """Metric over a grid of two weights (long frame with columns ``x``, ``y``, ``metric``); ``on``
    names the data it was measured on in the title."""
    table = grid.pivot_table(index=y, columns=x, values=metric)
    fig = go.Figure(go.Heatmap(z=table.to_numpy(), x=table.columns, y=table.index, colorscale="Viridis",
                               colorbar=dict(title=_text(metric)),
                               hovertemplate=f"{_text(x)} %{{x}}, {_text(y)} %{{y}}: %{{z:.4f}}<extra></extra>"))
    fig.update_xaxes(title=_text(x))
    fig.update_yaxes(title=_text(y))
    return _styled(fig, f"{metric} over two weights" + (f" (on {on})" if on else ""), height=420)


def tuning_curve_figure(curve: pd.DataFrame, metric: str) -> go.Figure:
    """Validation metric per tuning trial and the best so far."""
    if metric not in curve.columns:
        raise ConfigError(f"the tuning curve has no column {metric!r}; available: {', '.join(curve.columns)}")
    x = curve["trial"] if "trial" in curve.columns else np.arange(1, len(curve) + 1)
    values = curve[metric].to_numpy(dtype=float)
    fig = go.Figure([
        go.Scatter(x=x, y=values, mode="markers", name="trial", marker=dict(color=_PALETTE[0], size=6)),
        go.Scatter(x=x, y=np.fmax.accumulate(values), mode="lines", name="best so far",
                   line=dict(color=_MIX_COLOR)),
    ])
    fig.update_xaxes(title="trial")
    fig.update_yaxes(title=_text(f"validation {metric}"))
    fig.update_layout(legend=dict(orientation="h", y=-0.2))
    return _styled(fig, "Auto-tuning on the validation split")


def timings_figure(timings: Mapping[str, float]) -> go.Figure:
    """Seconds per stage as horizontal bars (slowest on top)."""
    items = sorted(timings.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=_texts(k for k, _ in items), orientation="h",
                           marker_color=_PALETTE[3], text=[f"{v:.1f} s" for _, v in items],
                           textposition="auto", hovertemplate="%{y}: %{x:.2f} s<extra></extra>"))
    fig.update_xaxes(title="seconds")
    return _styled(fig, "Time per stage", height=max(260, 28 * len(items) + 90))


def contributions_figure(recommendations: pd.DataFrame) -> go.Figure:
    """Stacked bars: how much each algorithm added to every recommended item's score."""
    parts = [c for c in recommendations.columns if c.startswith("contrib_")]
    if not parts:
        raise ConfigError("the recommendations carry no contrib_<algorithm> columns; ask for explain=True")
    labels = _texts(f"{r}. {t}" for r, t in zip(recommendations.get("rank", range(1, len(recommendations) + 1)),
                                                recommendations["title"]))[::-1]
    names = [c.removeprefix("contrib_") for c in parts]
    colors = algorithm_colors(names)
    fig = go.Figure([go.Bar(name=_text(name), y=labels, x=recommendations[col].to_numpy(dtype=float)[::-1],
                            orientation="h", marker_color=colors[name],
                            hovertemplate=f"{_text(name)}: %{{x:.3f}}<extra></extra>")
                     for name, col in zip(names, parts)])
    fig.update_layout(barmode="relative")  # legend on the right: under the plot it met the axis title
    fig.update_xaxes(title="weighted normalized score")
    return _styled(fig, "Why: each algorithm's share of the score", height=max(320, 30 * len(labels) + 110))


# ---------------------------------------------------------------------------- embeddings
def map_clusters(coords: np.ndarray, n_clusters: int = 8, seed: int = 42) -> np.ndarray:
    """Cluster label per point of a 2-D map (k-means on the map itself, so clusters look contiguous)."""
    n_clusters = int(max(1, min(n_clusters, len(coords))))
    return KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit_predict(np.asarray(coords, dtype=float))


def embedding_figure(points: pd.DataFrame, color: str | None = None, highlight: np.ndarray | None = None,
                     overlays: Mapping[str, np.ndarray] | None = None, title: str = "Items") -> go.Figure:
    """Scatter of projected items.

    ``points`` has columns ``x``, ``y``, ``title`` and optionally the ``color`` column
    (categorical → one trace per value, numeric → a colour scale). ``highlight`` (bool mask)
    draws matching items large; ``overlays`` maps a label (e.g. "history") to row positions
    drawn on top with their own marker.
    """
    fig = go.Figure()
    hover = "%{customdata}<extra></extra>"
    titles = np.asarray(_texts(points["title"]), dtype=object)  # hover texts, escaped once, sliced by position
    dim = highlight is not None and bool(np.any(highlight))
    opacity = 0.25 if dim or overlays else 0.7
    if color and color in points.columns and not pd.api.types.is_numeric_dtype(points[color]):
        values = points[color].astype(str)
        colors = category_colors(values.value_counts().index)
        for value, shade in colors.items():
            mask = (values == value).to_numpy()
            fig.add_trace(go.Scattergl(x=points["x"][mask], y=points["y"][mask], mode="markers", name=_text(value),
                                       customdata=titles[mask], hovertemplate=hover,
                                       marker=dict(size=5, opacity=opacity, color=shade)))
    else:
        marker = dict(size=5, opacity=opacity, color=_PALETTE[0])
        if color and color in points.columns:
            marker.update(color=points[color], colorscale="Viridis", showscale=True,
                          colorbar=dict(title=_text(color)))
        fig.add_trace(go.Scattergl(x=points["x"], y=points["y"], mode="markers", name="items",
                                   customdata=titles, hovertemplate=hover, marker=marker))
    if dim:
        mask = np.asarray(highlight, dtype=bool)
        rows = points[mask]
        fig.add_trace(go.Scattergl(x=rows["x"], y=rows["y"], mode="markers", name="search matches",
                                   customdata=titles[mask], hovertemplate=hover,
                                   marker=dict(size=11, color="#000000", symbol="diamond")))
    symbols = ("circle-open", "star", "x", "square")
    for i, (label, positions) in enumerate((overlays or {}).items()):
        positions = np.asarray(positions, dtype=int)
        rows = points.iloc[positions]
        fig.add_trace(go.Scattergl(x=rows["x"], y=rows["y"], mode="markers", name=_text(label),
                                   customdata=titles[positions], hovertemplate=hover,
                                   marker=dict(size=12, symbol=symbols[i % len(symbols)],
                                               color=[_MIX_COLOR, "#000000"][i % 2],
                                               line=dict(width=2))))
    fig.update_xaxes(showticklabels=False, title=None, zeroline=False)
    fig.update_yaxes(showticklabels=False, title=None, zeroline=False)
    fig.update_layout(legend=dict(itemsizing="constant"))
    return _styled(fig, title, height=620)


def users_and_items_figure(points: pd.DataFrame, users: pd.DataFrame, chosen: int | None = None,
                           color: str | None = None, highlight: np.ndarray | None = None,
                           overlays: Mapping[str, np.ndarray] | None = None, title: str = "Users and items"
                           ) -> go.Figure:
    """``embedding_figure`` of the items with users drawn in the same projection.

    ``users`` has columns ``x``, ``y``, ``user`` (the id, shown on hover, escaped); ``chosen``
    is the row of ``users`` to mark large (the user whose history and recommendations are
    overlaid).
    """
    fig = embedding_figure(points, color=color, highlight=highlight, overlays=overlays, title=title)
    labels = np.asarray([f"user {t}" for t in _texts(users["user"])], dtype=object)
    fig.add_trace(go.Scattergl(x=users["x"], y=users["y"], mode="markers", name="users",
                               customdata=labels, hovertemplate="%{customdata}<extra></extra>",
                               marker=dict(size=5, symbol="triangle-up", color="#555555", opacity=0.5)))
    if chosen is not None:
        row = users.iloc[[int(chosen)]]
        fig.add_trace(go.Scattergl(x=row["x"], y=row["y"], mode="markers", name="chosen user",
                                   customdata=labels[[int(chosen)]], hovertemplate="%{customdata}<extra></extra>",
                                   marker=dict(size=18, symbol="star", color=_MIX_COLOR,
                                               line=dict(width=1, color="#000000"))))
    return fig
