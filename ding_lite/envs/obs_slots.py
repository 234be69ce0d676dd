"""Observation slots in shared memory: where env worker processes put observations for the manager.

One ``multiprocessing.shared_memory`` segment per manager holds two banks, ``step`` (the observation a step
produced) and ``reset`` (the first observation of a new episode), so a terminal observation and the reset
observation that follows it never overwrite each other. Each bank holds, for every part of an observation
(the array itself, or ``image`` and ``state`` for ``obs_type='pixels_state'``), one C-contiguous
``(env_num, *shape)`` array; env ``i``'s slot is row ``i``. Arrays start at 64-byte boundaries, in the order
bank, then part.

The manager creates the segment and is the only one that unlinks it; a worker attaches to it by name and
writes only its own envs' rows, and only while the manager waits for its answer, so no locks are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from ding_lite.envs.base import EnvSpec
from ding_lite.utils.obs import Obs

BANKS = ("step", "reset")
ALIGN = 64

Layout = tuple[tuple[str, tuple[int, ...], str], ...]
"""The parts of one observation: ``(key, shape, dtype name)``; key ``''`` is an observation that is one array."""


def obs_layout(spec: EnvSpec) -> Layout:
    """The parts of the observations of an env with this spec (float32 states, uint8 frames)."""
    if spec.obs_type == "pixels_state":
        assert spec.state_shape is not None
        return (("image", tuple(spec.obs_shape), "uint8"), ("state", tuple(spec.state_shape), "float32"))
    return (("", tuple(spec.obs_shape), "uint8" if spec.obs_type == "pixels" else "float32"),)


class ObsSlots:
    """Numpy views of the banks of one segment (module docstring). Build with :meth:`create` (the owner)
    or :meth:`attach` (a worker)."""

    def __init__(self, shm: shared_memory.SharedMemory, layout: Layout, env_num: int, owner: bool) -> None:
        self.shm = shm
        self.layout = layout
        self.env_num = env_num
        self.owner = owner
        self._views: dict[str, dict[str, np.ndarray]] = {}
        offset = 0
        for bank in BANKS:
            self._views[bank] = {}
            for key, shape, dtype in layout:
                array = np.ndarray((env_num, *shape), dtype=np.dtype(dtype), buffer=shm.buf, offset=offset)
                self._views[bank][key] = array
                offset += _aligned(array.nbytes)

    @classmethod
    def create(cls, layout: Layout, env_num: int) -> ObsSlots:
        size = sum(_aligned(env_num * int(np.prod(shape)) * np.dtype(dtype).itemsize) for _, shape, dtype in layout)
        return cls(shared_memory.SharedMemory(create=True, size=max(1, len(BANKS) * size)), layout, env_num, True)

    @classmethod
    def attach(cls, name: str, layout: Layout, env_num: int) -> ObsSlots:
        return cls(shared_memory.SharedMemory(name=name), layout, env_num, False)

    @property
    def name(self) -> str:
        return self.shm.name

    def write(self, bank: str, index: int, obs: Any) -> None:
        """Env ``index``'s observation into its slot; its shape must be the spec's."""
        for key, shape, _ in self.layout:
            value = np.asarray(obs[key] if key else obs)
            if value.shape != shape:
                raise ValueError(f"an observation{f' {key!r}' if key else ''} has shape {value.shape}, the env's "
                                 f"spec says {shape}")  # fmt: skip
            self._views[bank][key][index] = value

    def read(self, bank: str) -> Obs:
        """A fresh copy of every slot of a bank: an ``(env_num, ...)`` batch, or a dict of them."""
        parts = {key: view.copy() for key, view in self._views[bank].items()}
        return parts.get("", parts)

    def read_into(self, bank: str, out: Obs, rows: Sequence[int]) -> None:
        """Copy the slots ``rows`` of a bank into the same rows of the batch ``out``."""
        for key, view in self._views[bank].items():
            target = out if key == "" else out[key]
            target[list(rows)] = view[list(rows)]

    def close(self) -> None:
        """Detach (and, for the owner, remove the segment); idempotent."""
        if self._views:
            self._views.clear()  # the views must go before the mapping can be closed
            self.shm.close()
            if self.owner:
                self.shm.unlink()


def _aligned(nbytes: int) -> int:
    return -(-nbytes // ALIGN) * ALIGN
