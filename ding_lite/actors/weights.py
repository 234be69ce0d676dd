"""Weights between the learner and the actors: named NumPy arrays in Ray's object store.

What travels is ``{parameter name: np.ndarray}``, the collect-mode model's ``state_dict`` copied to the CPU:
plain arrays, which Ray stores without pickling (zero-copy on the same machine), never a pickled module or
code. An actor loads them strictly (every name and shape must fit its model) between two collects.

:class:`WeightPublisher` keeps the newest published copy: a version number that grows by one per push, the
``train_iter`` the weights were taken at, and the object reference actors receive them through. It pushes
at most every ``every_s`` seconds and never twice for the same ``train_iter``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from ding_lite.policy.base import Policy

Weights = dict[str, np.ndarray]


def weights_of(policy: Policy) -> Weights:
    """A copy of the collect-mode model's tensors as arrays (the policy may keep training meanwhile)."""
    state = policy.collect_mode.state_dict()["model"]
    return {str(name): tensor.detach().cpu().numpy().copy() for name, tensor in state.items()}


def load_weights(policy: Policy, weights: Mapping[str, np.ndarray]) -> None:
    """Load ``weights`` into the collect-mode model, strictly (the arrays themselves are not kept)."""
    tensors = {name: torch.tensor(np.asarray(array)) for name, array in weights.items()}
    policy.collect_mode.load_state_dict({"model": tensors})


class WeightPublisher:
    """The learner's newest weights in Ray's object store (module docstring)."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = float(every_s)
        self.version = 0  # 0: nothing published yet
        self.train_iter = -1  # train_iter of the published weights
        self.push_count = 0  # pushes of this run and, after a resume, of the runs before it
        self.ref: Any = None  # ray.ObjectRef of the newest Weights
        self._clock = clock
        self._last_push = -math.inf

    def push(self, policy: Policy, train_iter: int) -> None:
        """Publish ``policy``'s weights now."""
        import ray

        self.ref = ray.put(weights_of(policy))
        self.version += 1
        self.push_count += 1
        self.train_iter = int(train_iter)
        self._last_push = self._clock()

    def maybe_push(self, policy: Policy, train_iter: int) -> bool:
        """Publish when the weights changed and ``every_s`` seconds passed since the last push."""
        if train_iter == self.train_iter or self._clock() - self._last_push < self.every_s:
            return False
        self.push(policy, train_iter)
        return True
