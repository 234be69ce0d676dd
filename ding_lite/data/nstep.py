"""Turning per-step vectorised env data into (n-step) transitions for the replay buffer.

For each env the last ``n`` steps are kept; a transition leaves when its window is full (reward is the
discounted sum of n rewards, ``gamma_n = gamma ** n``) or when the episode ends (shorter windows, the
bootstrap discounted by ``gamma ** k`` for the k steps taken). With ``n == 1`` every step is emitted at
once without any per-env bookkeeping.

A transition's ``done`` means "terminated: do not bootstrap". An episode that ends only by truncation (a time
limit) flushes its windows like any ending, but with ``done`` false: its ``next_obs`` is the real successor,
and the value of the state the agent was cut off in still counts. (DI-engine stores every ending as done,
which biases values near time limits; its configs answer with ``ignore_done``, which ignores real
terminations too.)

With ``flagged`` (a run with interventions) every transition also holds ``is_intervention``: whether the
controller took its (first) action, as :mod:`ding_lite.intervention` decided.

Observations may be arrays or dicts of arrays (``obs_type='pixels_state'``), uint8 frames stay uint8
(:mod:`ding_lite.utils.obs`), in the transitions and in :meth:`NStepTransitions.state_dict` alike.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from ding_lite.utils.obs import Obs, obs_from_state, obs_to_state, stack_obs, take

Pending = tuple[Obs, Any, float, bool]  # one step of one env: obs, action, reward, intervened
Emitted = tuple[Obs, Any, float, float, bool, Obs, bool]  # obs, action, return, gamma_n, done, next_obs, intervened


class NStepTransitions:
    def __init__(self, env_num: int, nstep: int, gamma: float, flagged: bool = False) -> None:
        self.nstep = nstep
        self.gamma = gamma
        self.flagged = flagged
        self._pending: list[deque[Pending]] = [deque() for _ in range(env_num)]

    def add(
        self,
        obs: Obs,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        next_obs: Obs,
        truncated: np.ndarray | None = None,
        intervened: np.ndarray | None = None,
    ) -> dict[str, Any] | None:
        """Feed one vectorised step (``done``: the episode ended; ``truncated``: it ended only by truncation;
        ``intervened``: the controller acted, None for nowhere); returns the transitions completed by it (or
        None)."""
        terminated = done if truncated is None else done & ~truncated
        flags = np.zeros(len(reward), dtype=bool) if intervened is None else np.asarray(intervened, dtype=bool)
        if self.nstep == 1:
            batch = {
                "obs": obs,
                "action": action,
                "reward": reward.astype(np.float32),
                "gamma_n": np.full(len(reward), self.gamma, dtype=np.float32),
                "done": terminated.copy(),
                "next_obs": next_obs,
            }
            if self.flagged:
                batch["is_intervention"] = flags.copy()
        else:
            out: list[Emitted] = []
            for env, pending in enumerate(self._pending):
                pending.append((take(obs, env), action[env], float(reward[env]), bool(flags[env])))
                if done[env]:
                    while pending:
                        out.append(self._emit(pending, bool(terminated[env]), take(next_obs, env)))
                elif len(pending) == self.nstep:
                    out.append(self._emit(pending, False, take(next_obs, env)))
            if not out:
                return None
            batch = {
                "obs": stack_obs([t[0] for t in out]),
                "action": np.asarray([t[1] for t in out]),
                "reward": np.asarray([t[2] for t in out], dtype=np.float32),
                "gamma_n": np.asarray([t[3] for t in out], dtype=np.float32),
                "done": np.asarray([t[4] for t in out]),
                "next_obs": stack_obs([t[5] for t in out]),
            }
            if self.flagged:
                batch["is_intervention"] = np.asarray([t[6] for t in out], dtype=bool)
        return batch

    def forget(self, envs: Any) -> None:
        """Drop the open windows of ``envs`` (an env whose episode was dropped by its manager)."""
        for env in envs:
            self._pending[int(env)].clear()

    def state_dict(self) -> dict[str, Any]:
        """Steps waiting for their window to fill, per env (float32 observations as lists of floats); the
        intervened flag only when ``flagged``, so runs without interventions keep their checkpoint layout."""
        return {
            "pending": [
                [(obs_to_state(o), np.asarray(a).tolist(), r, *((f,) if self.flagged else ())) for o, a, r, f in q]
                for q in self._pending
            ]
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._pending = [
            deque((obs_from_state(step[0]), np.asarray(step[1]), float(step[2]), bool(step[3]) if len(step) > 3
                   else False) for step in q)
            for q in state["pending"]
        ]  # fmt: skip

    def _emit(self, pending: deque[Pending], done: bool, next_obs: Obs) -> Emitted:
        total = sum(step[2] * self.gamma**k for k, step in enumerate(pending))
        first = pending.popleft()
        return first[0], first[1], total, self.gamma ** (len(pending) + 1), done, next_obs, first[3]
