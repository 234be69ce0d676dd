"""``DQN`` Q-network: an encoder plus a dueling or plain discrete head (DI-engine names: ``encoder``, ``head``).

The encoder is an FC encoder for state vectors and a conv encoder for frames (:mod:`ding_lite.model.pixels`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ding_lite.model.common import DiscreteHead, DuelingHead
from ding_lite.model.numpy_infer import DuelingChain, LinearChain, linears
from ding_lite.model.pixels import ConvEncoder, ObsShape, make_encoder, torch_acting


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
        obs_shape: ObsShape,
        action_shape: int,
        encoder_hidden_size_list: list[int] | None = None,
        dueling: bool = True,
        head_hidden_size: int | None = None,
        head_layer_num: int = 1,
    ) -> None:
        super().__init__()
        self.encoder = make_encoder(obs_shape, encoder_hidden_size_list or [128, 128, 64])
        feat = self.encoder.output_size
        hidden = head_hidden_size or feat
        head_cls = DuelingHead if dueling else DiscreteHead
        self.head = head_cls(feat, hidden, action_shape, head_layer_num)
        self.dueling = dueling

    def numpy_q(self, ranking_only: bool = False) -> Callable[[np.ndarray], np.ndarray]:
        """A NumPy function computing the same Q values (see :mod:`ding_lite.model.numpy_infer`); with
        ``ranking_only`` a dueling net returns the advantages, which rank actions exactly as Q does.
        A conv encoder's model computes its Q values in torch instead (:func:`~ding_lite.model.pixels.torch_acting`)."""
        if isinstance(self.encoder, ConvEncoder):
            return torch_acting(self)
        if isinstance(self.head, DuelingHead):
            return DuelingChain(self.encoder, self.head.A, self.head.V, ranking_only)
        return LinearChain(linears(self.encoder) + linears(self.head))

    def forward(self, obs: Any) -> torch.Tensor:
        """Q values of ``obs``: a float32 state batch, uint8 frames, or a dict of both (by ``obs_shape``)."""
        return self.head(self.encoder(obs))
