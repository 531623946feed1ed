"""How much memory one run may use: ``GENRE_RUN_MEMORY_MB``, else half the memory available now.

Why: bounds per parameter are not enough: a two-tower whose batch_size, max_history and dim
are each in range can still ask torch for a 35 GB tensor. Before fitting, the run core sums
each algorithm's and encoder's own estimate (``peak_bytes``) and compares it with this budget.
"""

from __future__ import annotations

import math
import os

import psutil

from genre.errors import ConfigError

#: The environment variable an operator sets to fix the budget (megabytes).
BUDGET_VARIABLE = "GENRE_RUN_MEMORY_MB"
#: Without it, this share of the memory available when the run starts.
AVAILABLE_SHARE = 0.5


def run_memory_budget() -> int:
    """The budget in bytes: ``GENRE_RUN_MEMORY_MB`` × 2²⁰ when set, else half of what is available."""
    raw = os.environ.get(BUDGET_VARIABLE, "").strip()
    if not raw:
        return int(AVAILABLE_SHARE * psutil.virtual_memory().available)
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = math.nan
    if not math.isfinite(megabytes) or megabytes <= 0:
        raise ConfigError(f"{BUDGET_VARIABLE} must be a positive number of megabytes; got {raw[:40]!r}")
    return int(megabytes * 2**20)


def budget_source() -> str:
    """Where the budget comes from, as the refusal message says it."""
    if os.environ.get(BUDGET_VARIABLE, "").strip():
        return BUDGET_VARIABLE
    return f"half the available memory; {BUDGET_VARIABLE} sets it"


def gigabytes(n_bytes: float) -> str:
    """``3.2 GB`` (decimal, one decimal place; ``0.01 GB`` below 100 MB)."""
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e9:.2f} GB"
