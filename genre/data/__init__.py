"""Loading interaction and item data into a ``Dataset``."""

from genre.data.dataset import Dataset, interaction_matrix

__all__ = ["Dataset", "interaction_matrix"]
