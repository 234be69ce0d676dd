"""Adam without ``torch.optim``: same update and the same ``state_dict`` layout as ``torch.optim.Adam``.

Why: the first use of any ``torch.optim`` optimizer imports ``torch._dynamo``, which costs more than a
second of start-up on a small machine, longer than a whole cartpole run. The update follows PyTorch's
single-tensor Adam step for step (so results match it bit for bit), and ``state_dict()`` has PyTorch's
keys (``state`` by parameter index with ``step``/``exp_avg``/``exp_avg_sq``, and ``param_groups``), so
DI-engine's optimizer state loads into it and its state loads into ``torch.optim.Adam``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch


class Adam:
    def __init__(
        self,
        params: Iterable[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        group: dict[str, Any] = {
            "params": list(params), "lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
            "amsgrad": False, "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
            "fused": None, "decoupled_weight_decay": False,
        }  # fmt: skip
        self.param_groups: list[dict[str, Any]] = [group]
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}
        self._counts: dict[torch.Tensor, int] = {}  # mirrors state[p]["step"] without reading tensors

    def _params(self) -> list[torch.nn.Parameter]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self) -> None:
        for param in self._params():
            param.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for param in params:
                if param not in self.state:
                    self.state[param] = {
                        "step": torch.tensor(0.0),
                        "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
                        "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
                    }
                    self._counts[param] = 0
            self._update(group, params)

    def _update(self, group: dict[str, Any], params: list[torch.nn.Parameter]) -> None:
        """One Adam step for ``params``, batched with torch's multi-tensor (``_foreach``) kernels."""
        beta1, beta2 = group["betas"]
        states = [self.state[p] for p in params]
        grads: list[torch.Tensor] = [p.grad for p in params if p.grad is not None]
        if group["weight_decay"] != 0:
            grads = list(torch._foreach_add(grads, list(params), alpha=group["weight_decay"]))
        exp_avgs = [s["exp_avg"] for s in states]
        exp_avg_sqs = [s["exp_avg_sq"] for s in states]
        torch._foreach_add_([s["step"] for s in states], 1.0)
        by_count: dict[int, list[int]] = {}
        for i, param in enumerate(params):
            self._counts[param] += 1
            by_count.setdefault(self._counts[param], []).append(i)
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
        for count, index in by_count.items():
            step_size = group["lr"] / (1 - beta1**count)
            correction = (1 - beta2**count) ** 0.5
            denom = torch._foreach_sqrt([exp_avg_sqs[i] for i in index])
            torch._foreach_div_(denom, correction)
            torch._foreach_add_(denom, group["eps"])
            torch._foreach_addcdiv_([params[i] for i in index], [exp_avgs[i] for i in index], denom, value=-step_size)

    def state_dict(self) -> dict[str, Any]:
        index = {id(p): i for i, p in enumerate(self._params())}
        groups = []
        for group in self.param_groups:
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {index[id(p)]: {k: v.clone() for k, v in s.items()} for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        params = self._params()
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            for key, value in saved.items():
                if key != "params":
                    group[key] = tuple(value) if key == "betas" else value
        self.state, self._counts = {}, {}
        for i, saved_state in state_dict["state"].items():
            param = params[int(i)]
            self.state[param] = {
                "step": torch.as_tensor(saved_state["step"], dtype=torch.float32).clone(),
                "exp_avg": saved_state["exp_avg"].to(param.dtype).clone(),
                "exp_avg_sq": saved_state["exp_avg_sq"].to(param.dtype).clone(),
            }
            self._counts[param] = int(self.state[param]["step"].item())
