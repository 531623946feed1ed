"""GENRE: explore and configure LLM-powered recommenders.

The package never imports streamlit; heavy dependencies (torch, sentence-transformers,
umap, transformers) are imported lazily inside the functions that need them.
"""

from genre.errors import ConfigError, DataError, GenreError, NotFittedError

__version__ = "0.1.0"
__all__ = ["GenreError", "DataError", "ConfigError", "NotFittedError", "__version__"]
