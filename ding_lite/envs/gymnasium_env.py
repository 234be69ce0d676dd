"""Any registered Gymnasium environment as a :class:`~ding_lite.envs.base.BaseEnv`.

Gymnasium is imported only when such an env is constructed, so importing :mod:`ding_lite.envs` stays
cheap. Config keys: ``env_id`` (the Gymnasium id, e.g. ``'CartPole-v1'``) and ``max_episode_steps``
(``None`` keeps the id's registered limit). Observations are converted to float32; the spec is built from
the Gymnasium spaces. These envs cannot snapshot their state (``supports_state`` is False).

With the env config's ``obs_type`` 'pixels' or 'pixels_state' the env is made with
``render_mode='rgb_array'`` and ``render_rgb(size)`` area-resizes Gymnasium's frame to ``size`` x ``size``
in NumPy (:func:`~ding_lite.envs.render.resize_rgb`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ding_lite.envs.adapter import spec_from_spaces
from ding_lite.envs.base import BaseEnv, StepResult, register_env
from ding_lite.envs.pixels import obs_settings
from ding_lite.envs.render import resize_rgb
from ding_lite.errors import ConfigError

if TYPE_CHECKING:
    import gymnasium


def _make(env_id: str, max_episode_steps: int | None, render_mode: str | None = None) -> gymnasium.Env[Any, Any]:
    """``gymnasium.make`` that reports an unknown/malformed id as a one-sentence ValueError."""
    import gymnasium
    from gymnasium import error

    kwargs: dict[str, Any] = {}
    if max_episode_steps is not None:
        kwargs["max_episode_steps"] = int(max_episode_steps)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        return gymnasium.make(env_id, **kwargs)
    except (error.UnregisteredEnv, error.DeprecatedEnv, ModuleNotFoundError, error.Error) as exc:
        unknown = isinstance(exc, (error.UnregisteredEnv, error.DeprecatedEnv)) or type(exc) is error.Error
        if isinstance(exc, ModuleNotFoundError):
            unknown = ":" in env_id
        if not unknown:
            raise
        raise ValueError(f"unknown Gymnasium env id {env_id!r} ({exc})") from exc


@register_env("gymnasium", "gym")
class GymnasiumEnv(BaseEnv):
    """Wraps ``gymnasium.make(cfg['env_id'])``; ``seed(s)`` makes the next reset ``reset(seed=s)``.

    Discrete actions are passed on as python ints; continuous ones as arrays of the action space's dtype
    and shape. ``truncated`` includes Gymnasium's TimeLimit truncation.
    """

    supports_state: ClassVar[bool] = False

    def __init__(self, cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__(cfg)
        env_id = str(self.cfg.get("env_id", "") or "")
        if not env_id:
            raise ValueError("the gymnasium env type needs a non-empty 'env_id' config key")
        self.env_id = env_id
        pixels = obs_settings(self.cfg)[0] != "state"
        self.env = _make(env_id, self.cfg.get("max_episode_steps"), "rgb_array" if pixels else None)
        inner = self.env.spec
        limit = inner.max_episode_steps if inner is not None else None
        self.spec = spec_from_spaces(self.env.observation_space, self.env.action_space, limit)
        self._discrete = self.spec.action_kind == "discrete"
        self._act_dtype = getattr(self.env.action_space, "dtype", None) or np.float32
        self._act_shape = tuple(getattr(self.env.action_space, "shape", None) or ())
        self._pending_seed: int | None = None
        step_seconds = getattr(self.env.unwrapped, "dt", None)  # MuJoCo envs; else the render rate
        self.fps = 1.0 / float(step_seconds) if step_seconds else self.env.metadata.get("render_fps")

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        return {"env_id": "", "max_episode_steps": None}

    @classmethod
    def config_problem(cls, cfg: Mapping[str, Any], source: str) -> str | None:
        import gymnasium
        from gymnasium import error

        env_id = str(cfg.get("env_id", "") or "")
        if not env_id:
            return f"config key 'env.env_id' is empty in {source}; set it to a Gymnasium id such as 'CartPole-v1'"
        try:
            gymnasium.spec(env_id)
        except (error.Error, ModuleNotFoundError) as exc:
            return f"config key 'env.env_id' is {env_id!r} in {source}, an id Gymnasium does not know ({exc})"
        return None

    def seed(self, seed: int) -> None:
        self._pending_seed = int(seed)

    def reset(self) -> np.ndarray:
        seed, self._pending_seed = self._pending_seed, None
        obs, _ = self.env.reset(seed=seed)
        return np.asarray(obs, dtype=np.float32)

    def step(self, action: Any) -> StepResult:
        if self._discrete:
            act: Any = int(np.asarray(action).item())
        else:
            act = np.asarray(action, dtype=self._act_dtype).reshape(self._act_shape)
        obs, reward, terminated, truncated, _ = self.env.step(act)
        return np.asarray(obs, dtype=np.float32), float(reward), bool(terminated), bool(truncated)

    def render_rgb(self, size: int) -> np.ndarray:
        if self.env.render_mode != "rgb_array":
            raise RuntimeError(f"{self.env_id} was made without render_mode='rgb_array' (env.obs_type is 'state')")
        from gymnasium import error

        try:
            frame = self.env.render()
        except error.DependencyNotInstalled as exc:  # e.g. pygame for the classic-control ids
            raise ConfigError(
                f"config key 'env.obs_type' is '{obs_settings(self.cfg)[0]}' but Gymnasium env '{self.env_id}' "
                f"cannot render frames here: {exc}"
            ) from None
        if not isinstance(frame, np.ndarray):
            raise ValueError(f"{self.env_id} rendered {type(frame).__name__}, not an RGB array")
        return resize_rgb(frame, size)

    def close(self) -> None:
        self.env.close()
