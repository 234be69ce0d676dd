"""``ObservationEncoder``: LeRobot SAC's encoder of state observations, for SAC started from a BC model.

The env's observation vector is cut into LeRobot features, each a slice ``[start, stop)``:
``observation.state`` and ``observation.environment_state`` (Reacher: the whole 10-D observation, and the
target's x, y at [4, 6)). Each feature is normalised with its own ``shift`` and ``scale`` buffers
(``(x - shift) / scale``, which expresses both mean/std and LeRobot's min/max mapping to [-1, 1]), then
encoded by Linear -> LayerNorm -> Tanh to ``latent_dim``, under LeRobot's names ``state_encoder`` and
``env_encoder``. The encodings are concatenated, state first.

Its first Linear of each feature has the shape of ACT's ``encoder_robot_state_input_proj`` /
``encoder_env_state_input_proj`` (features -> dim_model), and its normalisation is the one ACT's
preprocessor applies, so :mod:`ding_lite.priors.bc_pretrain` can start it from an ACT.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

MODULE_NAMES = {"observation.state": "state_encoder", "observation.environment_state": "env_encoder"}


class ObservationEncoder(nn.Module):
    def __init__(self, features: Mapping[str, Sequence[int]], latent_dim: int) -> None:
        super().__init__()
        unknown = sorted(set(features) - set(MODULE_NAMES))
        if unknown or not features:
            raise ValueError(f"obs_encoder.features must name {' and/or '.join(MODULE_NAMES)}, got {sorted(features)}")
        self.slices: dict[str, tuple[int, int]] = {}
        for name in MODULE_NAMES:  # state first, as LeRobot concatenates them
            if name not in features:
                continue
            start, stop = (int(n) for n in features[name])
            if not 0 <= start < stop:
                raise ValueError(f"obs_encoder.features['{name}'] is [{start}, {stop}]; give [start, stop)")
            module = MODULE_NAMES[name]
            self.slices[module] = (start, stop)
            size = stop - start
            self.add_module(module, nn.Sequential(nn.Linear(size, latent_dim), nn.LayerNorm(latent_dim), nn.Tanh()))
            self.register_buffer(f"{module}_shift", torch.zeros(size))
            self.register_buffer(f"{module}_scale", torch.ones(size))
        self.latent_dim = latent_dim
        self.output_size = latent_dim * len(self.slices)

    @property
    def input_size(self) -> int:
        """The smallest observation size the slices fit in."""
        return max(stop for _, stop in self.slices.values())

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        parts = []
        for module, (start, stop) in self.slices.items():
            x = (obs[:, start:stop] - getattr(self, f"{module}_shift")) / getattr(self, f"{module}_scale")
            parts.append(getattr(self, module)(x))
        return torch.cat(parts, dim=1)
