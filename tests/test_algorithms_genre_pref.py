"""Genre preference: the smoothed distribution and the popularity tie-breaker, by hand."""

import numpy as np
import pytest
import scipy.sparse as sp

from genre.algorithms.genre_pref import GenrePreference
from genre.errors import ConfigError
from genre.features import Features

# Genres A, B, C; item 1 is both A and B (half a unit each).
GENRES = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32))
# User 0 saw item 0; user 1 items 2 and 3; user 2 item 3. Genre counts [1, 1, 2] → prior [.25, .25, .5].
TRAIN = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1]], dtype=np.float32))


def _scores(**params) -> np.ndarray:
    return GenrePreference(**params).fit(TRAIN, Features(item_genres=GENRES)).score(0)[0]


def test_alpha_pulls_the_user_toward_the_global_genre_distribution():
    # θ0 = ([1, 0, 0] + 4 · [.25, .25, .5]) / (1 + 4) = [.4, .2, .4]
    np.testing.assert_allclose(_scores(alpha=4.0, popularity_weight=0.0), [0.4, 0.3, 0.2, 0.4], rtol=1e-6)


def test_without_prior_only_the_users_own_genres_count():
    np.testing.assert_allclose(_scores(alpha=0.0, popularity_weight=0.0), [1.0, 0.5, 0.0, 0.0], atol=1e-7)


def test_popularity_breaks_ties_between_equally_liked_items():
    # Users per item [1, 0, 1, 2] → popularity / max = [.5, 0, .5, 1].
    scores = _scores(alpha=4.0, popularity_weight=0.01)
    np.testing.assert_allclose(scores, [0.405, 0.3, 0.205, 0.41], rtol=1e-6)
    assert scores[3] > scores[0]


def test_items_without_genres_all_around_are_refused():
    with pytest.raises(ConfigError, match="no item has a genre"):
        GenrePreference().fit(TRAIN, Features(item_genres=sp.csr_matrix((4, 3), dtype=np.float32)))


def test_negative_alpha_is_refused():
    with pytest.raises(ConfigError, match=r"genre_pref\.alpha must be a number in \[0, 1e\+06\]; got -1"):
        GenrePreference(alpha=-1).fit(TRAIN, Features(item_genres=GENRES))
