"""AdamW over flat buffers: each parameter group's weights and gradients live in one contiguous tensor.

Why: a transformer such as ACT has dozens of small parameters, and on a CPU the per-tensor work of
``zero_grad``, ``clip_grad_norm_`` and ``torch.optim.AdamW.step`` (even ``fused``) cost two milliseconds of a
sixteen-millisecond update. Here the module's parameters and their ``.grad`` are views into one buffer per
group, so zeroing, the gradient norm and the AdamW step are a handful of operations on one tensor. Creating
it does not import ``torch._dynamo`` as ``torch.optim`` does (close to a second of start-up).

The update is PyTorch's single-tensor AdamW (decoupled weight decay, bias corrections, ``eps`` added after
the square root), and ``state_dict()`` has ``torch.optim.AdamW``'s layout: ``state`` by parameter index with
``step``/``exp_avg``/``exp_avg_sq``, and ``param_groups`` with the parameter indices; one step count serves
every parameter. A parameter whose ``.grad`` was replaced or reset to ``None`` (``module.zero_grad()``) or whose
data was reassigned is attached to the buffer again before the next step, so no gradient is silently lost; one
whose gradient is ``None`` at a step counts as a zero gradient (``torch.optim.AdamW`` would skip it), which the
policies using this never meet: every trainable parameter gets a gradient in every update.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

ALIGN_BYTES = 64


class _FlatGroup:
    """One group's parameters as views into ``data`` and their gradients as views into ``grad``."""

    def __init__(self, params: list[Tensor]) -> None:
        first = params[0]
        if any(p.dtype != first.dtype or p.device != first.device for p in params):
            raise ValueError("FlatAdamW needs every parameter of a group on one device with one dtype")
        self.params = params
        self.slices: list[slice] = []
        offset = 0
        for p in params:  # each parameter starts on a 64-byte boundary, as a tensor of its own would
            self.slices.append(slice(offset, offset + p.numel()))
            offset += -(-p.numel() * p.element_size() // ALIGN_BYTES) * ALIGN_BYTES // p.element_size()
        self.data = torch.zeros(offset, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.data)
        self.exp_avg = torch.zeros_like(self.data)
        self.exp_avg_sq = torch.zeros_like(self.data)
        self.step = torch.zeros((), dtype=torch.float32, device=first.device)
        with torch.no_grad():
            for p, part in zip(params, self.slices):
                self.data[part].copy_(p.reshape(-1))
        self.data_views = [self.data[part].view_as(p) for p, part in zip(params, self.slices)]
        self.grad_views = [self.grad[part].view_as(p) for p, part in zip(params, self.slices)]
        for p, data, grad in zip(params, self.data_views, self.grad_views):
            p.data = data
            p.grad = grad

    @torch.no_grad()
    def reattach(self) -> None:
        """Put back any parameter whose data or gradient no longer lives in the buffers."""
        for p, data, grad in zip(self.params, self.data_views, self.grad_views):
            if p.data.data_ptr() != data.data_ptr():
                data.copy_(p.data)
                p.data = data
            if p.grad is not grad:
                if p.grad is None:
                    grad.zero_()
                else:
                    grad.copy_(p.grad)
                p.grad = grad


class FlatAdamW:
    def __init__(
        self,
        param_groups: Iterable[Mapping[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        self.param_groups: list[dict[str, Any]] = []
        self._flat: list[_FlatGroup] = []
        for given in param_groups:
            params = [p for p in given["params"] if p.requires_grad]
            if not params:
                continue
            group = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay, "amsgrad": False,
                     "maximize": False, "foreach": None, "capturable": False, "differentiable": False,
                     "fused": None, "decoupled_weight_decay": True}  # fmt: skip
            group.update({k: v for k, v in given.items() if k != "params"})
            group["params"] = params
            self.param_groups.append(group)
            self._flat.append(_FlatGroup(params))
        self.steps = 0

    def zero_grad(self) -> None:
        for flat in self._flat:
            flat.reattach()
            flat.grad.zero_()

    @torch.no_grad()
    def clip_grad_norm(self, max_norm: float) -> float:
        """``torch.nn.utils.clip_grad_norm_`` over every group: scale all gradients by
        min(1, max_norm / (norm + 1e-6)) where norm is their global L2 norm; returns that norm."""
        for flat in self._flat:
            flat.reattach()
        norms = [torch.linalg.vector_norm(flat.grad) for flat in self._flat]
        total = torch.linalg.vector_norm(torch.stack(norms)) if len(norms) > 1 else norms[0]
        scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
        for flat in self._flat:
            flat.grad.mul_(scale)
        return float(total)

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        for group, flat in zip(self.param_groups, self._flat):
            flat.reattach()
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            if hasattr(torch, "_fused_adamw_"):  # the kernel of torch.optim.AdamW(fused=True): one pass
                flat.step.fill_(self.steps)
                torch._fused_adamw_([flat.data], [flat.grad], [flat.exp_avg], [flat.exp_avg_sq], [], [flat.step],
                                    lr=lr, beta1=beta1, beta2=beta2, weight_decay=decay, eps=eps, amsgrad=False,
                                    maximize=False)  # fmt: skip
                continue
            flat.data.mul_(1 - lr * decay)
            flat.exp_avg.lerp_(flat.grad, 1 - beta1)
            flat.exp_avg_sq.mul_(beta2).addcmul_(flat.grad, flat.grad, value=1 - beta2)
            step_size = lr / (1 - beta1**self.steps)
            denom = (flat.exp_avg_sq.sqrt() / math.sqrt(1 - beta2**self.steps)).add_(eps)
            flat.data.addcdiv_(flat.exp_avg, denom, value=-step_size)

    # -- torch.optim.AdamW's state_dict layout ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[int, dict[str, Tensor]] = {}
        groups = []
        index = 0
        for group, flat in zip(self.param_groups, self._flat):
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = list(range(index, index + len(flat.params)))
            groups.append(saved)
            if self.steps:
                for p, part in zip(flat.params, flat.slices):
                    state[index] = {
                        "step": torch.tensor(float(self.steps)),
                        "exp_avg": flat.exp_avg[part].view_as(p).clone(),
                        "exp_avg_sq": flat.exp_avg_sq[part].view_as(p).clone(),
                    }
                    index += 1
            else:
                index += len(flat.params)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"the optimizer state has {len(saved_groups)} parameter groups, this one "
                             f"{len(self.param_groups)}")  # fmt: skip
        saved_state = {int(i): s for i, s in state_dict["state"].items()}
        steps = {int(float(s["step"])) for s in saved_state.values()}
        if len(steps) > 1:
            raise ValueError(f"FlatAdamW keeps one step count, the optimizer state has {sorted(steps)}")
        for group, saved in zip(self.param_groups, saved_groups):
            group.update({k: tuple(v) if k == "betas" else v for k, v in saved.items() if k != "params"})
        index = 0
        for flat in self._flat:
            for part in flat.slices:
                moments = saved_state.get(index)
                flat.exp_avg[part] = 0.0 if moments is None else moments["exp_avg"].reshape(-1)
                flat.exp_avg_sq[part] = 0.0 if moments is None else moments["exp_avg_sq"].reshape(-1)
                index += 1
        self.steps = steps.pop() if steps else 0
