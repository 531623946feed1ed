"""Multi-hot vectors of categories (genres, tags from a fixed list, brands...).

Each input is a list of category names or one string with ``|``- or ``,``-separated names.
Columns are the categories seen in the first corpus (sorted); two items' cosine is then the
overlap of their categories. Dense when there are few categories, CSR when there are many.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar, Sequence

import numpy as np
import scipy.sparse as sp

from genre.constraints import Bound, Constraints, Text
from genre.encoders.base import Progress, Vectors, l2_normalize, report_progress
from genre.errors import NotFittedError


def split_categories(value: Any, separators: str = "|,") -> list[str]:
    """Category names of one value: a list passes through, a string splits on the first separator it holds."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, (list, tuple, set, np.ndarray)):
        names = [str(v) for v in value]
    else:
        text = str(value)
        sep = next((s for s in separators if s in text), None)
        names = text.split(sep) if sep else [text]
    return [n.strip() for n in names if n.strip()]


class MultiHotEncoder:
    """One column per category, 1 where the item has it, rows L2-normalized.

    Parameters
    ----------
    separators : str
        Characters tried, in order, to split a string value into category names.
    max_dense : int
        Up to this many categories the output is a dense array, above it a CSR matrix.

    Examples
    --------
    >>> MultiHotEncoder().encode(["Comedy|Drama", ["Drama"], ""]).shape
    (3, 2)
    """

    cacheable = False
    #: What to lower when ``peak_bytes`` is over the run's memory budget.
    memory_hint = "max_dense"

    _parameter_constraints: ClassVar[Constraints] = {
        "separators": Text(max_chars=32), "max_dense": Bound(0, 65_536, int)}

    def __init__(self, separators: str = "|,", max_dense: int = 1024) -> None:
        self.separators = separators
        self.max_dense = max_dense
        self.last_report: dict[str, Any] = {}

    def dense_width(self, n_items: int) -> int:
        """At most how many columns a dense output has (categories seldom outnumber items; above
        ``max_dense`` the output stays sparse)."""
        return min(int(self.max_dense), n_items)

    def peak_bytes(self, n_items: int) -> int:
        """Before encoding (genre.run): dominated by the dense n_items × categories float32 output,
        made from the CSR rows (``toarray``) beside the normalized copy: about twice that block."""
        return 2 * 4 * n_items * self.dense_width(n_items) + 3 * 12 * n_items * 16

    def fit(self, corpus: Sequence[Any]) -> "MultiHotEncoder":
        """Learn the category names (columns) of ``corpus``."""
        names = sorted({n for value in corpus for n in split_categories(value, self.separators)})
        self.categories_ = names
        self.columns_ = {n: j for j, n in enumerate(names)}
        return self

    @property
    def id(self) -> str:
        self._check_fitted()
        digest = hashlib.sha256("\x1e".join(self.categories_).encode("utf-8")).hexdigest()[:16]
        return f"multi-hot:{digest}"

    @property
    def dim(self) -> int:
        self._check_fitted()
        return len(self.categories_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "categories_"):
            raise NotFittedError("This MultiHotEncoder instance is not fitted yet. Call 'fit' (or "
                                 "'encode', which fits on its first corpus) before using it.")

    def encode(self, inputs: Sequence[Any], progress: Progress | None = None) -> Vectors:
        """Rows over the fitted categories (unknown names are counted in ``last_report``)."""
        if not hasattr(self, "categories_"):
            self.fit(inputs)
        report_progress(progress, 0, len(inputs), "multi-hot")
        indptr, indices, unknown = [0], [], 0
        for value in inputs:
            names = split_categories(value, self.separators)
            known = sorted({self.columns_[n] for n in names if n in self.columns_})
            unknown += sum(n not in self.columns_ for n in names)
            indices.extend(known)
            indptr.append(len(indices))
        data = np.ones(len(indices), dtype=np.float32)
        matrix = sp.csr_matrix((data, indices, indptr), shape=(len(inputs), self.dim), dtype=np.float32)
        vectors = l2_normalize(matrix)
        report_progress(progress, len(inputs), len(inputs), "multi-hot: done")
        self.last_report = {"empty": int((np.diff(vectors.indptr) == 0).sum()), "unknown": unknown}
        return vectors.toarray() if self.dim <= self.max_dense else vectors
