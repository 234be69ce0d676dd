"""``VAC``: the shared-encoder actor-critic PPO uses, with DI-engine's parameter names.

Registration order (encoder, critic_head, actor_head) fixes the order of ``parameters()`` and so the
indices in the Adam state dict; it matches DI-engine's, so its optimizer state loads too. ``actor`` and
``critic`` are ModuleLists of the shared parts, so ``state_dict()`` also holds DI-engine's alias keys
``actor.0.*``, ``actor.1.*``, ``critic.0.*`` and ``critic.1.*``. The encoder is an FC encoder for state
vectors and a conv encoder for frames (:mod:`ding_lite.model.pixels`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ding_lite.model.common import DiscreteHead, RegressionHead, ReparameterizationHead
from ding_lite.model.numpy_infer import LinearChain, linears
from ding_lite.model.pixels import ConvEncoder, ObsShape, make_encoder, torch_acting


def vac_default_config() -> dict[str, Any]:
    return dict(
        obs_shape=4,
        action_shape=2,
        action_space="discrete",
        share_encoder=True,
        encoder_hidden_size_list=[128, 128, 64],
        actor_head_hidden_size=64,
        actor_head_layer_num=1,
        critic_head_hidden_size=64,
        critic_head_layer_num=1,
        activation=None,
        norm_type=None,
        sigma_type="independent",
        fixed_sigma_value=0.3,
        bound_type=None,
        encoder=None,
        impala_cnn_encoder=False,
    )


class VAC(nn.Module):
    """Value + actor on one FC encoder; discrete (logits) or continuous (Gaussian) actions."""

    def __init__(
        self,
        obs_shape: ObsShape,
        action_shape: int,
        action_space: str = "discrete",
        encoder_hidden_size_list: list[int] | None = None,
        actor_head_hidden_size: int = 64,
        actor_head_layer_num: int = 1,
        critic_head_hidden_size: int = 64,
        critic_head_layer_num: int = 1,
        sigma_type: str = "independent",
        bound_type: str | None = None,
    ) -> None:
        super().__init__()
        self.action_space = action_space
        self.encoder = make_encoder(obs_shape, encoder_hidden_size_list or [128, 128, 64])
        feat = self.encoder.output_size
        self.critic_head = RegressionHead(feat, critic_head_hidden_size, critic_head_layer_num)
        self.actor_head: nn.Module
        if action_space == "discrete":
            self.actor_head = DiscreteHead(feat, actor_head_hidden_size, action_shape, actor_head_layer_num)
        elif action_space == "continuous":
            self.actor_head = ReparameterizationHead(
                feat, actor_head_hidden_size, action_shape, actor_head_layer_num, sigma_type, bound_type
            )
        else:
            raise ValueError(f"VAC action_space must be 'discrete' or 'continuous', got '{action_space}'")
        self.actor = nn.ModuleList([self.encoder, self.actor_head])
        self.critic = nn.ModuleList([self.encoder, self.critic_head])

    def compute_actor(self, obs: Any) -> Any:
        """Logits (discrete) or ``(mu, sigma)`` (continuous)."""
        return self.actor_head(self.encoder(obs))

    def compute_critic(self, obs: Any) -> torch.Tensor:
        return self.critic_head(self.encoder(obs))

    def compute_actor_critic(self, obs: Any) -> tuple[Any, torch.Tensor]:
        feat = self.encoder(obs)
        return self.actor_head(feat), self.critic_head(feat)

    def numpy_actor(self) -> Callable[[np.ndarray], Any]:
        """A NumPy function giving the actor's output: logits, or ``(mu, sigma)`` for continuous actions
        (computed in torch for a conv encoder: :func:`~ding_lite.model.pixels.torch_acting`)."""
        if isinstance(self.encoder, ConvEncoder):
            return torch_acting(self.compute_actor)
        if self.action_space == "discrete":
            return LinearChain(linears(self.encoder) + linears(self.actor_head))
        head = self.actor_head
        assert isinstance(head, ReparameterizationHead)
        trunk = LinearChain(linears(self.encoder) + linears(head.main), relu_last=True)
        mu_layer = LinearChain([head.mu])
        sigma_layer = LinearChain([head.log_sigma_layer]) if head.sigma_type == "conditioned" else None
        tanh = head.bound_type == "tanh"

        def actor(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            feature = trunk(obs)
            mu = mu_layer(feature)
            if tanh:
                mu = np.tanh(mu)
            if sigma_layer is not None:
                log_sigma = np.clip(sigma_layer(feature), -20.0, 2.0)
            else:
                log_sigma = head.log_sigma_param.detach().numpy() + np.zeros_like(mu)
            return mu, np.exp(log_sigma)

        return actor
