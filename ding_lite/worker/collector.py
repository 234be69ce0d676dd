"""``SampleCollector``: steps all collector envs together, one policy forward per step for every env.

``env_step`` counts env transitions (all envs). Finished episodes are summarised to TensorBoard
(``collector_iter/*`` over train_iter, ``collector_step/*`` over env_step) at most every
``collect_print_freq`` train iterations. Envs that report more about an episode when it ends
(``last_episode_extras``, e.g. the env's own return under ``env.reward_classifier``) get the mean of each
value logged beside ``reward_mean`` as ``<name>_mean``.

With an :class:`~ding_lite.intervention.session.Intervention` (``policy.intervention``), off-policy
collection after the random warm-up asks it, every step, which envs the controller takes over: those execute
the controller's action, and the transition stores that executed action with ``is_intervention`` True.
Each such collect logs ``collector_step/intervention_rate`` (intervened env steps / env steps of the
collect) and ``collector_step/intervention_count`` (intervened steps of the whole run) over env_step.

Envs in worker processes (``env_manager.type='subprocess'``) can have an episode dropped when their worker
fails (``VecStep.dropped``): that step never happened, so it is neither counted in ``env_step`` nor stored,
and the episode's return is not logged. Off-policy, the dropped env's n-step windows still waiting for
later rewards are discarded (with ``nstep=1`` there are none); on-policy, the rollout ends the episode there
as a terminal step with reward 0 (one sample per failure). The manager's failure counters are logged
beside the others (``env_restarts``, ``env_dropped_episodes``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ding_lite.data.nstep import NStepTransitions
from ding_lite.envs import VecStep, VectorEnvManager
from ding_lite.policy.base import Policy
from ding_lite.utils.log import ExperimentLogger
from ding_lite.utils.obs import Obs, obs_from_state, stack_obs, take

if TYPE_CHECKING:
    from ding_lite.intervention.session import Intervention

log = logging.getLogger("ding_lite")


def collector_default_config() -> dict[str, Any]:
    return dict(type="sample", import_names=[], collect_print_freq=100, deepcopy_obs=False, transform_obs=False)


class SampleCollector:
    def __init__(self, cfg: Mapping[str, Any], env: VectorEnvManager, policy: Policy, logger: ExperimentLogger) -> None:
        self.cfg = cfg
        self.env = env
        self.policy = policy
        self.logger = logger
        self.env_step = 0
        self.episode_count = 0
        self._print_freq = int(cfg.get("collect_print_freq", 100))
        self._last_print_iter = 0
        self._returns: list[float] = []
        self._lengths: list[int] = []
        self._extras: dict[str, list[float]] = {}  # per-episode values envs report (last_episode_extras)
        self._window_steps = 0
        self._window_start = time.perf_counter()
        self._obs = env.reset()
        self.intervention: Intervention | None = None  # set by the builder when policy.intervention names one

    def state_dict(self) -> dict[str, Any]:
        """Counters, the logging window, and the envs mid-episode (None where an env cannot save itself)."""
        try:
            env_state: dict[str, Any] | None = self.env.state_dict()
        except NotImplementedError:
            env_state = None
        return {
            "env_step": self.env_step,
            "episode_count": self.episode_count,
            "last_print_iter": self._last_print_iter,
            "returns": list(self._returns),
            "lengths": list(self._lengths),
            "extras": {key: list(values) for key, values in self._extras.items()},
            "window_steps": self._window_steps,
            "env": env_state,
            "intervention": self.intervention.state_dict() if self.intervention is not None else None,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.env_step, self.episode_count = int(state["env_step"]), int(state["episode_count"])
        self._last_print_iter = int(state["last_print_iter"])
        self._returns, self._lengths = list(state["returns"]), list(state["lengths"])
        self._extras = {key: list(values) for key, values in state.get("extras", {}).items()}
        self._window_steps = int(state["window_steps"])
        if self.intervention is not None and state.get("intervention") is not None:
            self.intervention.load_state_dict(state["intervention"])
        if state["env"] is not None:
            self.env.load_state_dict(state["env"])
            self._obs = obs_from_state(state["env"]["obs"])
        else:
            log.warning("the collector envs could not save their state; their episodes restart on resume")
            self._obs = self.env.reset()
            if self.intervention is not None:
                self.intervention.restart_episodes()

    def _record(self, step: Any) -> None:
        done = step.done
        if done.any():
            for index in np.flatnonzero(done):
                self._returns.append(float(step.episode_return[index]))
                self._lengths.append(int(step.episode_length[index]))
                for key, value in (getattr(self.env.envs[index], "last_episode_extras", None) or {}).items():
                    self._extras.setdefault(key, []).append(float(value))
            self.episode_count += int(done.sum())

    def _step(self, action: np.ndarray, intervened: np.ndarray | None = None) -> Any:
        step = self.env.step(action)
        happened = self.env.env_num - int(step.dropped.sum())
        self.env_step += happened
        self._window_steps += happened
        self._record(step)
        self._obs = step.obs
        if self.intervention is not None:
            self.intervention.advance(intervened, step.done | step.dropped)
        return step

    def collect_rollout(self, n_sample: int, train_iter: int) -> dict[str, Any]:
        """On-policy: ceil(n_sample / env_num) steps of every env, as (T, N, ...) arrays (``obs`` and
        ``next_obs`` as dicts of them for dict observations)."""
        steps = -(-n_sample // self.env.env_num)
        forward = self.policy.collect_mode.forward
        obs_list, act_list, rew_list, done_list, next_list = [], [], [], [], []
        for _ in range(steps):
            obs = self._obs
            action = forward(obs, env_step=self.env_step)["action"]
            step = self._step(action)
            obs_list.append(obs)
            act_list.append(action)
            rew_list.append(step.reward)
            done_list.append(step.done | step.dropped)
            next_list.append(step.next_obs)
        self.maybe_log(train_iter)
        return {
            "obs": stack_obs(obs_list),
            "action": np.stack(act_list),
            "reward": np.stack(rew_list),
            "done": np.stack(done_list),
            "next_obs": stack_obs(next_list),
        }

    def collect_transitions(
        self, n_sample: int, train_iter: int, nstep: NStepTransitions, random_actions: bool = False
    ) -> list[dict[str, Any]]:
        """Off-policy: at least ``n_sample`` env steps, returned as completed (n-step) transitions; after the
        warm-up (``random_actions``) the intervention, if any, decides who acts (module docstring)."""
        forward = self.policy.collect_mode.forward
        intervention = None if random_actions else self.intervention
        out: list[dict[str, Any]] = []
        done_steps = intervened_steps = 0
        while done_steps < n_sample:
            obs = self._obs
            flags = None
            if random_actions:
                action = self.random_action()
            else:
                action = forward(obs, env_step=self.env_step)["action"]
                if intervention is not None:
                    action, flags = intervention.decide(obs, action)
                    intervened_steps += int(flags.sum())
            step = self._step(action, flags)
            done_steps += self.env.env_num
            ready = _add_real_steps(nstep, obs, action, step, flags)
            if ready is not None:
                out.append(ready)
        if intervention is not None:
            self.logger.scalar("collector_step/intervention_rate", intervened_steps / done_steps, self.env_step)
            self.logger.scalar("collector_step/intervention_count", float(intervention.total), self.env_step)
        self.maybe_log(train_iter)
        return out

    def take_episodes(self) -> dict[str, Any]:
        """The episodes finished since the last call or log (``returns``, ``lengths``, ``extras``), leaving the
        logging window empty: a Ray actor hands them to the learner instead of logging them."""
        episodes = {"returns": self._returns, "lengths": self._lengths, "extras": self._extras}
        self._returns, self._lengths, self._extras = [], [], {}
        return episodes

    def count_remote(self, env_steps: int, episodes: Mapping[str, Any]) -> None:
        """Count ``env_steps`` and the finished ``episodes`` (as :meth:`take_episodes` gives them) collected by
        another collector (a Ray actor) as if collected here: ``env_step``, ``episode_count`` and the logging
        window all include them."""
        self.env_step += int(env_steps)
        self._window_steps += int(env_steps)
        self._returns += [float(value) for value in episodes["returns"]]
        self._lengths += [int(value) for value in episodes["lengths"]]
        for key, values in episodes["extras"].items():
            self._extras.setdefault(str(key), []).extend(float(value) for value in values)
        self.episode_count += len(episodes["returns"])

    def random_action(self) -> np.ndarray:
        """Uniformly random actions for every env (warm-up), drawn from the policy's generator."""
        spec, rng = self.env.spec, self.policy.rng
        if spec.action_kind == "discrete":
            return rng.integers(0, spec.action_shape, self.env.env_num)
        return rng.uniform(-1.0, 1.0, (self.env.env_num, spec.action_shape)).astype(np.float32)

    def maybe_log(self, train_iter: int, force: bool = False) -> None:
        if not force and (train_iter - self._last_print_iter < self._print_freq or not self._returns):
            return
        elapsed = max(time.perf_counter() - self._window_start, 1e-9)
        returns = np.asarray(self._returns, dtype=np.float64)
        values = {
            "episode_count": float(len(returns)),
            "envstep_count": float(self._window_steps),
            "avg_envstep_per_episode": float(np.mean(self._lengths)) if self._lengths else 0.0,
            "avg_envstep_per_sec": self._window_steps / elapsed,
            "avg_episode_per_sec": len(returns) / elapsed,
            "reward_mean": float(returns.mean()) if len(returns) else 0.0,
            "reward_std": float(returns.std()) if len(returns) else 0.0,
            "reward_max": float(returns.max()) if len(returns) else 0.0,
            "reward_min": float(returns.min()) if len(returns) else 0.0,
            "total_envstep_count": float(self.env_step),
            "total_episode_count": float(self.episode_count),
        }
        values.update({f"{key}_mean": float(np.mean(extra)) for key, extra in self._extras.items() if extra})
        values.update(self.env.failure_counts())
        for key, value in values.items():
            self.logger.scalar(f"collector_iter/{key}", value, train_iter)
            self.logger.scalar(f"collector_step/{key}", value, self.env_step)
        self.logger.text(
            "collector",
            f"train_iter {train_iter} env_step {self.env_step} episodes {len(returns)} "
            f"reward_mean {values['reward_mean']:.2f}"  # no wall-clock figures: a resumed log equals a straight one
            + (f" env_reward_mean {values['env_reward_mean']:.2f}" if "env_reward_mean" in values else ""),
        )
        self._last_print_iter = train_iter
        self._returns.clear()
        self._lengths.clear()
        self._extras.clear()
        self._window_steps = 0
        self._window_start = time.perf_counter()


def _add_real_steps(
    nstep: NStepTransitions, obs: Obs, action: np.ndarray, step: VecStep, flags: np.ndarray | None
) -> dict[str, Any] | None:
    """``nstep.add`` of one step, leaving out the envs whose step was dropped (module docstring)."""
    dropped = step.dropped
    if not dropped.any():
        return nstep.add(obs, action, step.reward, step.done, step.next_obs, step.truncated, flags)
    rows = np.flatnonzero(dropped)
    nstep.forget(rows)  # the episode's open windows never end
    batch = nstep.add(obs, action, step.reward, step.done, step.next_obs, step.truncated, flags)
    nstep.forget(rows)  # with nstep > 1 the dropped step waits alone in its window (done is False): forget it too
    if batch is None or nstep.nstep > 1:
        return batch
    keep = ~dropped  # nstep == 1: one row per env, in env order
    return {key: take(value, keep) for key, value in batch.items()}
