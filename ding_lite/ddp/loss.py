"""The training loss of a policy as a module that ``DistributedDataParallel`` wraps.

DDP averages gradients only for the backward of a forward that went through its wrapper. A policy trained on
a dataset computes its loss in ``learn_loss(batch)`` and backpropagates it in ``_forward_learn``;
:func:`distribute_policy` sets the policy's ``loss_forward`` to ``DDP(DistributedLoss(policy))``, so
``_forward_learn`` (optimizer, clipping and all) stays as it is and its ``loss.backward()`` leaves every
rank's gradients (``.grad``, which FlatAdamW keeps as views of its flat buffer: DDP copies the average into
them) equal to the average over the ranks.

The average of per-rank means is the mean over the global batch only when the shares are equally large. The
shares may differ (the short last batch of an epoch; the reward classifier's samples without a next frame),
so each rank scales its loss by ``world_size * n_r / N`` (``n_r`` its samples, ``N`` all ranks' together):
the averaged gradient is then exactly the gradient of the global batch's mean loss, and the logged values
(``total_loss`` and the policy's others) are the same weighted means, equal on every rank. That costs one
all-reduce of a few numbers per update, besides DDP's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ding_lite.ddp.collectives import all_reduce_sum
from ding_lite.policy.base import LearnLoss, Policy


class DistributedLoss(nn.Module):
    """``forward(batch)``: the policy's :class:`LearnLoss` on this rank's share, weighted as the module
    docstring says; ``samples`` is the global count. ``padding()`` says the share is a placeholder."""

    def __init__(self, policy: Policy, world_size: int, padding: Callable[[], bool]) -> None:
        super().__init__()
        self.model = policy.model  # its parameters are the ones DDP averages
        self.policy = policy
        self.world_size = world_size
        self.padding = padding

    def forward(self, batch: Mapping[str, torch.Tensor]) -> LearnLoss:
        loss, info, samples = self.policy.learn_loss(batch)
        samples = 0 if self.padding() else samples
        sums = all_reduce_sum([samples, *(samples * value for value in info.values())])
        total = sums[0]
        if total == 0:  # no rank has a sample that counts: nothing to learn, and nothing to average
            return LearnLoss(loss * 0.0, info, 0)
        weight = samples * self.world_size / total
        global_info = {name: value / total for name, value in zip(info, sums[1:])}
        return LearnLoss(loss if weight == 1.0 else loss * weight, global_info, int(total))


def distribute_policy(policy: Policy, world_size: int, padding: Callable[[], bool]) -> DistributedDataParallel:
    """Route ``policy``'s training loss through DDP (see the module docstring); returns the DDP module.

    DDP broadcasts rank 0's parameters and buffers here, so every rank starts from rank 0's weights. Buffers
    (normalisation statistics, frozen batch norm) are constant in training and are not synchronised again
    before each forward.
    """
    ddp = DistributedDataParallel(DistributedLoss(policy, world_size, padding), forward_sync_buffers=False)
    policy.loss_forward = ddp
    return ddp
