"""Gradient averaging for the off-policy learners (DQN, SAC) under torchrun, without DistributedDataParallel.

An off-policy update runs several backward passes and optimizer steps inside ``_forward_learn`` (SAC: the
critics, then the actor through the critics, then the temperature), which does not fit DDP's one wrapped
forward per backward. It needs what DDP does and nothing more: before an optimizer steps, every rank's
gradients of that optimizer's parameters are replaced by their mean over the ranks.
:func:`average_gradients_before_steps` does exactly that to every optimizer of a policy, by wrapping each
one's ``step``: the gradients are gathered into one flat buffer, all-reduced (summed) and divided by the
world size, then copied back. With equally large batches on every rank (each samples ``batch_size`` from its
own replay buffer) the mean gradient is the gradient of the mean loss over the union of the batches, so
one update of N ranks is one update on N * ``batch_size`` samples, and every rank takes the same step from
the same weights: the weights stay identical on every rank.

Parameters without a gradient (``grad is None``) are left out; the optimizer skips them. The same code runs
on every rank, so the set without a gradient is the same everywhere. Clipping inside ``_forward_learn``
before ``step`` would clip each rank's gradient before the average (DQN and SAC do not clip).
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.distributed as dist

from ding_lite.errors import ConfigError
from ding_lite.policy.base import Policy
from ding_lite.policy.optim import Adam


def average_gradients(params: list[torch.Tensor], world_size: int) -> None:
    """Replace the gradient of each of ``params`` that has one by its mean over the ranks (one all-reduce)."""
    grads = [param.grad for param in params if param.grad is not None]
    if not grads:
        return
    flat = torch.cat([grad.reshape(-1) for grad in grads])
    dist.all_reduce(flat)
    flat /= world_size
    offset = 0
    for grad in grads:
        grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
        offset += grad.numel()


def policy_optimizers(policy: Policy) -> list[Adam]:
    """The optimizers a policy steps in ``_forward_learn`` with the torch backend: its ``Adam`` attributes."""
    return [value for value in vars(policy).values() if isinstance(value, Adam)]


def average_gradients_before_steps(policy: Policy, world_size: int) -> list[Adam]:
    """Make every optimizer of ``policy`` average its gradients over the ranks before each ``step``; returns
    them. The policy must learn with the torch backend (its NumPy backend updates without torch gradients)."""
    optimizers = policy_optimizers(policy)
    if not optimizers:
        raise ConfigError(
            f"policy '{policy.cfg['type']}' has no torch optimizer to synchronise under torchrun; "
            "set policy.learn.backend='torch'"
        )
    for optimizer in optimizers:
        step = optimizer.step

        @functools.wraps(step)
        def averaged_step(*args: Any, _step: Any = step, _optimizer: Adam = optimizer, **kwargs: Any) -> Any:
            params = [param for group in _optimizer.param_groups for param in group["params"]]
            average_gradients(params, world_size)
            return _step(*args, **kwargs)

        optimizer.step = averaged_step  # type: ignore[method-assign]
    return optimizers
