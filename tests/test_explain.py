"""Explanations come from the model that scored the item, never from words two titles happen to share."""

import numpy as np
import pandas as pd
import pytest

from genre.config import RunConfig
from genre.data import Dataset
from genre.run import Experiment
from genre.starter_configs import load_preset

TITLES = {"amadeus": "Amadeus (1984)", "dawn": "Red Dawn (1984)", "story": "NeverEnding Story, The (1984)",
          "mozart": "Mozart Concert (1990)", "other": "Other Film (1990)"}


def _planted() -> Dataset:
    """Fans watch Mozart Concert and Amadeus; the other 1984 titles are never watched with Amadeus. The
    target user watched Red Dawn, NeverEnding Story and Mozart Concert (Amadeus is their held-out item)."""
    rows = []
    for u in range(30):
        rows += [(f"fan{u}", "mozart", 1), (f"fan{u}", "amadeus", 2), (f"fan{u}", "other", 3)]  # last: held out
    for u in range(30):
        rows += [(f"kid{u}", "dawn", 1), (f"kid{u}", "story", 2), (f"kid{u}", "other", 3)]
    rows += [("target", "dawn", 1), ("target", "story", 2), ("target", "mozart", 3), ("target", "amadeus", 4)]
    frame = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    items = pd.DataFrame({"item_id": list(TITLES), "title": list(TITLES.values()),
                          "genres": [["Drama"], ["Action"], ["Fantasy"], ["Music"], ["Action"]]})
    return Dataset.from_frame(frame, items, name="planted")


def test_a_shared_year_never_explains_the_1984_case():
    config = RunConfig.from_dict({
        "split": {"method": "leave_last_out"},
        "features": {"modalities": [{"name": "text", "fields": ["title"], "encoder": "tfidf"}]},
        "algorithms": [{"name": "item_knn", "weight": 1.0}, {"name": "content", "weight": 0.2}],
        "evaluation": {"ks": [3]}})
    trained = Experiment(config, dataset=_planted()).train()
    frame = trained.recommend("target", k=2)
    amadeus = frame.set_index("item_id").loc["amadeus"]
    assert amadeus["explained_by"] == "item_knn"
    assert amadeus["because"] == [TITLES["mozart"]]  # the co-watched film, not the two other 1984 titles


@pytest.fixture(scope="module")
def tuned(sample_dataset):
    return Experiment(load_preset("tuned mix"), dataset=sample_dataset).train()


def test_every_reason_is_backed_by_the_leading_models_own_weights(tuned):
    """On the sample's tuned mix, 50 users' top-10: each "because" item has a positive weight towards the
    recommendation in the algorithm that contributed most, and is one of that model's 3 strongest."""
    checked = 0
    for user_id in tuned.user_ids_evaluated[:50]:
        user = int(tuned.dataset_.user_index(user_id)[0])
        history = tuned.split_.train_matrix()[user].indices
        for row in tuned.recommend(user_id, k=10).itertuples():
            contributions = {c.removeprefix("contrib_"): getattr(row, c) for c in row._fields
                             if c.startswith("contrib_")}
            assert row.explained_by == max(contributions, key=contributions.get)
            model = tuned.models_[row.explained_by]
            weights = getattr(model, "similarity_", getattr(model, "weights_", None))
            if weights is None:  # a model with item vectors: reasons are nearest neighbours (tested above)
                continue
            item = int(tuned.dataset_.item_index(row.item_id)[0])
            near = history if not hasattr(model, "queries_") else np.intersect1d(history, model.queries_[user].indices)
            column = weights[near][:, [item]]
            column = np.asarray(column.todense() if hasattr(column, "todense") else column).ravel()
            order = np.argsort(-column, kind="stable")[:3]
            strongest = set(near[order][column[order] > 0].tolist())
            reasons = tuned.dataset_.item_index(row.because_ids).tolist() if row.because_ids else []
            assert set(reasons) == strongest
            checked += len(reasons)
    assert checked > 100
