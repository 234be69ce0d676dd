"""``BatchSampler``: batches of dataset indices, epoch by epoch, with a position that resumes exactly.

    sampler = BatchSampler(len(ds), batch_size=64, seed=0)
    for indices in sampler:                       # one epoch: every index once, in a seeded random order
        batch = ds.batch(indices, windows={"action": range(10)})
    state = sampler.state_dict()                  # JSON-able: epoch, position, seed
    BatchSampler(len(ds), 64, seed=0).load_state_dict(state)   # continues with the same next batch

The order of epoch ``e`` is a permutation drawn from ``numpy.random.default_rng([seed, e])``, so it
depends only on the seed and the epoch: a restored sampler continues identically without saving any
generator state. ``drop_last`` leaves out an epoch's last, incomplete batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ding_lite.datasets.format import DatasetError


class BatchSampler:
    def __init__(
        self, size: int, batch_size: int, seed: int = 0, shuffle: bool = True, drop_last: bool = False
    ) -> None:
        if size < 1 or batch_size < 1:
            raise DatasetError(f"a sampler needs at least one frame and a batch size >= 1; got {size}, {batch_size}")
        if drop_last and batch_size > size:
            raise DatasetError(f"batch_size {batch_size} with drop_last leaves no batch of a {size}-frame dataset")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.shuffle, self.drop_last = shuffle, drop_last
        self.epoch = 0
        self.position = 0  # batches of the current epoch already handed out

    def __len__(self) -> int:
        """Batches per epoch."""
        return self.size // self.batch_size if self.drop_last else -(-self.size // self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.size)
        return np.random.default_rng([self.seed, epoch]).permutation(self.size)

    def next_batch(self) -> np.ndarray:
        """The next batch, moving on to the next epoch when this one is used up."""
        if self.position >= len(self):
            self.epoch, self.position = self.epoch + 1, 0
        start = self.position * self.batch_size
        self.position += 1
        return self.order(self.epoch)[start : start + self.batch_size]

    def __iter__(self) -> Iterator[np.ndarray]:
        """The rest of the current epoch."""
        while self.position < len(self):
            yield self.next_batch()

    def state_dict(self) -> dict[str, Any]:
        return {"size": self.size, "batch_size": self.batch_size, "seed": self.seed, "shuffle": self.shuffle,
                "drop_last": self.drop_last, "epoch": self.epoch, "position": self.position}  # fmt: skip

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for key in ("size", "batch_size", "seed", "shuffle", "drop_last"):
            if state[key] != getattr(self, key):
                raise DatasetError(
                    f"the sampler state has {key}={state[key]!r} but this sampler has {getattr(self, key)!r}; "
                    "resume with the same dataset and settings"
                )
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
