"""Adam over a :class:`ParamSet`, with ``torch.optim.Adam``'s update and ``state_dict`` layout.

The moments live in two flat arrays, so one update is a handful of vectorised NumPy operations whatever
the number of parameters. ``state_dict()`` presents them per parameter as torch's Adam does (``state`` by
parameter index with ``step``, ``exp_avg``, ``exp_avg_sq``; ``param_groups``), so checkpoints are the
same whichever backend trained them, and DI-engine's optimizer state loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ding_lite.errors import CheckpointError
from ding_lite.numpy_learn.params import ParamSet


class NumpyAdam:
    def __init__(
        self, params: ParamSet, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        self.params = params
        group: dict[str, Any] = {
            "params": params.params, "lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": 0.0,
            "amsgrad": False, "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
            "fused": None, "decoupled_weight_decay": False,
        }  # fmt: skip
        self.param_groups: list[dict[str, Any]] = [group]
        self.count = 0
        self.exp_avg = np.zeros(params.size, dtype=np.float32)
        self.exp_avg_sq = np.zeros(params.size, dtype=np.float32)
        self._work = np.empty(params.size, dtype=np.float32)

    def step(self) -> None:
        """One update from the gradients in ``params.grad`` (in place, into preallocated buffers)."""
        group = self.param_groups[0]
        beta1, beta2 = group["betas"]
        grad, avg, avg_sq, work = self.params.grad, self.exp_avg, self.exp_avg_sq, self._work
        self.count += 1
        np.subtract(grad, avg, out=work)  # exp_avg.lerp_(grad, 1 - beta1)
        work *= np.float32(1 - beta1)
        avg += work
        avg_sq *= np.float32(beta2)  # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
        np.multiply(grad, grad, out=work)
        work *= np.float32(1 - beta2)
        avg_sq += work
        step_size = group["lr"] / (1 - beta1**self.count)
        correction = (1 - beta2**self.count) ** 0.5
        np.sqrt(avg_sq, out=work)  # denom = sqrt(exp_avg_sq) / sqrt(bias_correction2) + eps
        work /= np.float32(correction)
        work += np.float32(group["eps"])
        np.divide(avg, work, out=work)
        work *= np.float32(step_size)
        for value, part in zip(self.params.values, self.params.slices):
            value -= work[part].reshape(value.shape)

    def state_dict(self) -> dict[str, Any]:
        group = {k: v for k, v in self.param_groups[0].items() if k != "params"}
        group["params"] = list(range(len(self.params)))
        state: dict[int, dict[str, torch.Tensor]] = {}
        if self.count:
            for i, (value, part) in enumerate(zip(self.params.values, self.params.slices)):
                state[i] = {
                    "step": torch.tensor(float(self.count)),
                    "exp_avg": torch.from_numpy(self.exp_avg[part].reshape(value.shape).copy()),
                    "exp_avg_sq": torch.from_numpy(self.exp_avg_sq[part].reshape(value.shape).copy()),
                }
        return {"state": state, "param_groups": [group]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        saved_group = state_dict["param_groups"][0]
        for key, value in saved_group.items():
            if key != "params":
                self.param_groups[0][key] = tuple(value) if key == "betas" else value
        saved = state_dict["state"]
        counts = {int(torch.as_tensor(s["step"]).item()) for s in saved.values()}
        if len(counts) > 1 or (saved and len(saved) != len(self.params)):
            raise CheckpointError(
                "optimizer state has different step counts per parameter, which NumPy learning cannot resume; "
                "set policy.learn.backend='torch'"
            )
        self.count = counts.pop() if counts else 0
        self.exp_avg[:] = 0.0
        self.exp_avg_sq[:] = 0.0
        for i, s in saved.items():
            part = self.params.slices[int(i)]
            self.exp_avg[part] = torch.as_tensor(s["exp_avg"]).reshape(-1).float().numpy()
            self.exp_avg_sq[part] = torch.as_tensor(s["exp_avg_sq"]).reshape(-1).float().numpy()
