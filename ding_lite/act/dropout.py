"""Dropout with cheaper random numbers, for ACT's training on a CPU.

``torch.nn.functional.dropout`` draws one 32-bit number per element (``bernoulli_``). With ACT's small
tensors that was an eighth of a training step here. This module draws 64-bit words and cuts each into four
16-bit numbers, so the generator runs a quarter as often. The drop probability is rounded to a multiple of
1/65536 (0.1 becomes 0.100006), and kept elements are scaled by 1 / (1 - that probability), so the expectation
is exact. The random numbers come from torch's generator: ``torch.manual_seed`` and the checkpointed RNG state
govern them as before.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

LEVELS = 1 << 16
INT64_MIN = -(1 << 63)


def dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """``x`` with each element zeroed with probability ``p`` (to 1/65536) and the rest scaled by 1 / (1 - p)."""
    if not training or p == 0.0:
        return x
    dropped_levels = round(p * LEVELS)
    if dropped_levels >= LEVELS:
        return torch.zeros_like(x)
    n = x.numel()
    words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_(INT64_MIN, None)  # 64 random bits
    draws = words.view(torch.int16)[:n].view(x.shape)  # four uniform 16-bit numbers per word
    keep = draws >= dropped_levels - LEVELS // 2
    return x * keep.to(x.dtype).mul_(LEVELS / (LEVELS - dropped_levels))


class Dropout(nn.Dropout):
    """``nn.Dropout`` (same name in the module tree, no parameters) drawing its mask with :func:`dropout`."""

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)
