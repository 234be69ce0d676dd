"""``DQN`` Q-network: FC encoder plus a dueling or plain discrete head (DI-engine names: ``encoder``, ``head``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ding_lite.model.common import DiscreteHead, DuelingHead, FCEncoder
from ding_lite.model.numpy_infer import DuelingChain, LinearChain, linears


def dqn_default_config() -> dict[str, Any]:
    return dict(
        obs_shape=4,
        action_shape=2,
        encoder_hidden_size_list=[128, 128, 64],
        dueling=True,
        head_hidden_size=None,
        head_layer_num=1,
        activation=None,
        norm_type=None,
        dropout=None,
        init_bias=None,
        noise=False,
    )


class DQN(nn.Module):
    """Q values of shape (batch, action_shape)."""

    def __init__(
        self,
        obs_shape: int,
        action_shape: int,
        encoder_hidden_size_list: list[int] | None = None,
        dueling: bool = True,
        head_hidden_size: int | None = None,
        head_layer_num: int = 1,
    ) -> None:
        super().__init__()
        self.encoder = FCEncoder(obs_shape, encoder_hidden_size_list or [128, 128, 64])
        feat = self.encoder.output_size
        hidden = head_hidden_size or feat
        head_cls = DuelingHead if dueling else DiscreteHead
        self.head = head_cls(feat, hidden, action_shape, head_layer_num)
        self.dueling = dueling

    def numpy_q(self, ranking_only: bool = False) -> Callable[[np.ndarray], np.ndarray]:
        """A NumPy function computing the same Q values (see :mod:`ding_lite.model.numpy_infer`); with
        ``ranking_only`` a dueling net returns the advantages, which rank actions exactly as Q does."""
        if isinstance(self.head, DuelingHead):
            return DuelingChain(self.encoder, self.head.A, self.head.V, ranking_only)
        return LinearChain(linears(self.encoder) + linears(self.head))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(obs))
