"""A torch network held by a fitted model (``model.net_``), saved as plain arrays and loaded back.

Saving keeps every tensor of the net's ``state_dict`` as a numpy array under ``net_@torch.<name>``
beside the model's other learned state; loading gives those arrays to a net the model rebuilt
from its own hyper-parameters (strict: a missing, extra or misshapen tensor is refused in one
line). Used by the two-tower model and the sequential transformer; torch is imported inside.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from genre.algorithms.base import Recommender
from genre.errors import PersistError

PREFIX = "net_@torch."


def state_with_net(model: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """``Recommender._state`` of ``model`` plus its net's tensors as arrays."""
    state = Recommender._state(model, skip=(*skip, "net_"))
    state.update({PREFIX + name: tensor.detach().cpu().numpy().copy()
                  for name, tensor in model.net_.state_dict().items()})
    return state


def restore_plain(model: Any, state: dict[str, Any]) -> dict[str, np.ndarray]:
    """Set the model's non-network state; returns the net's arrays by tensor name."""
    Recommender._restore(model, {k: v for k, v in state.items() if not k.startswith(PREFIX)})
    return {k[len(PREFIX):]: np.asarray(v) for k, v in state.items() if k.startswith(PREFIX)}


def load_net(model: Any, net: Any, tensors: dict[str, np.ndarray]) -> Any:
    """Load ``tensors`` into ``net`` (strict), put it in eval mode and on ``model.net_``; returns the model."""
    import torch  # heavy optional: only the torch models need it

    try:
        net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
    except RuntimeError as error:
        raise PersistError(f"{model.name}: the saved network does not fit its parameters: "
                           f"{' '.join(str(error).split())[:300]}") from None
    net.eval()
    model.net_ = net
    return model
