"""Built-in CartPole with the classic Gym physics and CartPole-v0 episode semantics (200-step limit).

The state is ``(x, x_dot, theta, theta_dot)``: cart position (m), cart velocity (m/s), pole angle from
vertical (rad, positive = leaning right) and pole angular velocity (rad/s). Each step applies a horizontal
force of +-10 N for ``tau`` = 0.02 s with explicit Euler integration. Every step, the terminating one
included, is rewarded 1.0. The episode terminates when ``|x| > 2.4`` or ``|theta| > 12 deg`` and is
truncated at its 200th step (both flags may be true on the same step).

The physics runs on python floats (several times faster than numpy for a single env); the state kept
between steps is float64, observations are its float32 rounding.

``render_rgb(size)`` draws the state as Gymnasium's CartPole does, in NumPy: the frame spans the track
from -2.4 m to 2.4 m, with a black track line and cart, a brown pole of 1 m and a blue axle (parts thinner
than a pixel are drawn one pixel wide).
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

GRAVITY = 9.8  # m/s^2
MASS_CART = 1.0  # kg
MASS_POLE = 0.1  # kg
TOTAL_MASS = MASS_CART + MASS_POLE
HALF_LENGTH = 0.5  # m, half the pole's length
POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH
FORCE_MAG = 10.0  # N
TAU = 0.02  # s per step
X_THRESHOLD = 2.4  # m
THETA_THRESHOLD = 12 * 2 * math.pi / 360  # rad
MAX_EPISODE_STEPS = 200
RESET_BOUND = 0.05  # every state variable starts uniform in [-RESET_BOUND, RESET_BOUND]
# frame geometry, in metres (Gymnasium's proportions): cart 0.4 x 0.24, pole 0.08 thick, axle above the centre
CART_HALF_WIDTH, CART_HALF_HEIGHT, POLE_RADIUS, AXLE_OFFSET = 0.2, 0.12, 0.04, 0.06
TRACK_Y = 0.65  # height of the track line, as a fraction of the frame from the top
POLE_COLOR, AXLE_COLOR = (202, 152, 101), (129, 132, 203)


@register_env("cartpole")
class CartPoleEnv(BaseEnv):
    """CartPole; action ``0`` pushes the cart left, ``1`` pushes it right (python or numpy ints); with
    config ``extra_actions=k`` actions ``2 .. k+1`` exist too and apply no force.

    Invariant: ``_steps`` counts the steps of the current episode and ``_ret`` sums their rewards;
    ``_done`` is true before the first reset and after the episode ended (stepping then raises).
    """

    supports_state: ClassVar[bool] = True
    fps = 1.0 / TAU

    def __init__(self, cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__(cfg)
        self.extra_actions = int(self.cfg.get("extra_actions", 0))
        self.spec = EnvSpec(
            obs_shape=(4,),
            action_kind="discrete",
            action_shape=2 + self.extra_actions,
            max_episode_steps=MAX_EPISODE_STEPS,
        )
        self._rng = np.random.default_rng()
        self._x = self._x_dot = self._theta = self._theta_dot = 0.0
        self._steps = 0
        self._ret = 0.0
        self._done = True

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        # extra_actions: actions 2, 3, ... that push with zero force (an action space grown for fine-tuning)
        return {"extra_actions": 0}

    def seed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def reset_list(self) -> list[Any]:
        x, x_dot, theta, theta_dot = self._rng.uniform(-RESET_BOUND, RESET_BOUND, size=4).tolist()
        self._x, self._x_dot, self._theta, self._theta_dot = x, x_dot, theta, theta_dot
        self._steps = 0
        self._ret = 0.0
        self._done = False
        return [x, x_dot, theta, theta_dot]

    def reset(self) -> np.ndarray:
        self.reset_list()
        return np.array((self._x, self._x_dot, self._theta, self._theta_dot), dtype=np.float32)

    def _advance(self, action: Any) -> tuple[bool, bool]:
        """Integrate one step in place; returns ``(terminated, truncated)``."""
        if self._done:
            raise RuntimeError("CartPoleEnv.step called before reset() or after the episode ended")
        if action == 1:
            force = FORCE_MAG
        elif action == 0:
            force = -FORCE_MAG
        elif 2 <= action < 2 + self.extra_actions:
            force = 0.0
        else:
            raise ValueError(f"cartpole action must be in [0, {1 + self.extra_actions}], got {action!r}")
        x, x_dot, theta, theta_dot = self._x, self._x_dot, self._theta, self._theta_dot
        cos_t = math.cos(theta)
        sin_t = math.sin(theta)
        temp = (force + POLE_MASS_LENGTH * theta_dot * theta_dot * sin_t) / TOTAL_MASS
        theta_acc = (GRAVITY * sin_t - cos_t * temp) / (
            HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos_t * cos_t / TOTAL_MASS)
        )
        x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos_t / TOTAL_MASS
        x = x + TAU * x_dot
        x_dot = x_dot + TAU * x_acc
        theta = theta + TAU * theta_dot
        theta_dot = theta_dot + TAU * theta_acc
        self._x, self._x_dot, self._theta, self._theta_dot = x, x_dot, theta, theta_dot
        self._steps += 1
        self._ret += 1.0
        terminated = x < -X_THRESHOLD or x > X_THRESHOLD or theta < -THETA_THRESHOLD or theta > THETA_THRESHOLD
        truncated = self._steps >= MAX_EPISODE_STEPS
        self._done = terminated or truncated
        return terminated, truncated

    def step(self, action: Any) -> StepResult:
        terminated, truncated = self._advance(action)
        obs = np.array((self._x, self._x_dot, self._theta, self._theta_dot), dtype=np.float32)
        return obs, 1.0, terminated, truncated

    def step_list(self, action: Any) -> ListStepResult:
        terminated, truncated = self._advance(action)
        return [self._x, self._x_dot, self._theta, self._theta_dot], 1.0, terminated, truncated

    def render_rgb(self, size: int) -> np.ndarray:
        scale = size / (2 * X_THRESHOLD)  # pixels per metre
        canvas = Canvas(size)
        track_y = TRACK_Y * size
        canvas.capsule(0.0, track_y, float(size), track_y, 0.5, BLACK)
        cart_x = size / 2 + self._x * scale
        canvas.box(cart_x, track_y, max(CART_HALF_WIDTH * scale, 0.5), max(CART_HALF_HEIGHT * scale, 0.5), BLACK)
        pivot_y = track_y - AXLE_OFFSET * scale
        length, radius = 2 * HALF_LENGTH * scale, max(POLE_RADIUS * scale, 0.5)
        tip_x, tip_y = cart_x + length * math.sin(self._theta), pivot_y - length * math.cos(self._theta)
        canvas.capsule(cart_x, pivot_y, tip_x, tip_y, radius, POLE_COLOR)
        canvas.disc(cart_x, pivot_y, radius, AXLE_COLOR)
        return canvas.to_uint8()

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": "cartpole",
            "physics": [self._x, self._x_dot, self._theta, self._theta_dot],
            "steps": self._steps,
            "episode_return": self._ret,
            "done": self._done,
            "rng": rng_state(self._rng),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        check_state_kind(state, "cartpole")
        self._x, self._x_dot, self._theta, self._theta_dot = (float(v) for v in state["physics"])
        self._steps = int(state["steps"])
        self._ret = float(state["episode_return"])
        self._done = bool(state["done"])
        self._rng = rng_from_state(state["rng"])
