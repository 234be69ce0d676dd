"""Pixel observations: the env config keys ``obs_type`` and ``image_size``, applied by wrapping an env.

``obs_type='state'`` (the default) leaves an env as it is. With 'pixels' or 'pixels_state',
:func:`with_obs_type` wraps it in a :class:`PixelObservation`, which after every ``reset`` and ``step``
draws the env's current state with ``env.render_rgb(image_size)``:

- 'pixels': the observation is the uint8 frame, shape ``(3, image_size, image_size)``;
- 'pixels_state': the observation is ``{'image': that frame, 'state': the env's float32 observation}``.

A frame is a function of the env's state alone, so the wrapped env's ``state_dict`` (physics, step count,
RNG) is all a checkpoint needs: after ``load_state_dict`` the next frames are the same bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ding_lite.envs.base import BaseEnv, EnvSpec, EnvWrapper, StepResult

DEFAULT_IMAGE_SIZE = 64


def obs_settings(cfg: Mapping[str, Any]) -> tuple[str, int]:
    """``(obs_type, image_size)`` of an env config section (defaults 'state' and 64)."""
    return str(cfg.get("obs_type") or "state"), int(cfg.get("image_size") or DEFAULT_IMAGE_SIZE)


def render_problem(env_cls: type[BaseEnv], cfg: Mapping[str, Any], source: str) -> str | None:
    """Why envs of ``env_cls`` cannot give the configured observations (one sentence), or None."""
    obs_type, _ = obs_settings(cfg)
    if obs_type == "state" or env_cls.render_rgb is not BaseEnv.render_rgb:
        return None
    return (
        f"config key 'env.obs_type' is {obs_type!r} in {source}, but env type '{cfg.get('type')}' cannot render "
        "frames (its class does not implement render_rgb); use obs_type 'state'"
    )


class PixelObservation(EnvWrapper):
    """``env`` observed through its rendered frames (module docstring); everything else is delegated."""

    supports_state: ClassVar[bool] = False

    def __init__(self, env: BaseEnv, obs_type: str, image_size: int) -> None:
        if obs_type not in ("pixels", "pixels_state"):
            raise ValueError(f"obs_type must be 'pixels' or 'pixels_state', got {obs_type!r}")
        super().__init__(env)
        self.obs_type = obs_type
        self.image_size = int(image_size)
        self._spec: EnvSpec | None = None

    @property
    def spec(self) -> EnvSpec:
        if self._spec is None:
            inner = self.env.spec
            self._spec = dataclasses.replace(
                inner,
                obs_shape=(3, self.image_size, self.image_size),
                obs_type="pixels" if self.obs_type == "pixels" else "pixels_state",
                state_shape=tuple(inner.obs_shape) if self.obs_type == "pixels_state" else None,
            )
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec) -> None:
        self._spec = value

    def _observe(self, state_obs: np.ndarray) -> Any:
        frame = self.env.render_rgb(self.image_size)
        if self.obs_type == "pixels":
            return frame
        return {"image": frame, "state": np.asarray(state_obs, dtype=np.float32)}

    def seed(self, seed: int) -> None:
        self.env.seed(seed)

    def reset(self) -> Any:
        return self._observe(self.env.reset())

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated = self.env.step(action)
        return self._observe(obs), reward, terminated, truncated


class StatefulPixelObservation(PixelObservation):
    """A :class:`PixelObservation` of an env that can save its state (frames need nothing more)."""

    supports_state: ClassVar[bool] = True

    def state_dict(self) -> dict[str, Any]:
        return self.env.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.env.load_state_dict(state)


def with_obs_type(env: BaseEnv, cfg: Mapping[str, Any]) -> BaseEnv:
    """``env`` itself for ``obs_type='state'``, else ``env`` wrapped to observe frames of ``image_size``."""
    obs_type, image_size = obs_settings(cfg)
    if obs_type == "state":
        return env
    wrapper = StatefulPixelObservation if env.supports_state else PixelObservation
    return wrapper(env, obs_type, image_size)
