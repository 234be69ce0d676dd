"""NumPy inference for the acting path of the FC models (collector and evaluator forwards).

On a small CPU a torch call costs tens of microseconds of overhead per layer, more than the matmuls
themselves; NumPy does the same forward for a batch of 8 observations in a fraction of the time. The
weights are NumPy *views* of the torch parameters (no copies), so optimizer steps and ``load_state_dict``
(both in-place) are seen immediately and there is nothing to synchronise. (Learning has its own NumPy
passes: ``ding_lite.numpy_learn``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn


def linears(module: nn.Module) -> list[nn.Linear]:
    """The Linear layers of a module, in registration order."""
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


class LinearChain:
    """``x -> relu(x @ W0.T + b0) -> ...``; the last layer skips the ReLU unless ``relu_last``."""

    def __init__(self, layers: Sequence[nn.Linear], relu_last: bool = False) -> None:
        self._layers = [(layer.weight.detach().numpy().T, layer.bias.detach().numpy()) for layer in layers]
        self._relu = [True] * (len(layers) - 1) + [relu_last]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for (weight, bias), relu in zip(self._layers, self._relu):
            x = x @ weight
            x += bias
            if relu:
                np.maximum(x, 0.0, out=x)
        return x


class DuelingChain:
    """Encoder then Q = A - mean(A) + V, as the dueling head computes it.

    ``ranking_only=True`` returns A alone: per row it differs from Q by a constant, so it ranks actions
    the same way (argmax, greedy acting) at little more than half the cost.
    """

    def __init__(self, encoder: nn.Module, advantage: nn.Module, value: nn.Module, ranking_only: bool = False) -> None:
        self._encoder = LinearChain(linears(encoder), relu_last=True)
        self._advantage = LinearChain(linears(advantage))
        self._value = LinearChain(linears(value))
        self._ranking_only = ranking_only

    def __call__(self, x: np.ndarray) -> np.ndarray:
        feature = self._encoder(x)
        advantage = self._advantage(feature)
        if self._ranking_only:
            return advantage
        return advantage - advantage.mean(axis=-1, keepdims=True) + self._value(feature)
