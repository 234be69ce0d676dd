"""``ContinuousQAC``: SAC's actor and twin critics, with DI-engine's parameter names.

- ``actor_head``: ``0`` Linear(obs -> hidden), ReLU, ``2`` a conditioned-sigma reparameterisation head;
- ``critic_head``: a ModuleList of one or two critics, each ``0`` Linear(obs + action -> hidden), ReLU,
  ``2`` a regression head giving Q(s, a);
- ``actor`` / ``critic``: DI-engine's alias ModuleLists whose entry ``1`` is the head (entry ``0`` is an
  empty encoder), so ``state_dict()`` also holds the ``actor.1.*`` and ``critic.1.*`` keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ding_lite.model.common import RegressionHead, ReparameterizationHead
from ding_lite.model.numpy_infer import LinearChain, linears


def qac_default_config() -> dict[str, Any]:
    return dict(
        obs_shape=3,
        action_shape=1,
        action_space="reparameterization",
        twin_critic=True,
        actor_head_hidden_size=256,
        actor_head_layer_num=1,
        critic_head_hidden_size=256,
        critic_head_layer_num=1,
        activation=None,
        norm_type=None,
        share_encoder=False,
        encoder_hidden_size_list=None,
    )


def _critic(in_size: int, hidden: int, layer_num: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_size, hidden), nn.ReLU(), RegressionHead(hidden, hidden, layer_num))


class ContinuousQAC(nn.Module):
    def __init__(
        self,
        obs_shape: int,
        action_shape: int,
        twin_critic: bool = True,
        actor_head_hidden_size: int = 256,
        actor_head_layer_num: int = 1,
        critic_head_hidden_size: int = 256,
        critic_head_layer_num: int = 1,
    ) -> None:
        super().__init__()
        hidden = actor_head_hidden_size
        head = ReparameterizationHead(hidden, hidden, action_shape, actor_head_layer_num, sigma_type="conditioned")
        self.actor_head = nn.Sequential(nn.Linear(obs_shape, hidden), nn.ReLU(), head)
        critics = 2 if twin_critic else 1
        self.critic_head = nn.ModuleList(
            [_critic(obs_shape + action_shape, critic_head_hidden_size, critic_head_layer_num) for _ in range(critics)]
        )
        self.actor = nn.ModuleList([nn.Identity(), self.actor_head])
        self.critic = nn.ModuleList([nn.Identity(), self.critic_head])

    def compute_actor(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, sigma)`` of the pre-tanh Gaussian."""
        result: tuple[torch.Tensor, torch.Tensor] = self.actor_head(obs)
        return result

    def compute_critic(self, obs: torch.Tensor, action: torch.Tensor) -> list[torch.Tensor]:
        """Q(s, a) from each critic, each of shape (batch,)."""
        x = torch.cat([obs, action], dim=-1)
        return [critic(x) for critic in self.critic_head]

    def numpy_actor(self) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """NumPy ``(mu, sigma)`` for acting (see :mod:`ding_lite.model.numpy_infer`)."""
        head = self.actor_head[2]
        assert isinstance(head, ReparameterizationHead)
        trunk = LinearChain(linears(self.actor_head[0]) + linears(head.main), relu_last=True)
        mu_layer, sigma_layer = LinearChain([head.mu]), LinearChain([head.log_sigma_layer])

        def actor(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            feature = trunk(obs)
            return mu_layer(feature), np.exp(np.clip(sigma_layer(feature), -20.0, 2.0))

        return actor
