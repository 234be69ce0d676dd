"""The single-environment contract of ding_lite: :class:`EnvSpec`, :class:`BaseEnv` and the env registry.

An environment is a Gymnasium-like object with a small, fixed surface:

* ``reset()`` returns the first observation of a new episode;
* ``step(action)`` returns ``(obs, reward, terminated, truncated)``;
* ``seed(s)`` makes the *next* ``reset()`` draw its initial state from a generator seeded with ``s``
  (later resets keep drawing from that same generator, so a seeded env replays the same sequence of
  episodes for the same actions);
* ``state_dict()``/``load_state_dict()`` snapshot and restore the whole env, RNG included, for envs whose
  ``supports_state`` is true.

Observations are ``float32`` numpy arrays of ``spec.obs_shape`` (``spec.obs_type == 'state'``, every env's
own form); with the env config's ``obs_type`` 'pixels' or 'pixels_state' the env is wrapped by
:mod:`ding_lite.envs.pixels` and observes uint8 frames (see :class:`EnvSpec`). Rewards are python floats.
Concrete env types register themselves with ``@register_env('name', 'alias', ...)`` and are built from
the compiled ``env`` config section with ``ENV_REGISTRY.get(cfg['type'])(cfg)``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ding_lite.utils.registry import Registry

ActionKind = Literal["discrete", "continuous"]
ObsType = Literal["state", "pixels", "pixels_state"]
OBS_TYPES: tuple[str, ...] = ("state", "pixels", "pixels_state")


@dataclass(frozen=True)
class EnvSpec:
    """Static description of an env's observation and action spaces.

    ``action_shape`` is the number of actions for a discrete env and the action dimension for a
    continuous one (0 means "unknown", only possible for adapted foreign envs without an action space).
    ``action_low``/``action_high`` are the bounds of every action component in the env's native units
    when they are uniform, else ``None``; they are always ``None`` for discrete envs.
    ``max_episode_steps`` is the step at which an episode is truncated, ``None`` when unbounded/unknown.

    Observations, by ``obs_type``:

    - ``'state'``: a float32 array of ``obs_shape``;
    - ``'pixels'``: a uint8 frame of ``obs_shape`` = ``(3, H, W)``;
    - ``'pixels_state'``: a dict ``{'image': uint8 obs_shape (3, H, W), 'state': float32 state_shape}``.

    ``obs_shape`` is thus always the shape of the array a model's encoder takes first (the image when there
    is one), and ``state_shape`` is set only for 'pixels_state'. :meth:`model_obs_shape` is the value
    ``policy.model.obs_shape`` must hold for such observations.
    """

    obs_shape: tuple[int, ...]
    action_kind: ActionKind
    action_shape: int
    action_low: float | None = None
    action_high: float | None = None
    max_episode_steps: int | None = None
    obs_type: ObsType = "state"
    state_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.action_kind not in ("discrete", "continuous"):
            raise ValueError(f"action_kind must be 'discrete' or 'continuous', got {self.action_kind!r}")
        if self.obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be one of {', '.join(OBS_TYPES)}, got {self.obs_type!r}")
        if (self.state_shape is not None) != (self.obs_type == "pixels_state"):
            raise ValueError("state_shape is set exactly when obs_type is 'pixels_state'")

    def model_obs_shape(self) -> int | list[int] | dict[str, Any]:
        """``policy.model.obs_shape`` for these observations: ``D`` for a (D,) state, ``[3, H, W]`` for
        frames, ``{'image': [3, H, W], 'state': D}`` for both; any other state shape as a list."""
        if self.obs_type == "pixels_state":
            assert self.state_shape is not None
            state = self.state_shape
            return {"image": list(self.obs_shape), "state": state[0] if len(state) == 1 else list(state)}
        if self.obs_type == "state" and len(self.obs_shape) == 1:
            return self.obs_shape[0]
        return list(self.obs_shape)


StepResult = tuple[np.ndarray, float, bool, bool]
"""``(obs, reward, terminated, truncated)`` as returned by :meth:`BaseEnv.step`."""

ListStepResult = tuple[list[Any], float, bool, bool]
"""Like :data:`StepResult` but with the observation as (nested) python floats."""


class BaseEnv(abc.ABC):
    """Abstract single environment; see the module docstring for the contract.

    Subclasses must set ``self.spec`` in ``__init__``. Stepping an env whose episode has ended (or that
    was never reset) is an error for the built-in envs; the vector manager never does it.
    """

    spec: EnvSpec
    supports_state: ClassVar[bool] = False
    """Whether :meth:`state_dict`/:meth:`load_state_dict` are implemented (exact snapshot/restore)."""

    def __init__(self, cfg: Mapping[str, Any] | None = None) -> None:
        """``cfg`` is the compiled env config section; subclasses read their keys with ``.get``."""
        self.cfg: Mapping[str, Any] = cfg if cfg is not None else {}

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """The env-type-specific config keys this type reads, with their defaults."""
        return {}

    @classmethod
    def config_problem(cls, cfg: Mapping[str, Any], source: str) -> str | None:
        """Why the compiled env section of the config file ``source`` can never make this env, as one
        sentence naming the key; None when it can. Checked before a run writes anything."""
        return None

    @abc.abstractmethod
    def seed(self, seed: int) -> None:
        """Make the next :meth:`reset` draw from a generator freshly seeded with ``seed``."""

    @abc.abstractmethod
    def reset(self) -> np.ndarray:
        """Start a new episode; returns its first observation (float32, ``spec.obs_shape``)."""

    @abc.abstractmethod
    def step(self, action: Any) -> StepResult:
        """Advance one step. ``terminated``: a terminal state was reached (no bootstrapping);
        ``truncated``: the episode was cut short, e.g. by the step limit. Both may be true together."""

    def close(self) -> None:
        """Release any resources; the env must not be used afterwards. The default does nothing."""

    fps: float | None = None
    """Steps per second of simulated time (recorded datasets use it), None when the env does not say."""

    def native_action(self, actions: np.ndarray) -> np.ndarray:
        """Actions (a batch) as ``step`` receives them, in the env's own units (``spec.action_low/high``);
        the identity unless the env rescales its input (pendulum's ``act_scale``)."""
        return actions

    def input_action_bounds(self) -> tuple[float, float] | None:
        """The range ``step`` expects continuous actions in (the native one unless the env rescales)."""
        spec = self.spec
        if spec.action_low is None or spec.action_high is None:
            return None
        return spec.action_low, spec.action_high

    def render_rgb(self, size: int) -> np.ndarray:
        """The current state drawn as a uint8 ``(3, size, size)`` frame; the same state gives the same bytes.

        Envs that implement it can observe pixels (env config ``obs_type`` 'pixels' or 'pixels_state').
        """
        raise NotImplementedError(f"{type(self).__name__} cannot render frames (it does not implement render_rgb)")

    def reset_list(self) -> list[Any]:
        """:meth:`reset` with the observation as (nested) python floats; a fast path for the manager.

        Contract: the float32 rounding of the returned values is the observation :meth:`reset` would
        return. Overridden by the built-ins to skip the numpy round trip.
        """
        return self.reset().tolist()  # type: ignore[no-any-return,unused-ignore]

    def step_list(self, action: Any) -> ListStepResult:
        """:meth:`step` with the observation as (nested) python floats; contract as :meth:`reset_list`."""
        obs, reward, terminated, truncated = self.step(action)
        return obs.tolist(), reward, terminated, truncated

    def state_dict(self) -> dict[str, Any]:
        """A torch-``weights_only``-loadable snapshot (python scalars, lists, dicts, str only)."""
        raise NotImplementedError(f"{type(self).__name__} cannot save its state (supports_state is False)")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` snapshot; the future trajectory (resets included) is identical."""
        raise NotImplementedError(f"{type(self).__name__} cannot load a state (supports_state is False)")


class EnvWrapper(BaseEnv):
    """An env around ``env`` (observation types, a reward classifier): rendering, action units and closing are
    the wrapped env's; subclasses change what they wrap."""

    def __init__(self, env: BaseEnv) -> None:
        super().__init__(env.cfg)
        self.env = env
        self.fps = env.fps

    def render_rgb(self, size: int) -> np.ndarray:
        return self.env.render_rgb(size)

    def native_action(self, actions: np.ndarray) -> np.ndarray:
        return self.env.native_action(actions)

    def input_action_bounds(self) -> tuple[float, float] | None:
        return self.env.input_action_bounds()

    def close(self) -> None:
        self.env.close()


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The generator's bit-generator state as plain python data (ints, str, nested dicts)."""
    return _plain(rng.bit_generator.state)  # type: ignore[no-any-return,unused-ignore]


def rng_from_state(state: Mapping[str, Any]) -> np.random.Generator:
    """A new generator whose future draws are identical to those of the one ``state`` was taken from."""
    name = state.get("bit_generator", "PCG64")
    bit_gen_cls = getattr(np.random, str(name))
    bit_gen = bit_gen_cls()
    bit_gen.state = dict(state)
    return np.random.Generator(bit_gen)


def _plain(value: Any) -> Any:
    """Recursively convert numpy scalars/arrays inside dicts/lists into python values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    return value


def check_state_kind(state: Mapping[str, Any], expected: str) -> None:
    """Raise ValueError when a snapshot was taken from a different env type than ``expected``."""
    kind = state.get("kind")
    if kind != expected:
        raise ValueError(f"state_dict was saved from a {kind!r} env, cannot load it into a {expected!r} env")


ENV_REGISTRY = Registry[type[BaseEnv]]("env")
"""Env type name (the config's ``env.type``) -> :class:`BaseEnv` subclass."""

register_env = ENV_REGISTRY.register
"""Class decorator for user envs: ``@register_env('my_env')``."""
