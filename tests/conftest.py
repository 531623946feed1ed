"""Shared fixtures: the bundled sample data (MovieLens ml-latest-small)."""

from pathlib import Path

import pytest

from genre import hosting
from genre.data import Dataset, load_dataset


@pytest.fixture(autouse=True)
def library_mode(monkeypatch):
    """Each test starts as the CLI would (paths in data rows unconfined); AppTest pages switch the
    process to hosted mode themselves, and the switch is undone after the test."""
    monkeypatch.setattr(hosting, "_PATHS_IN_DATA_CONFINED", False)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The bundled sample data folder (ratings.csv, movies.csv, tags.csv, links.csv)."""
    return Path(__file__).parents[1] / "sample_data"


@pytest.fixture(scope="session")
def sample_dataset(sample_dir: Path) -> Dataset:
    """The sample data loaded once per test session (do not modify it in a test)."""
    return load_dataset(sample_dir)
