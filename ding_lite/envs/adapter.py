"""Adapt foreign env objects (Gymnasium API or the old Gym API) to :class:`~ding_lite.envs.base.BaseEnv`.

Two foreign APIs are recognised by the shape of what they return, detected on the first call:

* Gymnasium: ``reset(seed=None)`` returns ``(obs, info)``; ``step`` returns
  ``(obs, reward, terminated, truncated, info)``.
* old Gym: ``reset()`` returns ``obs``; ``step`` returns ``(obs, reward, done, info)``; an optional
  ``seed(s)`` method. ``done`` with a true ``info['TimeLimit.truncated']`` is reported as truncated,
  any other ``done`` as terminated.

The spec comes from duck-typed ``observation_space``/``action_space`` attributes when present (``.n`` means
discrete; ``.shape`` with ``.low``/``.high`` means continuous), else the observation shape is taken from
the first observation and the action part is left unknown (discrete, ``action_shape`` 0).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

from ding_lite.envs.base import BaseEnv, EnvSpec, StepResult
from ding_lite.envs.render import resize_rgb


def _uniform_bound(values: Any) -> float | None:
    """The common value of all components of a bound, or None when they differ."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.all(arr == arr[0]):
        return None
    return float(arr[0])


def spec_from_spaces(observation_space: Any, action_space: Any, max_episode_steps: int | None) -> EnvSpec:
    """Build an :class:`EnvSpec` from duck-typed Gym(nasium) spaces (Discrete-like or Box-like)."""
    obs_shape = tuple(int(d) for d in getattr(observation_space, "shape", None) or ())
    if action_space is not None and getattr(action_space, "n", None) is not None:
        return EnvSpec(obs_shape, "discrete", int(action_space.n), max_episode_steps=max_episode_steps)
    if action_space is not None and hasattr(action_space, "shape") and hasattr(action_space, "low"):
        shape = tuple(action_space.shape or (1,))
        return EnvSpec(
            obs_shape,
            "continuous",
            int(shape[0]),
            action_low=_uniform_bound(action_space.low),
            action_high=_uniform_bound(action_space.high),
            max_episode_steps=max_episode_steps,
        )
    return EnvSpec(obs_shape, "discrete", 0, max_episode_steps=max_episode_steps)


def _accepts_seed_kwarg(method: Any) -> bool:
    """Whether ``method`` can be called with a ``seed=`` keyword argument."""
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "seed" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


class GymApiAdapter(BaseEnv):
    """A :class:`BaseEnv` view of a Gymnasium-API or old-Gym-API object (never saves state).

    ``spec`` is known at construction when the object has an ``observation_space``; otherwise reading it
    before the first :meth:`reset` raises RuntimeError.
    """

    def __init__(self, env: Any, spec: EnvSpec | None = None) -> None:
        super().__init__({})
        self.env = env
        self._new_reset_api: bool | None = None
        self._new_step_api: bool | None = None
        self._pending_seed: int | None = None
        self._reset_takes_seed = _accepts_seed_kwarg(env.reset)
        self._spec: EnvSpec | None = spec
        inner_spec = getattr(env, "spec", None)
        limit = getattr(inner_spec, "max_episode_steps", None)
        self._max_steps = int(limit) if isinstance(limit, (int, np.integer)) else None
        obs_space = getattr(env, "observation_space", None)
        if spec is None and obs_space is not None and getattr(obs_space, "shape", None) is not None:
            self._spec = spec_from_spaces(obs_space, getattr(env, "action_space", None), self._max_steps)

    @property
    def spec(self) -> EnvSpec:
        if self._spec is None:
            raise RuntimeError("this adapted env has no observation_space: its spec is known after reset()")
        return self._spec

    @spec.setter
    def spec(self, value: EnvSpec) -> None:
        self._spec = value

    def seed(self, seed: int) -> None:
        self._pending_seed = int(seed)

    def reset(self) -> np.ndarray:
        seed, self._pending_seed = self._pending_seed, None
        if seed is not None and self._new_reset_api is not False and self._reset_takes_seed:
            out = self.env.reset(seed=seed)
        else:
            if seed is not None:
                if callable(getattr(self.env, "seed", None)):
                    self.env.seed(seed)
                else:
                    warnings.warn(f"{type(self.env).__name__} cannot be seeded; seed {seed} ignored", stacklevel=2)
            out = self.env.reset()
        if self._new_reset_api is None:
            self._new_reset_api = isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)
        obs = np.asarray(out[0] if self._new_reset_api else out, dtype=np.float32)
        if self._spec is None:
            action_space = getattr(self.env, "action_space", None)
            self._spec = spec_from_spaces(obs, action_space, self._max_steps)
        return obs

    def step(self, action: Any) -> StepResult:
        """Forward ``action``; python lists (as sent by the manager) are passed on as numpy arrays."""
        if isinstance(action, list):
            dtype = getattr(getattr(self.env, "action_space", None), "dtype", None) or np.float32
            action = np.asarray(action, dtype=dtype)
        out = self.env.step(action)
        if self._new_step_api is None:
            if len(out) not in (4, 5):
                raise TypeError(f"step() of {type(self.env).__name__} returned {len(out)} values, expected 4 or 5")
            self._new_step_api = len(out) == 5
        if self._new_step_api:
            obs, reward, terminated, truncated, _ = out
            terminated, truncated = bool(terminated), bool(truncated)
        else:
            obs, reward, done, info = out
            truncated = bool(done) and bool(info.get("TimeLimit.truncated", False))
            terminated = bool(done) and not truncated
        return np.asarray(obs, dtype=np.float32), float(reward), terminated, truncated

    def render_rgb(self, size: int) -> np.ndarray:
        """The object's ``render()`` (an ``(H, W, 3)`` array: make it with ``render_mode='rgb_array'``), resized."""
        render = getattr(self.env, "render", None)
        frame = render() if callable(render) else None
        if not isinstance(frame, np.ndarray):
            raise ValueError(
                f"{type(self.env).__name__}.render() returned {type(frame).__name__}, not an RGB array; pixel "
                "observations need an env made with render_mode='rgb_array'"
            )
        return resize_rgb(frame, size)

    def close(self) -> None:
        closer = getattr(self.env, "close", None)
        if callable(closer):
            closer()


def adapt_env(obj: Any, spec: EnvSpec | None = None) -> BaseEnv:
    """Return ``obj`` itself when it is a :class:`BaseEnv`, else a :class:`GymApiAdapter` around it.

    ``spec`` overrides the derived spec of a foreign object (it is ignored for a BaseEnv).
    """
    if isinstance(obj, BaseEnv):
        return obj
    if not (callable(getattr(obj, "reset", None)) and callable(getattr(obj, "step", None))):
        raise TypeError(f"cannot adapt {type(obj).__name__}: it needs reset() and step() methods")
    return GymApiAdapter(obj, spec)
