"""Running mean and variance of a stream of values (PPO's value normalisation)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


class RunningMeanStd:
    """Mean and variance of every value seen so far, merged batch by batch (parallel Welford).

    ``count`` starts at a tiny epsilon so the first batch dominates; ``std`` is ``sqrt(var + 1e-8)``.
    """

    def __init__(self, epsilon: float = 1e-4) -> None:
        self.mean = 0.0
        self.var = 1.0
        self.count = epsilon

    def update(self, values: np.ndarray) -> None:
        batch_mean = float(values.mean())
        batch_var = float(values.var())
        batch_count = int(values.size)
        total = self.count + batch_count
        delta = batch_mean - self.mean
        self.mean += delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta * delta * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    @property
    def std(self) -> float:
        return math.sqrt(self.var + 1e-8)

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.mean, self.var, self.count = float(state["mean"]), float(state["var"]), float(state["count"])
