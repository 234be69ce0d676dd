"""Uniform replay buffer: a fixed-size ring of transitions in preallocated numpy arrays.

DI-engine's buffer types ``naive``, ``deque`` and ``advanced`` all map onto it (sampling is uniform with
replacement; prioritised replay is not implemented, and ``policy.priority=True`` is refused). The buffer
owns its own random generator, seeded from the experiment seed, so sampling is reproducible.

A transition field is an array or, for dict observations (``obs_type='pixels_state'``), a dict of arrays;
each array is stored in its own dtype (uint8 frames stay uint8 in memory, in samples until the model
scales them, and in checkpoints), and ``sample`` returns the same nesting as torch tensors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ding_lite.utils.obs import map_obs
from ding_lite.utils.registry import Registry

BUFFER_REGISTRY: Registry[type[ReplayBuffer]] = Registry("replay buffer")


@BUFFER_REGISTRY.register("naive", "deque", "advanced")
class ReplayBuffer:
    """Holds the newest ``replay_buffer_size`` transitions; older ones are overwritten first."""

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        return dict(
            type="naive",
            import_names=[],
            replay_buffer_size=10000,  # capacity in transitions
            deepcopy=False,
            enable_track_used_data=False,
            periodic_thruput_seconds=60,
            max_use=float("inf"),
            max_staleness=float("inf"),
            alpha=0.6,
            beta=0.4,
            anneal_step=int(1e5),
            monitor=dict(sampled_data_attr=dict(), periodic_thruput=dict()),
            thruput_controller=dict(),
        )

    def __init__(self, cfg: Mapping[str, Any], seed: int = 0) -> None:
        self.capacity = int(cfg["replay_buffer_size"])
        self._data: dict[str, Any] = {}  # field -> (capacity, ...) array, or a dict of them
        self._next = 0
        self._size = 0
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self._size

    def push(self, batch: Mapping[str, Any]) -> None:
        """Append B transitions given as arrays (or dicts of arrays) with a leading dimension B."""
        first = next(iter(batch.values()))
        count = len(next(iter(first.values())) if isinstance(first, Mapping) else first)
        if not self._data:
            self._data = {key: map_obs(self._allocate, values) for key, values in batch.items()}
        index = (self._next + np.arange(count)) % self.capacity
        for key, values in batch.items():
            store = self._data[key]
            if isinstance(store, dict):
                for name, array in store.items():
                    array[index] = values[name]
            else:
                store[index] = values
        self._next = int((self._next + count) % self.capacity)
        self._size = min(self.capacity, self._size + count)

    def _allocate(self, values: Any) -> np.ndarray:
        return np.zeros((self.capacity, *np.shape(values)[1:]), dtype=np.asarray(values).dtype)

    def sample(self, batch_size: int) -> dict[str, Any]:
        """``batch_size`` transitions drawn uniformly with replacement, as torch tensors."""
        if self._size == 0:
            raise RuntimeError("cannot sample from an empty replay buffer")
        index = self._rng.integers(0, self._size, size=batch_size)
        return {
            key: torch.from_numpy(store[index])
            if isinstance(store, np.ndarray)
            else {name: torch.from_numpy(array[index]) for name, array in store.items()}
            for key, store in self._data.items()
        }

    def state_dict(self) -> dict[str, Any]:
        """Contents (oldest first is not needed: the ring layout is kept), cursor and sampler state."""
        size = self._size
        return {
            "data": {
                key: map_obs(lambda a: torch.from_numpy(a[:size].copy()), store) for key, store in self._data.items()
            },
            "next": self._next,
            "size": size,
            "rng": self._rng.bit_generator.state,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        size = int(state["size"])

        def restore(tensor: torch.Tensor) -> np.ndarray:
            array = tensor.numpy()
            store = np.zeros((self.capacity, *array.shape[1:]), dtype=array.dtype)
            store[:size] = array
            return store

        self._data = {key: map_obs(restore, values) for key, values in state["data"].items()}
        self._next, self._size = int(state["next"]), size
        self._rng.bit_generator.state = state["rng"]
