"""What the manager's process knows of an env that runs in a worker process.

``SubprocessEnvManager.envs[i]`` is an :class:`EnvView`: callers that read an env's attributes through the
manager (the collector and evaluator read ``last_episode_extras``; recording and the offline buffer read
``spec``, ``fps``, ``native_action`` and ``input_action_bounds``) get them without a round trip. The static
ones come from the manager's ``shadow``, one env built from the same config in this process and never reset
or stepped; ``last_episode_extras`` is what the worker sent with the step that ended env ``index``'s last
episode (None before the first ending).
"""

from __future__ import annotations

from typing import Any, NoReturn

import numpy as np

from ding_lite.envs.base import BaseEnv, EnvSpec, StepResult


class EnvView(BaseEnv):
    """Env ``index`` of a ``SubprocessEnvManager`` as the manager's process sees it (module docstring)."""

    def __init__(self, shadow: BaseEnv, index: int) -> None:
        super().__init__(shadow.cfg)
        self.shadow = shadow
        self.index = index
        self.fps = shadow.fps
        self.last_episode_extras: dict[str, float] | None = None

    @property
    def spec(self) -> EnvSpec:
        return self.shadow.spec

    @spec.setter
    def spec(self, value: EnvSpec) -> None:
        raise AttributeError("the spec of an env in a worker process cannot be set")

    def native_action(self, actions: np.ndarray) -> np.ndarray:
        return self.shadow.native_action(actions)

    def input_action_bounds(self) -> tuple[float, float] | None:
        return self.shadow.input_action_bounds()

    def seed(self, seed: int) -> None:
        self._remote()

    def reset(self) -> np.ndarray:
        self._remote()

    def step(self, action: Any) -> StepResult:
        self._remote()

    def _remote(self) -> NoReturn:
        raise RuntimeError(f"env {self.index} runs in a worker process: seed, reset and step it through its manager")
