"""NumPy views of torch parameters and one flat gradient buffer for them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


class ParamSet:
    """The parameters one optimizer owns.

    ``values[i]`` is a NumPy view of parameter ``i`` (writing it writes the torch parameter); ``grads[i]``
    is a view into the flat ``grad`` array with the same shape. Every update writes all gradients, so the
    buffer is never cleared between updates.
    """

    def __init__(self, params: Sequence[torch.Tensor]) -> None:
        self.params = list(params)
        for param in self.params:
            if param.dtype != torch.float32 or not param.is_contiguous() or param.device.type != "cpu":
                raise ValueError(f"NumPy learning needs contiguous float32 CPU parameters, got {param.dtype}")
        self.values = [param.detach().numpy() for param in self.params]
        self.size = sum(v.size for v in self.values)
        self.grad = np.zeros(self.size, dtype=np.float32)
        self.slices: list[slice] = []
        self.grads: list[np.ndarray] = []
        start = 0
        for value in self.values:
            self.slices.append(slice(start, start + value.size))
            self.grads.append(self.grad[start : start + value.size].reshape(value.shape))
            start += value.size
        self._index = {id(p): i for i, p in enumerate(self.params)}

    def __len__(self) -> int:
        return len(self.params)

    def grad_of(self, param: torch.Tensor) -> np.ndarray:
        """The gradient view of one parameter (which must belong to this set)."""
        return self.grads[self._index[id(param)]]

    def value_of(self, param: torch.Tensor) -> np.ndarray:
        """The NumPy view of one parameter (which must belong to this set)."""
        return self.values[self._index[id(param)]]

    def owns(self, param: torch.Tensor) -> bool:
        return id(param) in self._index

    def clip_grad_norm(self, max_norm: float) -> float:
        """Scale the gradients so their global L2 norm is at most ``max_norm``; returns the norm before."""
        norm = float(np.sqrt(np.dot(self.grad, self.grad)))
        coef = max_norm / (norm + 1e-6)
        if coef < 1.0:
            self.grad *= np.float32(coef)
        return norm

    def clip_grad_value(self, limit: float) -> None:
        np.clip(self.grad, -limit, limit, out=self.grad)

    def clip(self, clip_type: str | None, clip_value: float) -> None:
        """DI-engine's ``grad_clip_type``: 'clip_norm', 'clip_value' or None/'none'."""
        if clip_type in (None, "none", ""):
            return
        if clip_type == "clip_norm":
            self.clip_grad_norm(clip_value)
        elif clip_type == "clip_value":
            self.clip_grad_value(clip_value)
        else:
            raise ValueError(f"unknown grad_clip_type '{clip_type}'; use 'clip_norm', 'clip_value' or None")
