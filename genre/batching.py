"""How many users to score at once so a dense users × items block stays bounded in memory.

Shared by evaluation (``genre.evaluate``) and the candidate store (``genre.store``), which both
score users in batches of dense rows: on a 200k-item catalog a batch holds ~80 users instead of
1,024 (which would be 800 MB).
"""

from __future__ import annotations

#: Users scored per call of the scorer at most.
DEFAULT_BATCH_SIZE = 1024

#: Bytes of one dense score batch (users × items float32) that ``rows_per_batch`` aims at.
BATCH_BYTES = 64 * 2**20


def rows_per_batch(n_items: int, batch_size: int = DEFAULT_BATCH_SIZE, n_blocks: int = 1) -> int:
    """Users per batch so that ``n_blocks`` dense (users × n_items) float32 blocks stay near
    ``BATCH_BYTES`` however large the catalog, and never more than ``batch_size``.

    >>> rows_per_batch(200_000)
    83
    """
    return int(max(1, min(batch_size, BATCH_BYTES // (4 * max(n_items, 1) * max(n_blocks, 1)))))
