"""Built-in inverted Pendulum with the Gymnasium Pendulum-v1 physics and a 200-step episode.

The state is ``(theta, theta_dot)``: pole angle (rad, 0 = upright, not normalised between steps) and
angular velocity (rad/s, clipped to +-8). The observation is ``[cos theta, sin theta, theta_dot]``.
The action is a torque in N*m, clipped to ``[-2, 2]``; with ``act_scale`` the incoming action lives in
``[-1, 1]`` and is mapped affinely onto ``[-2, 2]`` before clipping. The reward is
``-(angle_normalize(theta)**2 + 0.1*theta_dot**2 + 0.001*u**2)`` computed on the pre-step state and the
clipped torque, so it lies in about ``[-16.27, 0]``. Episodes never terminate; the 200th step is truncated.

``render_rgb(size)`` draws the rod in NumPy as Gymnasium's Pendulum does (red, 0.2 m thick, turning
counter-clockwise for positive theta, a black axle at the centre) on a white frame spanning 2.5 m, so the
rod reaches 80% of the way to the frame's edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ding_lite.envs.base import (
    BaseEnv,
    EnvSpec,
    ListStepResult,
    StepResult,
    check_state_kind,
    register_env,
    rng_from_state,
    rng_state,
)
from ding_lite.envs.render import BLACK, Canvas

MAX_SPEED = 8.0  # rad/s
MAX_TORQUE = 2.0  # N*m
DT = 0.05  # s per step
G = 10.0  # m/s^2
MASS = 1.0  # kg
LENGTH = 1.0  # m
MAX_EPISODE_STEPS = 200
_RESET_LOW = np.array([-math.pi, -1.0])
_RESET_HIGH = np.array([math.pi, 1.0])
VIEW = 2.5  # m spanned by a frame
ROD_RADIUS, AXLE_RADIUS, ROD_COLOR = 0.1, 0.05, (204, 77, 77)


def angle_normalize(x: float) -> float:
    """Wrap an angle in radians into ``[-pi, pi)``."""
    return ((x + math.pi) % (2 * math.pi)) - math.pi


def _scalar_action(action: Any) -> float:
    """The single torque component of ``action`` (a number or any one-element array-like)."""
    if isinstance(action, (float, int)):
        return float(action)
    if isinstance(action, (list, tuple)) and len(action) == 1:
        return float(action[0])
    arr = np.asarray(action, dtype=np.float64).reshape(-1)
    if arr.size != 1:
        raise ValueError(f"pendulum action must have exactly one component, got shape {np.shape(action)}")
    return float(arr[0])


@register_env("pendulum")
class PendulumEnv(BaseEnv):
    """Pendulum swing-up; config key ``act_scale`` (bool, default False) selects ``[-1, 1]`` actions.

    Invariant: ``_steps`` counts the steps of the current episode and ``_ret`` sums their rewards;
    ``_done`` is true before the first reset and after truncation (stepping then raises).
    """

    supports_state: ClassVar[bool] = True

    def __init__(self, cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__(cfg)
        self.act_scale = bool(self.cfg.get("act_scale", False))
        self.extra_action_dims = int(self.cfg.get("extra_action_dims", 0))
        self.spec = EnvSpec(
            obs_shape=(3,),
            action_kind="continuous",
            action_shape=1 + self.extra_action_dims,
            action_low=-MAX_TORQUE,
            action_high=MAX_TORQUE,
            max_episode_steps=MAX_EPISODE_STEPS,
        )
        self._rng = np.random.default_rng()
        self._th = self._thdot = 0.0
        self._steps = 0
        self._ret = 0.0
        self._done = True

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        # extra_action_dims: action components after the torque, accepted and ignored (a grown action space)
        return {"act_scale": False, "extra_action_dims": 0}

    def seed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def reset_list(self) -> list[Any]:
        self._th, self._thdot = self._rng.uniform(_RESET_LOW, _RESET_HIGH).tolist()
        self._steps = 0
        self._ret = 0.0
        self._done = False
        return [math.cos(self._th), math.sin(self._th), self._thdot]

    def reset(self) -> np.ndarray:
        return np.array(self.reset_list(), dtype=np.float32)

    def step_list(self, action: Any) -> ListStepResult:
        if self._done:
            raise RuntimeError("PendulumEnv.step called before reset() or after the episode ended")
        u = _scalar_action(action) if not self.extra_action_dims else float(np.asarray(action).reshape(-1)[0])
        if self.act_scale:
            u = 2.0 * u  # [-1, 1] -> [-MAX_TORQUE, MAX_TORQUE], affine
        u = min(max(u, -MAX_TORQUE), MAX_TORQUE)
        th, thdot = self._th, self._thdot
        cost = angle_normalize(th) ** 2 + 0.1 * thdot * thdot + 0.001 * u * u
        new_thdot = thdot + (3.0 * G / (2.0 * LENGTH) * math.sin(th) + 3.0 / (MASS * LENGTH**2) * u) * DT
        new_thdot = min(max(new_thdot, -MAX_SPEED), MAX_SPEED)
        new_th = th + new_thdot * DT
        self._th, self._thdot = new_th, new_thdot
        self._steps += 1
        reward = -cost
        self._ret += reward
        truncated = self._steps >= MAX_EPISODE_STEPS
        self._done = truncated
        return [math.cos(new_th), math.sin(new_th), new_thdot], reward, False, truncated

    def step(self, action: Any) -> StepResult:
        obs, reward, terminated, truncated = self.step_list(action)
        return np.array(obs, dtype=np.float32), reward, terminated, truncated

    fps = 1.0 / DT

    def native_action(self, actions: np.ndarray) -> np.ndarray:
        if not self.act_scale:
            return actions
        return np.clip(actions * MAX_TORQUE, -MAX_TORQUE, MAX_TORQUE).astype(np.asarray(actions).dtype, copy=False)

    def input_action_bounds(self) -> tuple[float, float] | None:
        return (-1.0, 1.0) if self.act_scale else (-MAX_TORQUE, MAX_TORQUE)

    def render_rgb(self, size: int) -> np.ndarray:
        scale, centre = size / VIEW, size / 2
        canvas = Canvas(size)
        tip_x = centre - LENGTH * scale * math.sin(self._th)  # theta 0 points up, positive turns left
        tip_y = centre - LENGTH * scale * math.cos(self._th)
        canvas.capsule(centre, centre, tip_x, tip_y, max(ROD_RADIUS * scale, 0.5), ROD_COLOR)
        canvas.disc(centre, centre, max(AXLE_RADIUS * scale, 0.5), BLACK)
        return canvas.to_uint8()

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": "pendulum",
            "physics": [self._th, self._thdot],
            "steps": self._steps,
            "episode_return": self._ret,
            "done": self._done,
            "rng": rng_state(self._rng),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state_kind(state, "pendulum")
        self._th, self._thdot = (float(v) for v in state["physics"])
        self._steps = int(state["steps"])
        self._ret = float(state["episode_return"])
        self._done = bool(state["done"])
        self._rng = rng_from_state(state["rng"])
