"""``ShardedSampler``: one process's share of the global batches of a dataset sampler.

Every rank holds an identical sampler (same dataset, seed and settings) whose batch size is the global one,
``world_size * policy.learn.batch_size``, so every rank draws the same global batch; rank ``r`` keeps the
samples at positions ``r, r + world_size, r + 2 * world_size, ...`` of it. Together the ranks thus see
exactly the samples one process at the global batch size sees, batch by batch, and the sampler state (epoch
and position, or batch count) is global: the same on every rank, saved once by rank 0.

Strided rather than contiguous shares keep a balanced batch (its positives first, then its negatives)
balanced on every rank. The last batch of an epoch may be short: shares then differ by one sample, and a rank
whose share is empty gets the batch's first sample as ``padding`` (its loss then counts for nothing, see
:mod:`ding_lite.ddp.loss`): DDP needs every rank to run the forward and backward.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np


class GlobalSampler(Protocol):
    """What a dataset sampler offers (``BatchSampler``, ``BalancedBatchSampler``)."""

    def next_batch(self) -> np.ndarray: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


class ShardedSampler:
    def __init__(self, sampler: GlobalSampler, rank: int, world_size: int) -> None:
        self.sampler, self.rank, self.world_size = sampler, rank, world_size
        self.padding = False  # whether the last share handed out is a placeholder for an empty one

    def next_batch(self) -> np.ndarray:
        """This rank's share of the next global batch."""
        whole = self.sampler.next_batch()
        share = whole[self.rank :: self.world_size]
        self.padding = len(share) == 0
        return whole[:1] if self.padding else share

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.sampler.load_state_dict(state)
