"""Loading interaction and item data into a ``Dataset``."""

from genre.data.cleaning import CleaningOptions, clean
from genre.data.dataset import Dataset, interaction_matrix
from genre.data.loaders import load_dataset, load_interactions, load_items
from genre.data.guess import Guess, guess_tables
from genre.data.columns import ColumnMapping
from genre.data.mapping import guess_mapping
from genre.data.formats import PRESETS, detect_preset
from genre.data.readers import DEFAULT_MAX_BYTES, read_table
from genre.data.tags import item_tag_text, leak_free_tags

__all__ = [
    "Dataset", "interaction_matrix",
    "load_dataset", "load_interactions", "load_items", "read_table", "DEFAULT_MAX_BYTES",
    "ColumnMapping", "guess_mapping", "guess_tables", "Guess", "PRESETS", "detect_preset",
    "CleaningOptions", "clean", "item_tag_text", "leak_free_tags",
]
