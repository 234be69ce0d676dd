"""Env types that fail on purpose, for the env worker specifications (``test_subprocess_env.py``).

Importing this module registers ``faulty_cartpole``: cartpole that, when it was seeded with a seed listed in
its config's ``faults`` (``[[seed, kind], ...]``), fails on the ``fault_step``-th step since it was built,
by ``kind``: ``'raise'`` (a RuntimeError), ``'hang'`` (sleeps a minute, far past any ``step_timeout`` used
here) or ``'kill'`` (its own process ends by SIGKILL, like a crashed simulator). Worker processes import this
module by name to build the env, so it must stay importable from ``tests/``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from typing import Any

from ding_lite.envs import CartPoleEnv, register_env
from ding_lite.envs.base import StepResult

HANG_S = 60.0


@register_env("faulty_cartpole")
class FaultyCartPole(CartPoleEnv):
    def __init__(self, cfg: Mapping[str, Any] | None = None) -> None:
        super().__init__(cfg)
        self._faults = {int(seed): str(kind) for seed, kind in self.cfg.get("faults", [])}
        self._fault_step = int(self.cfg.get("fault_step", 1))
        self._steps_built = 0
        self._fault: str | None = None

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        return {**super().default_config(), "faults": [], "fault_step": 1}

    def seed(self, seed: int) -> None:
        super().seed(seed)
        self._fault = self._faults.get(int(seed))

    def step(self, action: Any) -> StepResult:
        self._steps_built += 1
        if self._steps_built == self._fault_step and self._fault is not None:
            if self._fault == "raise":
                raise RuntimeError(f"faulty_cartpole fails at step {self._fault_step}")
            if self._fault == "hang":
                time.sleep(HANG_S)
            if self._fault == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
        return super().step(action)

    def step_list(self, action: Any) -> Any:
        obs, reward, terminated, truncated = self.step(action)
        return obs.tolist(), reward, terminated, truncated
