"""``InteractionEvaluator``: greedy episodes on the evaluator envs, stop check, and the best checkpoint.

Every evaluation re-seeds env i with ``seed + i`` (DI-engine's evaluator uses a fixed seed too), so
evaluations of the same weights give the same returns. An evaluation runs until ``n_evaluator_episode``
episodes have finished, taking them in the order they finish (ties by env index).

With envs in worker processes (``env_manager.type='subprocess'``) an episode whose worker failed is dropped
(``VecStep.dropped``): it has no return, and its env starts a new episode, which a policy with per-episode
memory (ACT's action queue) hears of as it does of an ended one. The manager's failure counters
(``env_restarts``, ``env_dropped_episodes``: totals since it was built) are logged after every evaluation
beside the returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ding_lite.envs import VectorEnvManager
from ding_lite.policy.base import Policy
from ding_lite.utils.log import ExperimentLogger


def evaluator_default_config() -> dict[str, Any]:
    return dict(
        type="interaction",
        import_names=[],
        eval_freq=1000,  # evaluate every this many train iterations (and at iteration 0)
        render=dict(render_freq=-1, mode="train_iter"),
        figure_path=None,
        cfg_type="InteractionSerialEvaluatorDict",
        stop_value=None,
        n_episode=None,
    )


def run_episodes(
    env: VectorEnvManager,
    act: Callable[[np.ndarray], np.ndarray],
    n_episode: int,
    seed: int,
    episodes_began: Callable[[list[int]], Any] | None = None,
    extras: list[dict[str, float]] | None = None,
) -> list[float]:
    """Returns of the first ``n_episode`` episodes finished with actions from ``act``. ``episodes_began``
    hears the indices of the envs that were reset into a new episode after each step, an episode ended or
    dropped by a failed worker (a policy with per-episode memory, such as ACT's action queue, forgets
    theirs). ``extras`` receives, per episode, what its env reports about it (``last_episode_extras``, e.g.
    the env's own return under a reward classifier)."""
    env.seed(seed)
    obs = env.reset()
    returns: list[float] = []
    while len(returns) < n_episode:
        step = env.step(act(obs))
        done = np.flatnonzero(step.done)
        for index in done:
            if len(returns) < n_episode:
                returns.append(float(step.episode_return[index]))
                if extras is not None:
                    extras.append(dict(getattr(env.envs[index], "last_episode_extras", None) or {}))
        began = np.flatnonzero(step.done | step.dropped)
        if episodes_began is not None and len(began):
            episodes_began([int(i) for i in began])
        obs = step.obs
    return returns


class InteractionEvaluator:
    def __init__(
        self,
        cfg: Mapping[str, Any],
        env: VectorEnvManager,
        policy: Policy,
        logger: ExperimentLogger,
        *,
        n_episode: int,
        stop_value: float,
        seed: int,
        save_best: Callable[[], Any] | None = None,
    ) -> None:
        self.env = env
        self.policy = policy
        self.logger = logger
        self.eval_freq = int(cfg["eval_freq"])
        self.n_episode = int(n_episode)
        self.stop_value = float(stop_value)
        self.seed = seed
        self.save_best = save_best
        self.last_eval_iter: int | None = None
        self.last_value: float | None = None
        self.best_value: float | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"last_eval_iter": self.last_eval_iter, "last_value": self.last_value, "best_value": self.best_value}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.last_eval_iter = state["last_eval_iter"]
        self.last_value, self.best_value = state["last_value"], state["best_value"]

    def should_eval(self, train_iter: int) -> bool:
        """At iteration 0 and whenever ``eval_freq`` iterations have passed since the last evaluation."""
        if self.last_eval_iter is None:
            return True
        if train_iter == self.last_eval_iter:
            return False
        return train_iter - self.last_eval_iter >= self.eval_freq

    def eval(self, train_iter: int, env_step: int) -> tuple[bool, float]:
        """Run the episodes, log them, save ``ckpt_best`` on a new best; returns (stop, mean return)."""
        began = getattr(self.policy, "reset_eval", None)
        extras: list[dict[str, float]] = []
        act = self.policy.eval_mode.forward
        returns = np.asarray(run_episodes(self.env, act, self.n_episode, self.seed, began, extras))
        mean = float(returns.mean())
        self.last_eval_iter = train_iter
        self.last_value = mean
        new_best = self.best_value is None or mean > self.best_value
        if new_best:
            self.best_value = mean
        stats = {"reward_mean": mean, "reward_std": float(returns.std()),
                 "reward_max": float(returns.max()), "reward_min": float(returns.min())}  # fmt: skip
        # the env's own return: the same as reward_mean unless a reward classifier gives the reward
        own = [e["env_reward"] for e in extras if "env_reward" in e]
        stats["env_reward_mean"] = float(np.mean(own)) if len(own) == len(returns) else mean
        for key in sorted({k for e in extras for k in e} - {"env_reward"}):
            stats[f"{key}_mean"] = float(np.mean([e.get(key, np.nan) for e in extras]))
        stats.update(self.env.failure_counts())  # envs in worker processes; in-process envs have none
        for key, value in stats.items():
            self.logger.scalar(f"evaluator_iter/{key}", value, train_iter)
            self.logger.scalar(f"evaluator_step/{key}", value, env_step)
        self.logger.text(
            "evaluator",
            f"train_iter {train_iter} env_step {env_step} reward_mean {mean:.2f} std {stats['reward_std']:.2f} "
            f"best {mean if self.best_value is None else self.best_value:.2f} episodes {len(returns)}",
        )
        if new_best and self.save_best is not None:
            self.save_best()  # after logging: the checkpoint includes this evaluation
        return mean >= self.stop_value, mean
