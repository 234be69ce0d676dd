"""Image encoders for pixel observations, in plain torch (no torchvision).

``policy.model.obs_shape`` says what a model observes (``EnvSpec.model_obs_shape`` gives the value for an
env):

- an int ``D`` (or ``[D]``): float32 state vectors, encoded by ``common.FCEncoder``;
- ``[3, H, W]``: uint8 frames (``env.obs_type='pixels'``);
- ``{'image': [3, H, W], 'state': D}``: a dict of both (``env.obs_type='pixels_state'``).

:class:`ConvEncoder` takes the uint8 frames as they are stored and scales them to [0, 1] floats itself. It
runs three 3x3 convolutions of stride 2 (padding 1; 16, 32 and 32 channels, each followed by ReLU), so an
``S`` x ``S`` frame becomes 32 x ceil(S/8) x ceil(S/8) features; it flattens them, appends the state vector
when there is one, and ends as ``FCEncoder`` does (``init`` Linear + ReLU, then ``main``), so
``encoder_hidden_size_list`` means the same for both encoders.

Models with a ConvEncoder compute in torch: the NumPy learning backend and the NumPy acting path
(:mod:`ding_lite.model.numpy_infer`) handle FC models only, and :func:`torch_acting` gives such models the
same NumPy-in, NumPy-out acting interface.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ding_lite.model.common import FCEncoder
from ding_lite.utils.obs import map_obs

CONV_CHANNELS = (16, 32, 32)

ObsShape = int | Sequence[int] | Mapping[str, Any]
"""The forms ``policy.model.obs_shape`` takes (module docstring)."""


def parse_obs_shape(value: ObsShape) -> tuple[tuple[int, int, int] | None, int]:
    """``(image shape or None, state size)`` of a model's ``obs_shape``; the state size is 0 for frames alone."""
    if isinstance(value, Mapping):
        image = parse_obs_shape(value["image"])[0] if "image" in value else None
        state = parse_obs_shape(value["state"]) if value.get("state") else (None, 0)
        if image is None or state[0] is not None:
            raise ValueError(f"obs_shape {dict(value)} must be {{'image': [channels, height, width], 'state': D}}")
        return image, state[1]
    if isinstance(value, Sequence) and not isinstance(value, str):
        dims = [int(v) for v in value]
        if len(dims) == 1:
            return None, dims[0]
        if len(dims) == 3:
            return (dims[0], dims[1], dims[2]), 0
        raise ValueError(f"obs_shape {list(value)} is neither a state size [D] nor an image [channels, height, width]")
    return None, int(value)


def has_image(value: ObsShape) -> bool:
    """Whether a model with this ``obs_shape`` observes frames."""
    return parse_obs_shape(value)[0] is not None


def _strided(size: int) -> int:
    """Output size of a 3x3 convolution of stride 2 and padding 1."""
    return (size - 1) // 2 + 1


def conv_stack(image_shape: Sequence[int]) -> tuple[nn.Sequential, int]:
    """The convolutions of :class:`ConvEncoder` for ``(C, H, W)`` float frames, and their flattened output size."""
    channels, height, width = (int(n) for n in image_shape)
    layers: list[nn.Module] = []
    for out in CONV_CHANNELS:
        layers += [nn.Conv2d(channels, out, kernel_size=3, stride=2, padding=1), nn.ReLU()]
        channels, height, width = out, _strided(height), _strided(width)
    return nn.Sequential(*layers), channels * height * width


class ConvEncoder(nn.Module):
    """uint8 frames ``(B, C, H, W)``, or ``{'image': frames, 'state': (B, D)}``, to features of
    ``hidden_size_list[-1]`` (module docstring)."""

    def __init__(self, image_shape: tuple[int, int, int], state_size: int, hidden_size_list: Sequence[int]) -> None:
        super().__init__()
        self.conv, conv_size = conv_stack(image_shape)
        self.state_size = state_size
        sizes = list(hidden_size_list)
        self.output_size = sizes[-1]
        self.init = nn.Linear(conv_size + state_size, sizes[0])
        main: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            main += [nn.Linear(a, b), nn.ReLU()]
        self.main = nn.Sequential(*main)

    def forward(self, obs: Any) -> torch.Tensor:
        image = obs["image"] if isinstance(obs, Mapping) else obs
        x = self.conv(image.float() / 255.0).flatten(1)  # frames are 0..255: scaled here, stored as uint8
        if self.state_size:
            x = torch.cat([x, obs["state"].float()], dim=1)
        return self.main(torch.relu(self.init(x)))


def make_encoder(obs_shape: ObsShape, hidden_size_list: Sequence[int]) -> FCEncoder | ConvEncoder:
    """``FCEncoder`` for state vectors, ``ConvEncoder`` when ``obs_shape`` has an image."""
    image, state = parse_obs_shape(obs_shape)
    if image is None:
        return FCEncoder(state, hidden_size_list)
    return ConvEncoder(image, state, hidden_size_list)


def torch_acting(forward: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """NumPy observations in, NumPy outputs out (an array or a tuple of them), computed by a torch
    ``forward`` without gradients: the acting interface of models the NumPy path does not handle."""

    def act(obs: Any) -> Any:
        with torch.no_grad():
            out = forward(map_obs(torch.as_tensor, obs))
        return tuple(t.numpy() for t in out) if isinstance(out, tuple) else out.numpy()

    return act
