"""One run's interventions: the controller, the rule (:mod:`ding_lite.intervention.rules`) and the per-env
episode counters they need.

Each step, for all N envs at once::

    executed, flags = intervention.decide(obs, agent_actions)  # the controller's actions, then the rule
    step = env.step(executed)
    intervention.advance(flags, step.done)                    # after every env step, warm-up ones too

``executed`` is the controller's action where ``flags`` is True and the agent's elsewhere.

State (saved with the collector, so a resumed run decides exactly as an uninterrupted one):
``episode_step``, the steps each env's current episode has taken; ``episode_intervened``, how many of them
the controller took; ``hold_left``, the steps the controller still holds after this one (``when.hold_steps``);
all are reset to 0 where an episode ends. ``total`` counts the intervened steps of the whole run.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from ding_lite.envs.base import EnvSpec
from ding_lite.errors import ConfigError
from ding_lite.intervention.controller import Controller, checked_actions, resolve_controller
from ding_lite.intervention.rules import Rule, build_rule, when_default_config
from ding_lite.utils.obs import Obs

log = logging.getLogger("ding_lite")


def intervention_default_config() -> dict[str, Any]:
    return dict(
        pretrained_path="",  # a pretrained_model/ folder or checkpoint of a policy for this env; '' for none
        controller="",  # or 'package.module:function': observation batch -> action batch; both '': no interventions
        when=when_default_config(),  # when the controller takes over (ding_lite.intervention.rules)
    )


class Intervention:
    def __init__(
        self,
        controller: Controller,
        rule: Rule,
        spec: EnvSpec,
        action_shape: int,
        env_num: int,
        *,
        max_per_episode: int | None = None,
        hold_steps: int = 1,
        name: str = "",
    ) -> None:
        self.controller = controller
        self.rule = rule
        self.spec = spec
        self.action_shape = action_shape
        self.max_per_episode = max_per_episode
        self.hold_steps = hold_steps
        self.name = name or getattr(controller, "__qualname__", type(controller).__name__)
        self.episode_step = np.zeros(env_num, dtype=np.int64)
        self.episode_intervened = np.zeros(env_num, dtype=np.int64)
        self.hold_left = np.zeros(env_num, dtype=np.int64)
        self.total = 0

    def decide(self, obs: Obs, agent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(executed actions, intervened mask)`` for one step of every env."""
        agent = np.asarray(agent)
        count = len(self.episode_step)
        expert = checked_actions(self.controller(obs), count, self.spec, self.action_shape, repr(self.name))
        flags = np.asarray(self.rule(obs, agent, expert, self.episode_step.copy()), dtype=bool).reshape(count)
        flags |= self.hold_left > 0
        if self.max_per_episode is not None:
            flags &= self.episode_intervened < self.max_per_episode
        where = flags.reshape(count, *([1] * (agent.ndim - 1)))
        return np.where(where, expert.reshape(agent.shape), agent).astype(agent.dtype, copy=False), flags

    def advance(self, flags: np.ndarray | None, done: np.ndarray) -> None:
        """Count the step just taken (``flags`` None: the agent acted everywhere); restart ended episodes."""
        self.episode_step += 1
        if flags is not None:
            self.episode_intervened += flags
            self.total += int(flags.sum())
            held = np.where(self.hold_left > 0, self.hold_left - 1, self.hold_steps - 1)
            self.hold_left = np.where(flags, held, 0)  # a step the agent took ends any hold
        ended = np.asarray(done, dtype=bool)
        self.episode_step[ended] = 0
        self.episode_intervened[ended] = 0
        self.hold_left[ended] = 0

    def restart_episodes(self) -> None:
        """Every env starts a new episode (the envs were reset)."""
        self.episode_step[:] = 0
        self.episode_intervened[:] = 0
        self.hold_left[:] = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "episode_step": self.episode_step.tolist(),
            "episode_intervened": self.episode_intervened.tolist(),
            "hold_left": self.hold_left.tolist(),
            "total": self.total,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.episode_step = np.asarray(state["episode_step"], dtype=np.int64)
        self.episode_intervened = np.asarray(state["episode_intervened"], dtype=np.int64)
        self.hold_left = np.asarray(state.get("hold_left", np.zeros_like(self.episode_step)), dtype=np.int64)
        self.total = int(state["total"])


def build_intervention(
    policy_cfg: Mapping[str, Any], spec: EnvSpec, env_num: int, given: Controller | None = None
) -> Intervention | None:
    """The run's interventions from ``policy.intervention`` (and a callable ``given`` from Python), or None
    when no controller is named."""
    cfg = policy_cfg.get("intervention") or {}
    when = cfg.get("when") or when_default_config()
    found = resolve_controller(cfg, policy_cfg, given)
    if found is None:
        if dict(when) != when_default_config():
            raise ConfigError(
                "policy.intervention.when is set but no controller is: set policy.intervention.pretrained_path or "
                "policy.intervention.controller (or remove policy.intervention.when)"
            )
        return None
    controller, name = found
    rule = build_rule(when, spec)
    cap = when.get("max_per_episode")
    action_shape = int(policy_cfg["model"]["action_shape"])
    log.info("interventions: %s takes over by rule '%s'", name, when["rule"])
    return Intervention(controller, rule, spec, action_shape, env_num, hold_steps=int(when.get("hold_steps", 1)),
                        max_per_episode=None if cap is None else int(cap), name=name)  # fmt: skip
