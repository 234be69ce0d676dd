"""``ContinuousQAC``: SAC's actor and twin critics, with DI-engine's parameter names.

- ``actor_head``: ``0`` Linear(obs -> hidden), ReLU, ``2`` a conditioned-sigma reparameterisation head;
- ``critic_head``: a ModuleList of one or two critics, each ``0`` Linear(obs + action -> hidden), ReLU,
  ``2`` a regression head giving Q(s, a);
- ``actor`` / ``critic``: DI-engine's alias ModuleLists whose entry ``1`` is the head (entry ``0`` is an
  empty encoder), so ``state_dict()`` also holds the ``actor.1.*`` and ``critic.1.*`` keys.

For frames (``obs_shape`` ``[3, H, W]`` or ``{'image': ..., 'state': D}``) the actor and the critics each
get a conv encoder (``actor_encoder``, ``critic_encoder``, shared by the twin critics; FC widths
``encoder_hidden_size_list``, default ``[64]``), which is then entry ``0`` of ``actor`` / ``critic`` as in
DI-engine; the heads take the encoder's features instead of the observation.

With ``obs_encoder`` (state observations) one :class:`~ding_lite.model.obs_encoder.ObservationEncoder`
(``encoder``) serves actor and critics, as LeRobot's SAC shares one: it is entry ``0`` of ``critic`` and is
trained by the critic's loss; the actor takes its features detached (entry ``0`` of ``actor`` is empty).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from ding_lite.model.common import RegressionHead, ReparameterizationHead
from ding_lite.model.numpy_infer import LinearChain, linears
from ding_lite.model.obs_encoder import ObservationEncoder
from ding_lite.model.pixels import ConvEncoder, ObsShape, parse_obs_shape, torch_acting

PIXEL_ENCODER_SIZES = [64]  # FC widths after each conv encoder when encoder_hidden_size_list is None


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
        # LeRobot SAC's state encoder, shared by actor and critic (module docstring), e.g.
        # dict(features={'observation.state': [0, 10], 'observation.environment_state': [4, 6]}, latent_dim=64)
        obs_encoder=None,
    )


def _critic(in_size: int, hidden: int, layer_num: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_size, hidden), nn.ReLU(), RegressionHead(hidden, hidden, layer_num))


class ContinuousQAC(nn.Module):
    def __init__(
        self,
        obs_shape: ObsShape,
        action_shape: int,
        twin_critic: bool = True,
        actor_head_hidden_size: int = 256,
        actor_head_layer_num: int = 1,
        critic_head_hidden_size: int = 256,
        critic_head_layer_num: int = 1,
        encoder_hidden_size_list: list[int] | None = None,
        obs_encoder: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        image, state = parse_obs_shape(obs_shape)
        self.encoded = image is not None  # frames: the heads take conv features
        self.encoder: ObservationEncoder | None = None
        actor_encoder: nn.Module = nn.Identity()
        critic_encoder: nn.Module = nn.Identity()
        actor_in = critic_in = state
        if obs_encoder is not None:
            if image is not None:
                raise ValueError("model.obs_encoder encodes state observations; frames have their conv encoders")
            encoder = ObservationEncoder(obs_encoder["features"], int(obs_encoder["latent_dim"]))
            if encoder.input_size > state:
                raise ValueError(f"model.obs_encoder.features reach index {encoder.input_size}, past obs_shape {state}")
            self.encoder = critic_encoder = encoder  # trained by the critic's loss only
            actor_in = critic_in = encoder.output_size
        if image is not None:
            sizes = list(encoder_hidden_size_list or PIXEL_ENCODER_SIZES)
            self.actor_encoder = actor_encoder = ConvEncoder(image, state, sizes)
            actor_in = critic_in = sizes[-1]
        hidden = actor_head_hidden_size
        head = ReparameterizationHead(hidden, hidden, action_shape, actor_head_layer_num, sigma_type="conditioned")
        self.actor_head = nn.Sequential(nn.Linear(actor_in, hidden), nn.ReLU(), head)
        if image is not None:
            self.critic_encoder = critic_encoder = ConvEncoder(image, state, sizes)
        critics = 2 if twin_critic else 1
        self.critic_head = nn.ModuleList(
            [_critic(critic_in + action_shape, critic_head_hidden_size, critic_head_layer_num) for _ in range(critics)]
        )
        self.actor = nn.ModuleList([actor_encoder, self.actor_head])
        self.critic = nn.ModuleList([critic_encoder, self.critic_head])

    @property
    def shared_encoder(self) -> ObservationEncoder | None:
        """The ``obs_encoder`` shared by actor and critics, if the model has one."""
        return self.encoder

    def actor_features(self, obs: Any) -> Any:
        """What the actor head takes: the observation, its conv features, or the shared encoder's features
        detached (the actor's loss does not move a shared encoder, as in LeRobot)."""
        if self.shared_encoder is not None:
            return self.shared_encoder(obs).detach()
        return self.actor_encoder(obs) if self.encoded else obs

    def critic_features(self, obs: Any) -> Any:
        if self.shared_encoder is not None:
            return self.shared_encoder(obs)
        return self.critic_encoder(obs) if self.encoded else obs

    def compute_actor(self, obs: Any, features: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, sigma)`` of the pre-tanh Gaussian; ``features`` (from :meth:`actor_features`) skip the encoder."""
        result: tuple[torch.Tensor, torch.Tensor] = self.actor_head(
            self.actor_features(obs) if features is None else features
        )
        return result

    def compute_critic(self, obs: Any, action: torch.Tensor, features: Any = None) -> list[torch.Tensor]:
        """Q(s, a) from each critic, each of shape (batch,); ``features`` (from :meth:`critic_features`) skip
        the encoder."""
        x = torch.cat([self.critic_features(obs) if features is None else features, action], dim=-1)
        return [critic(x) for critic in self.critic_head]

    def numpy_actor(self) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """NumPy ``(mu, sigma)`` for acting (see :mod:`ding_lite.model.numpy_infer`; computed in torch for
        conv encoders: :func:`~ding_lite.model.pixels.torch_acting`)."""
        if self.encoded or self.shared_encoder is not None:
            return torch_acting(self.compute_actor)
        head = self.actor_head[2]
        assert isinstance(head, ReparameterizationHead)
        trunk = LinearChain(linears(self.actor_head[0]) + linears(head.main), relu_last=True)
        mu_layer, sigma_layer = LinearChain([head.mu]), LinearChain([head.log_sigma_layer])

        def actor(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            feature = trunk(obs)
            return mu_layer(feature), np.exp(np.clip(sigma_layer(feature), -20.0, 2.0))

        return actor
