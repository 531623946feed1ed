"""Shared fixtures: the bundled sample data (MovieLens ml-latest-small)."""

from pathlib import Path

import pytest

from genre import paths
from genre.data import Dataset, load_dataset


@pytest.fixture(autouse=True)
def library_mode(monkeypatch):
    """Each test starts as the CLI would (paths in data rows unconfined); AppTest pages switch the
    process to hosted mode themselves, and the switch is undone after the test."""
    monkeypatch.setattr(paths, "_PATHS_IN_DATA_CONFINED", False)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The bundled sample data folder (ratings.csv, movies.csv, tags.csv, links.csv)."""
    return Path(__file__).parents[1] / "sample_data"


@pytest.fixture(scope="session")
def sample_dataset(sample_dir: Path) -> Dataset:
    """The sample data loaded once per test session (do not modify it in a test)."""
    return load_dataset(sample_dir)


def first_users(dataset: Dataset, n_users: int, name: str = "slice") -> Dataset:
    """A small Dataset of ``dataset``'s first ``n_users`` users (by index) and the items they touched."""
    keep = dataset.interactions[dataset.interactions["user"] < n_users]
    raw = keep.assign(user=dataset.user_ids[keep["user"]], item=dataset.item_ids[keep["item"]])
    return Dataset.from_frame(raw, dataset.items[dataset.items.index.isin(keep["item"].unique())], name=name)
