"""What data without timestamps rules out: the splits and algorithms that need an order in time.

Kept in the data layer so that loading a dataset can note it and the Train page can default
to a time-free split, without importing the algorithms.
"""

from __future__ import annotations

import pandas as pd


#: Split methods that order each user's interactions by time.
TIME_SPLITS = ("temporal", "leave_last_out")
#: Algorithms that need interaction times (those whose ``requires`` names ``interaction_times``;
#: kept here, below the algorithms, so the data layer can say what needs time; a test checks it
#: against the classes).
TIME_ALGORITHMS = ("sequential", "transformer_seq")
#: What a split or algorithm falls back to on data without timestamps.
TIMELESS_SPLIT = "random"


def needs_time(name: str) -> bool:
    """True when the split method or algorithm ``name`` needs interaction times to mean anything
    (``temporal``, ``leave_last_out``, ``sequential``): on data without timestamps its order
    would be the file's (or a random) order, not what happened when."""
    return name in TIME_SPLITS or name in TIME_ALGORITHMS


def has_time(interactions: pd.DataFrame) -> bool:
    """True when the interactions carry an order in time (more than one distinct timestamp)."""
    return "timestamp" in interactions and interactions["timestamp"].nunique() > 1


def time_free(method: str, interactions: pd.DataFrame) -> str:
    """``method``, or the random split when ``method`` needs time and the data has none."""
    return TIMELESS_SPLIT if needs_time(method) and not has_time(interactions) else method


def time_note() -> str:
    """The one line that says what data without timestamps rules out, and the fallback."""
    timed = [*TIME_SPLITS, *TIME_ALGORITHMS]
    return (f"no timestamps: {', '.join(timed[:-1])} and {timed[-1]} need time (here they would follow "
            f"a random order); the Train page defaults to the {TIMELESS_SPLIT} split without them")
