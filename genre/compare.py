"""Comparing runs honestly: each figure with its 95 % interval, whether a difference is measurable,
which weights differ, the best point of a weight sweep, and what Auto-tune changed on validation.

Pure functions over plain data (a saved run as ``genre.runs.RunRegistry.load`` returns it, a
``RunResult``'s frames, a sweep's frame); no Streamlit, no plotting (``genre.viz_compare`` draws).

Intervals come from where the run measured them: the 95 % half-widths each evaluation stores
(normal approximation over per-user values, ``genre.evaluate.half_width``); a run saved without
them gets them from its stored per-user values; a figure with neither (coverage: one number for
the whole catalogue) has none and says so.

Two runs evaluated on the same users (same data, split, seed and user sample) are compared
*paired*: the interval is that of the per-user differences, much tighter than the two runs' own
intervals side by side, because both runs see the same easy and hard users. Otherwise the
difference's half-width is √(h₁² + h₂²).

Examples
--------
>>> a = SavedRun("#1 both", {"pop": 0.5, "knn": 0.5}, {"ndcg@10": 0.1638}, {"ndcg@10": 0.0145})
>>> b = SavedRun("#2 knn", {"pop": 0.0, "knn": 1.0}, {"ndcg@10": 0.1584}, {"ndcg@10": 0.0150})
>>> row = differences([a, b], "ndcg@10").iloc[0]
>>> bool(row["measurable"]), row["note"][:28]
(False, 'within the 95 % interval: no')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from genre.evaluate import half_width

#: What a reader is told about a figure without an interval.
EXACT = "exact (all users)"
CATALOGUE = "no interval (one figure for the whole catalogue)"
WITHIN = "within the 95 % interval: not a measurable difference"
BEYOND = "beyond the 95 % interval: a measurable difference"


@dataclass
class SavedRun:
    """One run as compared: its label, weights, the mix's metrics and 95 % half-widths, per-user values.

    ``same_users`` is a key that is equal for runs evaluated on the same users (data, split, seed,
    user sample); None when unknown, which rules out a paired comparison.
    """

    label: str
    weights: dict[str, float]
    metrics: dict[str, float]
    intervals: dict[str, float] = field(default_factory=dict)
    per_user: pd.DataFrame | None = None
    same_users: Any = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "SavedRun":
        """A run as ``RunRegistry.load`` returns it (the mix's figures)."""
        config = record.get("config")
        key = None
        if config is not None:
            key = repr((config.data, config.split, config.seed, config.evaluation.max_users))
        per_user = record.get("per_user")
        return cls(label=f"#{record['id']} {record['name']}", weights=dict(record.get("weights") or {}),
                   metrics=dict((record.get("metrics") or {}).get("mix", {})),
                   intervals=dict((record.get("intervals") or {}).get("mix", {})),
                   per_user=per_user if per_user is not None and len(per_user) else None, same_users=key)

    def interval(self, metric: str) -> tuple[float, float | None, str]:
        """(value, 95 % half-width or None, what the interval rests on) of ``metric``."""
        value = _number(self.metrics.get(metric))
        stored = _number(self.intervals.get(metric))
        n_users = len(self.per_user) if self.per_user is not None else None
        over = f" over {n_users:,} users" if n_users else ""
        if not math.isnan(stored):
            return value, stored, f"95 % interval{over}"
        if self.per_user is not None and metric in self.per_user.columns:
            computed = half_width(self.per_user[metric].to_numpy(dtype=float))
            if not math.isnan(computed):
                return value, computed, f"95 % interval{over} (from the per-user values)"
        if metric.startswith("coverage"):
            return value, None, CATALOGUE
        return value, None, EXACT


def _number(value: Any) -> float:
    try:
        return float(value) if value is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def interval_table(runs: Sequence[SavedRun], metric: str) -> pd.DataFrame:
    """One row per run: run, value, half_width (NaN: none), low, high, basis — the error bars."""
    rows = []
    for run in runs:
        value, width, basis = run.interval(metric)
        width = float("nan") if width is None else width
        rows.append({"run": run.label, "value": value, "half_width": width,
                     "low": value - width, "high": value + width, "basis": basis})
    return pd.DataFrame(rows, columns=["run", "value", "half_width", "low", "high", "basis"])


def difference(a: SavedRun, b: SavedRun, metric: str) -> dict[str, Any]:
    """``b − a`` on ``metric``: the difference, its 95 % half-width, whether it was paired, whether it
    is measurable (outside the interval) and the note to show."""
    va, ha, _ = a.interval(metric)
    vb, hb, _ = b.interval(metric)
    diff = vb - va
    paired = (a.same_users is not None and a.same_users == b.same_users and a.per_user is not None
              and b.per_user is not None and metric in a.per_user.columns and metric in b.per_user.columns
              and len(a.per_user) == len(b.per_user) and a.per_user.index.equals(b.per_user.index))
    if paired:
        width = half_width(b.per_user[metric].to_numpy(dtype=float) - a.per_user[metric].to_numpy(dtype=float))
        basis = f"paired over the same {len(a.per_user):,} users"
    elif ha is not None and hb is not None:
        width, basis = math.hypot(ha, hb), "the two runs' intervals combined"
    else:
        width, basis = float("nan"), "no interval"
    if math.isnan(diff):
        measurable, note = None, "not measured in both runs"
    elif math.isnan(width):
        measurable, note = None, "no interval to judge it by"
    elif width == 0 and diff == 0:
        measurable, note = False, "identical on every user"
    else:
        measurable = abs(diff) > width
        note = BEYOND if measurable else WITHIN
    return {"run": b.label, "vs": a.label, "difference": diff, "half_width": width, "basis": basis,
            "paired": paired, "measurable": measurable, "note": note}


def differences(runs: Sequence[SavedRun], metric: str, reference: int = 0) -> pd.DataFrame:
    """Every run against ``runs[reference]`` on ``metric`` (``difference``), one row per other run."""
    if not runs:
        return pd.DataFrame(columns=["run", "vs", "difference", "half_width", "basis", "paired",
                                     "measurable", "note"])
    base = runs[reference]
    return pd.DataFrame([difference(base, run, metric) for i, run in enumerate(runs) if i != reference])


def sentence(row: Mapping[str, Any], metric: str) -> str:
    """A difference row as one line: "#2 − #1 on ndcg@10: −0.0054 ± 0.0031 (paired …) — within …"."""
    width = row["half_width"]
    spread = "" if width is None or math.isnan(width) else f" ± {width:.4f}"
    return (f"{row['run']} − {row['vs']} on {metric}: {row['difference']:+.4f}{spread} "
            f"({row['basis']}) — {row['note']}.")


def weight_table(runs: Sequence[SavedRun]) -> pd.DataFrame:
    """Each algorithm's weight (rows) in each run (columns, NaN: not in that run), and a last column
    ``differs``: True where the runs do not all give it the same weight."""
    names = list(dict.fromkeys(n for run in runs for n in run.weights))
    table = pd.DataFrame({run.label: [_number(run.weights.get(n)) for n in names] for run in runs},
                         index=pd.Index(names, name="algorithm"))
    table["differs"] = [_differs(table.loc[n, [r.label for r in runs]].to_numpy(dtype=float)) for n in names]
    return table


def _differs(values: np.ndarray) -> bool:
    if np.isnan(values).any():
        return not np.isnan(values).all()
    return bool(len(values)) and not np.allclose(values, values[0], rtol=0, atol=1e-9)


def best_point(frame: pd.DataFrame, metric: str, weights: Mapping[str, float],
               columns: Sequence[str]) -> dict[str, float]:
    """The mix at ``frame``'s best ``metric``: ``weights`` with ``columns`` (the swept weights, named as
    algorithms; a sweep's lone ``"weight"`` column is mapped by the caller) set to that row's values.
    Ties go to the first row (the sweep's order: the lowest weight)."""
    missing = [c for c in (metric, *columns) if c not in frame.columns]
    if missing or not len(frame):
        raise ValueError(f"the sweep has no column(s) {missing} or no rows")
    values = frame[metric].to_numpy(dtype=float)
    if np.isnan(values).all():
        raise ValueError(f"the sweep has no {metric} value")
    row = frame.iloc[int(np.nanargmax(values))]
    return {**{n: float(w) for n, w in weights.items()}, **{c: float(row[c]) for c in columns}}


def sweep_best(frame: pd.DataFrame, metric: str, weights: Mapping[str, float], name: str
               ) -> tuple[dict[str, float], float]:
    """A one-weight sweep's best mix (``frame`` has ``"weight"``) and its ``metric`` value."""
    renamed = frame.rename(columns={"weight": name}) if name not in frame.columns else frame
    best = best_point(renamed, metric, weights, [name])
    return best, float(renamed[metric].max())


def grid_best(frame: pd.DataFrame, metric: str, weights: Mapping[str, float], x: str, y: str
              ) -> tuple[dict[str, float], float]:
    """A heat map's best mix (``frame`` has columns ``x`` and ``y``) and its ``metric`` value."""
    return best_point(frame, metric, weights, [x, y]), float(frame[metric].max())


@dataclass(frozen=True)
class TuneReport:
    """What Auto-tune changed: the validation score it optimised, before → after, and the test figure."""

    metric: str
    validation_before: float | None
    validation_after: float
    test_before: float
    test_after: float
    test_half_width: float | None = None

    @property
    def test_went_down(self) -> bool:
        return self.test_after < self.test_before - 1e-12

    @property
    def test_change_within_interval(self) -> bool:
        width = self.test_half_width
        return width is not None and not math.isnan(width) and abs(self.test_after - self.test_before) <= width

    def why(self) -> str:
        """One sentence on why the test figure can move the other way."""
        base = (f"Auto-tune picks the weights with the best {self.metric} on validation (a carve of the training "
                "data), never on test; test is other held-out interactions, so a validation gain need not carry "
                "over")
        moved = self.test_after - self.test_before
        if self.test_change_within_interval:
            return base + f": here test moved by {moved:+.4f}, within its ± {self.test_half_width:.4f} interval — " \
                          "not a measurable change either way."
        if self.test_went_down:
            return base + ": here test went down beyond its interval — the validation carve and test disagree."
        return base + "."
