"""ALS / BPR specifics: BLAS threading, and factors that reproduce the scores."""

import os
import subprocess
import sys

import numpy as np
import scipy.sparse as sp

from genre.algorithms.implicit_mf import ALS, BPR

TRAIN = sp.random(40, 25, density=0.2, format="csr", random_state=0, dtype=np.float32)


def test_fitting_without_openblas_env_var_raises_no_threadpool_warning():
    # implicit warns (RuntimeWarning) when OpenBLAS runs its own pool; GENRE limits it while fitting.
    code = ("import numpy as np, scipy.sparse as sp\n"
            "from genre.algorithms.implicit_mf import ALS, BPR\n"
            "m = sp.random(30, 20, density=0.3, format='csr', random_state=0, dtype=np.float32)\n"
            "ALS(factors=4, iterations=2).fit(m); BPR(factors=4, iterations=2).fit(m)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    result = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-c", code],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr


def test_scores_are_user_factors_times_item_factors():
    for model in (ALS(factors=6, iterations=3), BPR(factors=6, iterations=3)):
        model.fit(TRAIN)
        assert model.user_factors_.shape[0] == 40 and model.item_factors_.shape[0] == 25
        np.testing.assert_allclose(model.score([3, 7]), model.user_factors_[[3, 7]] @ model.item_factors_.T,
                                   rtol=1e-6)


def test_the_seed_decides_the_factors():
    first = ALS(factors=6, iterations=3, random_state=1).fit(TRAIN).item_factors_
    other = ALS(factors=6, iterations=3, random_state=2).fit(TRAIN).item_factors_
    assert not np.allclose(first, other)
