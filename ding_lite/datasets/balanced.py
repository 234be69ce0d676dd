"""``BalancedBatchSampler``: batches holding both classes equally, with a position that resumes exactly.

    sampler = BalancedBatchSampler(indices, labels, batch_size=64, seed=0)
    batch = ds.batch(sampler.next_batch())        # 32 indices labelled True, then 32 labelled False
    state = sampler.state_dict()                  # JSON-able: sizes, seed and the batches handed out
    BalancedBatchSampler(indices, labels, 64, seed=0).load_state_dict(state)   # same next batch

For a rare class (successes in a reward classifier's data) a uniform sampler gives batches with few or
no examples of it. Here every batch takes ``batch_size // 2`` indices from the positives and the rest
from the negatives. Each class is read as an endless stream of epochs: epoch ``e`` of class ``c`` (1 for
positives, 0 for negatives) is a permutation drawn from ``numpy.random.default_rng([seed, c, e])``, so the
rare class is repeated more often than the common one, each of its examples equally often. A batch
depends only on the seed and its number: the whole state is that number, as for
:class:`~ding_lite.datasets.sampler.BatchSampler` (epoch and position).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ding_lite.datasets.format import DatasetError


class BalancedBatchSampler:
    """Batches of ``indices`` (dataset indices) half from those whose ``labels`` are True, half from the rest."""

    def __init__(self, indices: np.ndarray, labels: np.ndarray, batch_size: int, seed: int = 0) -> None:
        indices, labels = np.asarray(indices, dtype=np.int64), np.asarray(labels, dtype=bool)
        if indices.shape != labels.shape or indices.ndim != 1:
            raise ValueError(f"indices {indices.shape} and labels {labels.shape} must be two 1-D arrays of one size")
        if batch_size < 2:
            raise DatasetError(f"balanced sampling needs a batch size of at least 2 (one per class); got {batch_size}")
        self.pools = (indices[~labels], indices[labels])  # class 0 (negatives), class 1 (positives)
        for name, pool in zip(("negative", "positive"), self.pools):
            if len(pool) == 0:
                raise DatasetError(f"balanced sampling found no {name} examples among the {len(indices)} given")
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.per_class = (self.batch_size - self.batch_size // 2, self.batch_size // 2)
        self.batches = 0  # batches handed out
        self._orders: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        """Batches per epoch: those that take every example of the larger class once."""
        return max(-(-len(pool) // count) for pool, count in zip(self.pools, self.per_class))

    @property
    def epoch(self) -> int:
        return self.batches // len(self)

    @property
    def position(self) -> int:
        return self.batches % len(self)

    def order(self, label: int, epoch: int) -> np.ndarray:
        """The order of class ``label``'s examples in its ``epoch``-th pass."""
        key = (label, epoch)
        if key not in self._orders:
            if len(self._orders) > 8:
                self._orders.clear()
            self._orders[key] = np.random.default_rng([self.seed, label, epoch]).permutation(len(self.pools[label]))
        return self._orders[key]

    def _take(self, label: int, start: int, count: int) -> np.ndarray:
        """Elements ``start`` .. ``start + count - 1`` of class ``label``'s endless stream of epochs."""
        pool = self.pools[label]
        positions = np.arange(start, start + count)
        epochs, offsets = positions // len(pool), positions % len(pool)
        picked = np.empty(count, dtype=np.int64)
        for epoch in np.unique(epochs):
            chosen = epochs == epoch
            picked[chosen] = pool[self.order(label, int(epoch))[offsets[chosen]]]
        return picked

    def next_batch(self) -> np.ndarray:
        """``batch_size // 2`` positives, then the rest negatives."""
        number = self.batches
        self.batches += 1
        negatives, positives = self.per_class
        return np.concatenate(
            [self._take(1, number * positives, positives), self._take(0, number * negatives, negatives)]
        )

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "balanced", "negatives": len(self.pools[0]), "positives": len(self.pools[1]),
                "batch_size": self.batch_size, "seed": self.seed, "batches": self.batches}  # fmt: skip

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        own = self.state_dict()
        for key in ("kind", "negatives", "positives", "batch_size", "seed"):
            if state.get(key) != own[key]:
                raise DatasetError(
                    f"the sampler state has {key}={state.get(key)!r} but this sampler has {own[key]!r}; "
                    "resume with the same dataset and settings"
                )
        self.batches = int(state["batches"])
