"""Observations in either of their two forms: one array, or a dict of arrays (``obs_type='pixels_state'``).

An observation (of one env, or a batch with a leading dimension) is

* a numpy array: float32 for state vectors, uint8 ``(3, H, W)`` for images (``obs_type`` 'state' or 'pixels');
* a dict ``{'image': uint8 (3, H, W), 'state': float32 (D,)}`` (``obs_type='pixels_state'``), batched key
  by key.

The helpers below apply one operation to every array of an observation, so the env manager, the collector,
the n-step assembler, the replay buffer and the policies have one code path for both forms. They also work
on torch tensors wherever the operation does.

Checkpoint form (:func:`obs_to_state`): a float32 array is a nested list of python floats (as ding_lite has
always stored state observations), any other array (uint8 images) a torch tensor of the same dtype, and a
dict is stored key by key. Torch is imported only when an image is saved, so importing the envs stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

Obs = Any
"""``np.ndarray`` or ``dict[str, np.ndarray]`` (or the same with torch tensors)."""


def map_obs(fn: Callable[[Any], Any], obs: Obs) -> Obs:
    """``fn`` applied to the array, or to every array of the dict (a new dict)."""
    if isinstance(obs, Mapping):
        return {key: fn(value) for key, value in obs.items()}
    return fn(obs)


def as_obs(value: Any) -> Obs:
    """One observation in ding_lite's dtypes: uint8 arrays (images) stay uint8, anything else is float32."""
    if isinstance(value, Mapping):
        return {key: as_obs(item) for key, item in value.items()}
    array = np.asarray(value)
    return array if array.dtype == np.uint8 else array.astype(np.float32, copy=False)


def stack_obs(items: Sequence[Obs]) -> Obs:
    """A batch from a sequence of observations of the same form (``np.stack`` key by key for dicts)."""
    first = items[0]
    if isinstance(first, Mapping):
        return {key: np.stack([item[key] for item in items]) for key in first}
    return np.stack(items)


def take(obs: Obs, index: Any) -> Obs:
    """``obs[index]``, key by key for dicts."""
    if isinstance(obs, Mapping):
        return {key: value[index] for key, value in obs.items()}
    return obs[index]


def put(obs: Obs, index: Any, value: Obs) -> None:
    """``obs[index] = value`` in place, key by key for dicts."""
    if isinstance(obs, Mapping):
        for key, array in obs.items():
            array[index] = value[key]
    else:
        obs[index] = value


def batch_size(obs: Obs) -> int:
    """The leading dimension of a batch."""
    if isinstance(obs, Mapping):
        return len(next(iter(obs.values())))
    return len(obs)


def obs_to_state(obs: Obs) -> Any:
    """The checkpoint form (module docstring): loadable with ``torch.load(weights_only=True)``."""
    if isinstance(obs, Mapping):
        return {key: obs_to_state(value) for key, value in obs.items()}
    array = np.asarray(obs)
    if array.dtype == np.float32:
        return array.tolist()
    import torch

    return torch.from_numpy(array.copy())


def obs_from_state(state: Any) -> Obs:
    """Inverse of :func:`obs_to_state`: fresh arrays, float32 from lists, tensors in their own dtype."""
    if isinstance(state, Mapping):
        return {key: obs_from_state(value) for key, value in state.items()}
    if isinstance(state, (list, tuple, float, int)):
        return np.array(state, dtype=np.float32)
    return np.array(state.numpy() if hasattr(state, "numpy") else state, copy=True)
