"""The offline buffer and the train batches mixed from it and the online replay buffer (RLPD, HIL-SERL).

Every update draws ``round(batch_size * ratio)`` transitions from the offline buffer and the rest from the
online one, and concatenates them online part first (LeRobot's layout; ``ratio=0.5`` is its 50/50 split).
Each buffer samples uniformly with replacement from its own generator: the online one seeded with the
experiment seed, the offline one with ``(seed, OFFLINE_STREAM)``, so the two index streams are independent
and both are reproducible. Both buffers, their generators included, are in every checkpoint.

The offline buffer starts with the demonstrations (:mod:`ding_lite.data.offline`) and grows when
transitions are added (:meth:`OfflineBuffer.add`, for interventions): it never overwrites anything. A run
with interventions but no demonstrations starts it empty; ``min_offline`` then holds the mixing back: until
the offline buffer holds that many transitions, whole batches come from the online buffer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ding_lite.data.buffer import ReplayBuffer
from ding_lite.learner.hooks import SHORTHAND_PRIORITY, LearnerHook
from ding_lite.utils.obs import map_obs

if TYPE_CHECKING:
    from ding_lite.learner.base_learner import BaseLearner

OFFLINE_STREAM = 1


class OfflineBuffer(ReplayBuffer):
    """A replay buffer that only grows: ``add`` appends, sampling is uniform over everything held.

    Invariant: ``_next == len(self)``, the row the next ``add`` writes (never wrapping around);
    ``capacity`` is only the allocated room, which is not saved (a restored buffer allocates exactly what
    it holds and grows again on the next ``add``).
    """

    def __init__(self, seed: int = 0) -> None:
        super().__init__({"replay_buffer_size": 1}, seed=seed)
        self._rng = np.random.default_rng((seed, OFFLINE_STREAM))

    def add(self, batch: Mapping[str, Any]) -> None:
        """Append B transitions (arrays, or dicts of arrays, with a leading dimension B)."""
        first = next(iter(batch.values()))
        count = len(next(iter(first.values())) if isinstance(first, Mapping) else first)
        needed = len(self) + count
        if needed > self.capacity:
            self._grow(max(needed, 2 * self.capacity))
        super().push(batch)
        self._next = len(self)  # the ring sets 0 when exactly full; the next add grows the room first

    def push(self, batch: Mapping[str, Any]) -> None:
        self.add(batch)

    def _grow(self, capacity: int) -> None:
        size = len(self)

        def grown(array: np.ndarray) -> np.ndarray:
            out = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
            out[:size] = array[:size]
            return out

        self._data = {key: map_obs(grown, store) for key, store in self._data.items()}
        self.capacity = capacity

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.capacity = max(int(state["size"]), 1)
        super().load_state_dict(state)


def split_batch(batch_size: int, ratio: float) -> tuple[int, int]:
    """``(online, offline)`` sample counts of one batch: ``offline = round(batch_size * ratio)``."""
    offline = round(batch_size * ratio)
    return batch_size - offline, offline


class MixedReplay:
    """Train batches drawn from an online :class:`ReplayBuffer` and an :class:`OfflineBuffer`."""

    def __init__(self, online: ReplayBuffer, offline: OfflineBuffer, ratio: float, min_offline: int = 1) -> None:
        self.online = online
        self.offline = offline
        self.ratio = float(ratio)
        self.min_offline = max(int(min_offline), 1)  # offline transitions needed before batches draw from it
        self.last_offline_fraction = 0.0  # of the latest batch, for the logs

    def sample(self, batch_size: int) -> dict[str, Any]:
        """``batch_size`` transitions, the online ones first; the same fields as each buffer's samples."""
        n_online, n_offline = split_batch(batch_size, self.ratio)
        if len(self.offline) < self.min_offline:
            n_online, n_offline = batch_size, 0
        parts = [buffer.sample(n) for buffer, n in ((self.online, n_online), (self.offline, n_offline)) if n > 0]
        self.last_offline_fraction = n_offline / batch_size
        if len(parts) == 1:
            return parts[0]
        online, offline = parts
        if set(online) != set(offline):
            raise RuntimeError(f"online transitions hold {sorted(online)}, offline ones {sorted(offline)}")
        return {key: _concat(online[key], offline[key]) for key in online}

    def sample_offline(self, batch_size: int) -> dict[str, Any]:
        """``batch_size`` transitions from the offline buffer alone (``offline_dataset.pretrain_updates``)."""
        self.last_offline_fraction = 1.0
        return self.offline.sample(batch_size)

    def stats(self) -> dict[str, float]:
        return {
            "offline_fraction": self.last_offline_fraction,
            "offline_size": float(len(self.offline)),
            "online_size": float(len(self.online)),
        }


def _concat(online: Any, offline: Any) -> Any:
    if isinstance(online, Mapping):
        return {name: _concat(online[name], offline[name]) for name in online}
    return torch.cat([online, offline.to(online.dtype)])


class BufferLogHook(LearnerHook):
    """Every ``freq`` train iterations (``log_show_after_iter``): ``buffer_iter/*`` over train_iter and
    ``buffer_step/*`` over env_step, the offline fraction of the latest batch and both buffer sizes."""

    def __init__(self, replay: MixedReplay, freq: int) -> None:
        super().__init__("log_buffer", "after_iter", SHORTHAND_PRIORITY, {"freq": int(freq)})
        self.replay = replay

    def __call__(self, learner: BaseLearner) -> None:
        freq = int(self.ext_args["freq"])
        if freq <= 0 or learner.train_iter % freq != 0:
            return
        for key, value in self.replay.stats().items():
            learner.logger.scalar(f"buffer_iter/{key}", value, learner.train_iter)
            if learner.logs_over_env_step:
                learner.logger.scalar(f"buffer_step/{key}", value, learner.env_step)
