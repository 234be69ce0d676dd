"""Turning per-step vectorised env data into (n-step) transitions for the replay buffer.

For each env the last ``n`` steps are kept; a transition leaves when its window is full (reward is the
discounted sum of n rewards, ``gamma_n = gamma ** n``) or when the episode ends (shorter windows, the
bootstrap discounted by ``gamma ** k`` for the k steps taken, ``done`` set). With ``n == 1`` every step
is emitted at once without any per-env bookkeeping.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np


class NStepTransitions:
    def __init__(self, env_num: int, nstep: int, gamma: float) -> None:
        self.nstep = nstep
        self.gamma = gamma
        self._pending: list[deque[tuple[np.ndarray, Any, float]]] = [deque() for _ in range(env_num)]

    def add(
        self, obs: np.ndarray, action: np.ndarray, reward: np.ndarray, done: np.ndarray, next_obs: np.ndarray
    ) -> dict[str, np.ndarray] | None:
        """Feed one vectorised step; returns the transitions completed by it (or None)."""
        if self.nstep == 1:
            count = len(reward)
            return {
                "obs": obs,
                "action": action,
                "reward": reward.astype(np.float32),
                "gamma_n": np.full(count, self.gamma, dtype=np.float32),
                "done": done.copy(),
                "next_obs": next_obs,
            }
        out: list[tuple[np.ndarray, Any, float, float, bool, np.ndarray]] = []
        for env, pending in enumerate(self._pending):
            pending.append((obs[env], action[env], float(reward[env])))
            if done[env]:
                while pending:
                    out.append(self._emit(pending, True, next_obs[env]))
            elif len(pending) == self.nstep:
                out.append(self._emit(pending, False, next_obs[env]))
        if not out:
            return None
        return {
            "obs": np.stack([t[0] for t in out]),
            "action": np.asarray([t[1] for t in out]),
            "reward": np.asarray([t[2] for t in out], dtype=np.float32),
            "gamma_n": np.asarray([t[3] for t in out], dtype=np.float32),
            "done": np.asarray([t[4] for t in out]),
            "next_obs": np.stack([t[5] for t in out]),
        }

    def state_dict(self) -> dict[str, Any]:
        """Steps waiting for their window to fill, per env (observations as lists of floats)."""
        return {
            "pending": [[(np.asarray(o).tolist(), np.asarray(a).tolist(), r) for o, a, r in q] for q in self._pending]
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._pending = [
            deque((np.asarray(o, dtype=np.float32), np.asarray(a), float(r)) for o, a, r in q) for q in state["pending"]
        ]

    def _emit(
        self, pending: deque[tuple[np.ndarray, Any, float]], done: bool, next_obs: np.ndarray
    ) -> tuple[np.ndarray, Any, float, float, bool, np.ndarray]:
        total = sum(step[2] * self.gamma**k for k, step in enumerate(pending))
        first = pending.popleft()
        return first[0], first[1], total, self.gamma ** (len(pending) + 1), done, next_obs
