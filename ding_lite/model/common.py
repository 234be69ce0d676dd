"""Building blocks whose module trees and parameter names match DI-engine's (REFERENCE.md section 2).

Every activation is ReLU. A DI-engine ``MLP`` block is a ``Sequential`` of ``[Linear, ReLU]`` pairs, so its
Linears are named ``0``, ``2``, ...; a head's last layer is wrapped in its own ``Sequential`` where
DI-engine does so (hence ``Q.1.0``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def mlp(in_size: int, hidden_size: int, layer_num: int, *, last_activation: bool = True) -> nn.Sequential:
    """``layer_num`` Linear layers of width ``hidden_size``, each followed by ReLU (the last one optional)."""
    layers: list[nn.Module] = []
    size = in_size
    for i in range(layer_num):
        layers.append(nn.Linear(size, hidden_size))
        if last_activation or i < layer_num - 1:
            layers.append(nn.ReLU())
        size = hidden_size
    return nn.Sequential(*layers)


def _width(in_size: int, hidden_size: int, layer_num: int) -> int:
    """Output width of ``mlp(in_size, hidden_size, layer_num)`` (an empty MLP passes its input through)."""
    return hidden_size if layer_num > 0 else in_size


class FCEncoder(nn.Module):
    """``init`` Linear(obs -> h0) + ReLU, then ``main``: [Linear(h_i -> h_i+1), ReLU] for the rest."""

    def __init__(self, obs_shape: int, hidden_size_list: Sequence[int]) -> None:
        super().__init__()
        sizes = list(hidden_size_list)
        self.output_size = sizes[-1]
        self.init = nn.Linear(obs_shape, sizes[0])
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(torch.relu(self.init(x)))


class DiscreteHead(nn.Module):
    """Logits: ``Q.0`` an MLP of ``layer_num`` layers, ``Q.1.0`` Linear(hidden -> action_shape)."""

    def __init__(self, in_size: int, hidden_size: int, action_shape: int, layer_num: int = 1) -> None:
        super().__init__()
        self.Q = nn.Sequential(
            mlp(in_size, hidden_size, layer_num),
            nn.Sequential(nn.Linear(_width(in_size, hidden_size, layer_num), action_shape)),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.Q(x)


class DuelingHead(nn.Module):
    """Q = A - mean(A) + V with ``A.0``/``V.0`` MLPs and ``A.1.0``/``V.1.0`` output Linears."""

    def __init__(self, in_size: int, hidden_size: int, action_shape: int, layer_num: int = 1) -> None:
        super().__init__()
        self.A = nn.Sequential(
            mlp(in_size, hidden_size, layer_num),
            nn.Sequential(nn.Linear(_width(in_size, hidden_size, layer_num), action_shape)),
        )
        self.V = nn.Sequential(
            mlp(in_size, hidden_size, layer_num), nn.Sequential(nn.Linear(_width(in_size, hidden_size, layer_num), 1))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.A(x)
        return a - a.mean(dim=-1, keepdim=True) + self.V(x)


class RegressionHead(nn.Module):
    """A scalar per sample: ``main`` MLP then ``last`` Linear(hidden -> 1), squeezed to shape (batch,)."""

    def __init__(self, in_size: int, hidden_size: int, layer_num: int = 1) -> None:
        super().__init__()
        self.main = mlp(in_size, hidden_size, layer_num)
        self.last = nn.Linear(_width(in_size, hidden_size, layer_num), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(self.main(x)).squeeze(-1)


class ReparameterizationHead(nn.Module):
    """A Gaussian: ``main`` MLP, ``mu`` Linear, and a log sigma.

    ``sigma_type='conditioned'`` (SAC): ``log_sigma_layer`` Linear, clamped to [-20, 2].
    ``sigma_type='independent'`` (continuous PPO): a learned ``log_sigma_param`` of shape (1, action_shape).
    ``bound_type='tanh'`` squashes ``mu`` into [-1, 1].
    """

    def __init__(
        self,
        in_size: int,
        hidden_size: int,
        action_shape: int,
        layer_num: int = 1,
        sigma_type: str = "conditioned",
        bound_type: str | None = None,
    ) -> None:
        super().__init__()
        self.sigma_type = sigma_type
        self.bound_type = bound_type
        self.main = mlp(in_size, hidden_size, layer_num)
        width = _width(in_size, hidden_size, layer_num)
        self.mu = nn.Linear(width, action_shape)
        if sigma_type == "conditioned":
            self.log_sigma_layer = nn.Linear(width, action_shape)
        elif sigma_type == "independent":
            self.log_sigma_param = nn.Parameter(torch.zeros(1, action_shape))
        else:
            raise ValueError(f"sigma_type must be 'conditioned' or 'independent', got '{sigma_type}'")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(mu, sigma)``."""
        h = self.main(x)
        mu = self.mu(h)
        if self.bound_type == "tanh":
            mu = torch.tanh(mu)
        if self.sigma_type == "conditioned":
            log_sigma = torch.clamp(self.log_sigma_layer(h), -20.0, 2.0)
        else:
            log_sigma = self.log_sigma_param + torch.zeros_like(mu)
        return mu, log_sigma.exp()
