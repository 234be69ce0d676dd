"""``CollectActor``: one off-policy collector, run inside a Ray actor process.

It builds, from the compiled config the learner runs with, its own env manager (``env.collector_env_num``
envs) and a policy used in collect mode, and keeps its own n-step windows. Actor ``i`` of a run with seed
``s`` is seeded with :func:`actor_seed` ``= s + 1000 * (i + 1)``: envs, the policy's exploration generator
and the process's global generators. The learner's own envs keep ``s``, so no two streams coincide. A
process Ray started again after the actor's died takes a fresh random seed instead (:func:`process_seed`):
with the first seed it would replay the episodes its first process collected.

Each :meth:`CollectActor.collect` steps every env until at least ``n_sample`` env steps are done (as the
serial collector does) and returns a :class:`CollectReport`: the transitions completed meanwhile (dicts of
NumPy arrays), the env steps taken and the episodes finished. Weights come with a call only when they are
newer than the ones the actor holds; a fresh actor process (a first start or a restart by Ray) holds none,
and answers a call without weights with an empty report asking for them (``needs_weights``): no step is
ever taken with the random weights a model starts with. Every process draws an ``incarnation`` id, so the
learner can tell a restarted actor from the one it knew.

Exploration follows the learner's ``env_step`` (sent with each call), so DQN's epsilon schedule is the
serial one over the total env steps of all actors, across restarts and resumes.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from easydict import EasyDict

from ding_lite.actors.weights import Weights, load_weights, weights_of
from ding_lite.components import POLICY_REGISTRY  # importing it fills every registry
from ding_lite.config.compile import handle_import_names, types_of
from ding_lite.data import NStepTransitions
from ding_lite.envs import make_env_manager
from ding_lite.utils.log import ExperimentLogger
from ding_lite.utils.rng import seed_everything
from ding_lite.utils.threads import single_thread_compute
from ding_lite.worker.collector import SampleCollector

SEED_STRIDE = 1000


def actor_seed(seed: int, actor_index: int) -> int:
    """The seed of actor ``actor_index`` in a run seeded ``seed`` (module docstring)."""
    return int(seed) + SEED_STRIDE * (int(actor_index) + 1)


def process_seed(seed: int) -> int:
    """``seed`` for the actor's first process; a fresh random seed for a process Ray restarted."""
    try:
        import ray

        restarted = bool(ray.get_runtime_context().was_current_actor_reconstructed)
    except Exception:  # not inside a Ray actor (tests build actors directly)
        restarted = False
    return int(uuid.uuid4().int % 2**31) if restarted else int(seed)


@dataclass
class CollectReport:
    """What one collect call returns to the learner."""

    actor_index: int
    incarnation: str  # random id of the actor process: a new one means Ray restarted the actor
    env_steps: int = 0  # env steps of this call (all envs)
    transitions: list[dict[str, Any]] = field(default_factory=list)  # completed (n-step) transitions
    episodes: dict[str, Any] = field(default_factory=dict)  # finished episodes: returns, lengths, extras
    weights_iter: int = -1  # train_iter of the weights collected with
    needs_weights: bool = False  # a fresh process got no weights: nothing was collected
    process_env_steps: int = 0  # env steps since this process started
    process_episodes: int = 0  # episodes finished since this process started
    seed: int = 0  # the seed this process collects with (process_seed)


class _NoLogs(ExperimentLogger):
    """The actor writes no logs: the learner logs what the reports hold."""

    def scalar(self, tag: str, value: float, step: int) -> None:
        pass

    def text(self, worker: str, message: str) -> None:
        pass


class CollectActor:
    """Collects transitions for the learner; made a Ray actor by :mod:`ding_lite.actors.pool`."""

    def __init__(self, cfg: dict[str, Any], actor_index: int, seed: int) -> None:
        handle_import_names(cfg, types_of(cfg))  # modules that register the config's env (installed on every node)
        single_thread_compute()
        seed = process_seed(seed)
        seed_everything(seed)
        tree = EasyDict(cfg)
        self.seed = seed
        self.actor_index = int(actor_index)
        self.incarnation = uuid.uuid4().hex
        self.env = make_env_manager(tree.env, tree.env.manager, int(tree.env.collector_env_num))
        self.env.seed(seed)
        self.policy = POLICY_REGISTRY.get(str(tree.policy.type))(tree.policy)
        self.policy.seed(seed)
        self.collector = SampleCollector(tree.policy.collect.collector, self.env, self.policy, _NoLogs(tree.exp_name))
        self.nstep = NStepTransitions(self.env.env_num, *self.policy.nstep_and_gamma())
        self.weights_iter: int | None = None  # None: no weights loaded yet
        self.process_env_steps = 0
        self.process_episodes = 0

    def ready(self) -> dict[str, Any]:
        """``pid``, ``incarnation`` and ``seed`` of the actor process, once it is built (the learner waits on
        this)."""
        return {"pid": os.getpid(), "incarnation": self.incarnation, "seed": self.seed}

    def collect(
        self, n_sample: int, env_step: int, random_actions: bool, weights: Weights | None, weights_iter: int
    ) -> CollectReport:
        """At least ``n_sample`` env steps; ``env_step`` is the learner's count (for exploration schedules);
        ``weights`` (when not None) are loaded first; ``random_actions``: uniform actions (the warm-up)."""
        if weights is not None:
            load_weights(self.policy, weights)
            self.weights_iter = int(weights_iter)
        if self.weights_iter is None:
            return CollectReport(self.actor_index, self.incarnation, needs_weights=True, seed=self.seed)
        self.collector.env_step = int(env_step)
        # train_iter 0: the collector's own logging never fires (the learner logs the reports)
        transitions = self.collector.collect_transitions(int(n_sample), 0, self.nstep, random_actions=random_actions)
        steps = self.collector.env_step - int(env_step)
        episodes = self.collector.take_episodes()
        self.process_env_steps += steps
        self.process_episodes += len(episodes["returns"])
        return CollectReport(
            self.actor_index,
            self.incarnation,
            env_steps=steps,
            transitions=transitions,
            episodes=episodes,
            weights_iter=self.weights_iter,
            process_env_steps=self.process_env_steps,
            process_episodes=self.process_episodes,
            seed=self.seed,
        )

    def weights(self) -> Weights:
        """The weights the actor collects with (tests compare them with the learner's)."""
        return weights_of(self.policy)

    def close(self) -> None:
        self.env.close()
