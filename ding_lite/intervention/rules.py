"""When the controller takes over (``policy.intervention.when``): one decision per env and per step.

A rule sees, for the N envs of one step, the observations, the agent's actions, the controller's actions
and how many steps each env's episode has taken so far (0 at its first step). It returns a bool mask:
True where the controller acts. Rules hold no state; the per-episode counters live in
:class:`ding_lite.intervention.session.Intervention`, which resets them at every episode end.

- ``action_distance``: where the agent's action is farther than ``threshold`` from the controller's,
  strictly (a distance equal to ``threshold`` does not intervene). ``norm='l2'`` is the Euclidean norm of the
  difference, ``'max'`` its largest absolute component. Continuous actions are compared in the policy's
  space [-1, 1], so the largest L2 distance of an A-dimensional action is ``2 * sqrt(A)``. Discrete actions
  are at distance 1 where the indices differ and 0 where they agree.
- ``state_bounds``: where any observation component ``indices[i]`` is outside ``[low[i], high[i]]``
  (strictly: a value on a bound is inside). ``low``/``high`` are one number for every index or one per
  index. With ``obs_type='pixels_state'`` the indices are into the state vector.
- ``budget``: the controller acts for the first ``steps`` steps of every episode, then the agent does
  (a guided start).

``hold_steps`` (any rule) is how long the controller keeps control once it has taken over, as a person
with a gamepad holds it for a stretch: the step where the rule fired and the ``hold_steps - 1`` steps after
it are the controller's, whatever the rule says then; 1 (the default) decides afresh every step. A hold
ends early at the episode's end.

``max_per_episode`` (any rule) caps the intervened steps of each env's episode: once an env's episode has
had that many, the agent acts until the episode ends, whatever the rule or a hold says. None means no cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ding_lite.envs.base import EnvSpec
from ding_lite.errors import ConfigError
from ding_lite.utils.obs import Obs

KEY = "policy.intervention.when"
RULE_NAMES = ("action_distance", "state_bounds", "budget")
NORMS = ("l2", "max")
RULE_KEYS = {"action_distance": ("threshold", "norm"), "state_bounds": ("indices", "low", "high"), "budget": ("steps",)}


def when_default_config() -> dict[str, Any]:
    return dict(
        rule="action_distance",  # 'action_distance' | 'state_bounds' | 'budget'
        threshold=0.5,  # action_distance: the controller acts where the distance is above this (> 0)
        norm="l2",  # action_distance: 'l2' (Euclidean) or 'max' (largest absolute component difference)
        indices=[],  # state_bounds: observation components checked
        low=[],  # state_bounds: lower bounds, one number or one per index
        high=[],  # state_bounds: upper bounds, one number or one per index
        steps=0,  # budget: the controller acts for this many steps at the start of every episode
        hold_steps=1,  # any rule: once it takes over, the controller keeps control this many steps (1: each step)
        max_per_episode=None,  # any rule: at most this many intervened steps per env and episode; None: no cap
    )


class Rule(Protocol):
    def __call__(self, obs: Obs, agent: np.ndarray, controller: np.ndarray, episode_step: np.ndarray) -> np.ndarray:
        """True for each env where the controller acts this step."""
        ...


@dataclass(frozen=True)
class ActionDistance:
    threshold: float
    norm: str
    discrete: bool

    def __call__(self, obs: Obs, agent: np.ndarray, controller: np.ndarray, episode_step: np.ndarray) -> np.ndarray:
        return action_distance(agent, controller, self.norm, self.discrete) > self.threshold


def action_distance(agent: np.ndarray, controller: np.ndarray, norm: str, discrete: bool) -> np.ndarray:
    """Per env: the distance between two action batches (module docstring)."""
    if discrete:
        return (np.asarray(agent).reshape(-1) != np.asarray(controller).reshape(-1)).astype(np.float64)
    diff = np.asarray(agent, dtype=np.float64) - np.asarray(controller, dtype=np.float64)
    diff = diff.reshape(len(diff), -1)
    return np.abs(diff).max(axis=1) if norm == "max" else np.sqrt((diff * diff).sum(axis=1))


@dataclass(frozen=True)
class StateBounds:
    indices: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def __call__(self, obs: Obs, agent: np.ndarray, controller: np.ndarray, episode_step: np.ndarray) -> np.ndarray:
        state = obs["state"] if isinstance(obs, Mapping) else obs
        values = np.asarray(state).reshape(len(episode_step), -1)[:, self.indices]
        return np.any((values < self.low) | (values > self.high), axis=1)


@dataclass(frozen=True)
class Budget:
    steps: int

    def __call__(self, obs: Obs, agent: np.ndarray, controller: np.ndarray, episode_step: np.ndarray) -> np.ndarray:
        return np.asarray(episode_step) < self.steps


def build_rule(when: Mapping[str, Any], spec: EnvSpec) -> Rule:
    """The rule ``when`` names, its values checked against the env (each problem one ConfigError)."""
    name = str(when["rule"])
    if name not in RULE_NAMES:
        raise ConfigError(f"{KEY}.rule is {name!r}; use one of {', '.join(map(repr, RULE_NAMES))}")
    defaults = when_default_config()
    for other, keys in RULE_KEYS.items():
        for key in keys:
            if other != name and key not in RULE_KEYS[name] and when.get(key) != defaults[key]:
                raise ConfigError(
                    f"{KEY}.{key} is set but rule '{name}' does not read it (it belongs to rule '{other}'); "
                    f"remove it or set {KEY}.rule='{other}'"
                )
    if name == "action_distance":
        return ActionDistance(float(when["threshold"]), str(when["norm"]), spec.action_kind == "discrete")
    if name == "budget":
        steps = int(when["steps"])  # a whole number >= 0 (ding_lite.config.values)
        if steps < 1:
            raise ConfigError(f"{KEY}.steps is {steps}; rule 'budget' needs the steps (>= 1) the controller takes")
        return Budget(steps)
    return _state_bounds(when, spec)


def _state_bounds(when: Mapping[str, Any], spec: EnvSpec) -> StateBounds:
    if spec.obs_type == "pixels":
        raise ConfigError(f"{KEY}.rule 'state_bounds' reads state observations, but env.obs_type is 'pixels'")
    shape = spec.state_shape if spec.obs_type == "pixels_state" else spec.obs_shape
    size = int(np.prod(shape)) if shape else 0
    indices = list(when["indices"] or [])
    if not indices or any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < size for i in indices):
        raise ConfigError(
            f"{KEY}.indices is {indices!r}; rule 'state_bounds' needs a list of observation components in [0, {size})"
        )
    bounds = []
    for key in ("low", "high"):
        value = when[key]
        array = np.asarray(value if isinstance(value, (list, tuple)) else [value] * len(indices), dtype=np.float64)
        if array.shape != (len(indices),) or np.isnan(array).any():
            raise ConfigError(f"{KEY}.{key} is {value!r}; give one number, or one per index ({len(indices)} numbers)")
        bounds.append(array)
    low, high = bounds
    if np.any(low > high):
        raise ConfigError(f"{KEY}.low {when['low']!r} exceeds {KEY}.high {when['high']!r}; make low <= high")
    return StateBounds(np.asarray(indices, dtype=np.int64), low, high)
