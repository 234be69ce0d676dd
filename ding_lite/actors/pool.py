"""``ActorPool``: the learner's side of the collect actors.

The pool keeps exactly one collect call in flight per actor and hands the learner whichever report comes
back first (:meth:`ActorPool.next_report`). Counting is done here, once, on receipt: a step is counted when
its report reaches the learner, never when it is taken, so the invariant is

    learner env_step == base_env_step + sum of every actor's ``env_steps``

(``base_env_step``: steps counted before this run's actors existed, e.g. by a serial run it resumed).
Steps of a call lost with its actor, and of calls still in flight when a run is stopped by a signal, are
never counted, and their transitions never stored.

Failures. Actors are Ray actors with ``max_restarts=-1``: Ray replaces a dead actor process with a fresh
one built from the same arguments. A call lost that way raises ``RayActorError``; the pool counts a lost
collect and a restart, and the next call to that actor carries the newest weights again. A restart is also
noticed when a report comes from a new process (its ``incarnation`` changed) without a lost call, and
counted once either way. An actor whose calls fail ``MAX_FAILURES_IN_A_ROW`` times in a row (one that
cannot even be built, say) stops the run with its last error. Exceptions raised by the collect code itself
(``RayTaskError``: a bug, a broken env) are not failures of the actor process: they propagate.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ding_lite.actors.collect_actor import CollectActor, CollectReport, actor_seed
from ding_lite.actors.weights import WeightPublisher
from ding_lite.utils.log import ExperimentLogger

log = logging.getLogger("ding_lite")

MAX_FAILURES_IN_A_ROW = 5
PLACEMENT_WARNING_S = 60  # a warning while actors wait for a free CPU


@dataclass
class ActorCounters:
    """What the learner received from one actor index, over all its processes and resumed runs."""

    env_steps: int = 0
    episodes: int = 0
    collects: int = 0  # reports received with steps in them
    restarts: int = 0  # actor processes replaced by Ray
    lost_collects: int = 0  # calls lost with a failed process (never counted)


class ActorPool:
    """``n_actors`` collect actors built from the compiled config ``cfg`` (a plain dict), seeded from ``seed``."""

    def __init__(
        self, cfg: dict[str, Any], n_actors: int, seed: int, publisher: WeightPublisher, logger: ExperimentLogger
    ) -> None:
        import ray

        remote_cls = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=0)(CollectActor)
        self.actors: list[Any] = [remote_cls.remote(cfg, index, actor_seed(seed, index)) for index in range(n_actors)]
        self.counters = [ActorCounters() for _ in range(n_actors)]
        self.base_env_step = 0
        self.publisher = publisher
        self.logger = logger
        self.policy_lags: list[int] = []  # learner train_iter minus the weights' train_iter, per report
        self._in_flight: dict[Any, int] = {}  # ObjectRef of a collect call -> actor index
        self._sent_version = [0] * n_actors  # weights version the actor's newest call carried or followed
        self._incarnation: list[str | None] = [None] * n_actors
        self._lost = [False] * n_actors  # a failure was counted and no report came since
        self._failures_in_a_row = [0] * n_actors

    @property
    def restarts(self) -> int:
        return sum(c.restarts for c in self.counters)

    def wait_ready(self) -> list[int]:
        """Block until every actor is built (errors building one surface here); their process ids."""
        import ray

        calls = [actor.ready.remote() for actor in self.actors]
        waited = 0
        while len(ray.wait(calls, num_returns=len(calls), timeout=PLACEMENT_WARNING_S)[1]) > 0:
            waited += PLACEMENT_WARNING_S
            log.warning("not every collect actor runs after %d s: each needs 1 CPU; the cluster has %s free",
                        waited, ray.available_resources().get("CPU", 0))  # fmt: skip
        ready = ray.get(calls)
        for index, info in enumerate(ready):
            self._incarnation[index] = str(info["incarnation"])
        return [int(info["pid"]) for info in ready]

    def submit(self, index: int, n_sample: int, env_step: int, random_actions: bool) -> None:
        """Start actor ``index``'s next collect call, carrying the newest weights if it lacks them."""
        publisher = self.publisher
        weights = publisher.ref if self._sent_version[index] < publisher.version else None
        ref = self.actors[index].collect.remote(n_sample, env_step, random_actions, weights, publisher.train_iter)
        self._sent_version[index] = publisher.version
        self._in_flight[ref] = index

    def next_report(self, train_iter: int) -> tuple[int, CollectReport | None]:
        """The actor index whose call finished first, with its report (None: the call brought no steps)."""
        import ray

        ready, _ = ray.wait(list(self._in_flight), num_returns=1)
        return self._receive(ready[0], train_iter)

    def drain(self, train_iter: int) -> list[CollectReport]:
        """Wait for every call in flight (a run's normal end): the reports that brought steps."""
        reports = []
        while self._in_flight:
            _, report = self._receive(next(iter(self._in_flight)), train_iter)
            if report is not None:
                reports.append(report)
        return reports

    def _receive(self, ref: Any, train_iter: int) -> tuple[int, CollectReport | None]:
        import ray
        from ray.exceptions import RayActorError

        index = self._in_flight.pop(ref)
        try:
            report: CollectReport = ray.get(ref)
        except RayActorError as err:
            self._failed(index, err)
            return index, None
        self._failures_in_a_row[index] = 0
        if report.incarnation != self._incarnation[index]:  # a new process: it holds no weights
            self._incarnation[index] = report.incarnation
            self._sent_version[index] = 0
            if not self._lost[index]:
                self._count_restart(index, "its process was replaced")
        self._lost[index] = False
        if report.needs_weights:
            self._sent_version[index] = 0
            return index, None
        counters = self.counters[index]
        counters.env_steps += report.env_steps
        counters.episodes += len(report.episodes["returns"])
        counters.collects += 1
        self.policy_lags.append(train_iter - report.weights_iter)
        return index, report

    def _failed(self, index: int, err: Exception) -> None:
        self.counters[index].lost_collects += 1
        self._sent_version[index] = 0
        self._failures_in_a_row[index] += 1
        if self._failures_in_a_row[index] >= MAX_FAILURES_IN_A_ROW:
            raise RuntimeError(
                f"collect actor {index} failed {MAX_FAILURES_IN_A_ROW} times in a row; last error: {err}"
            ) from err
        if not self._lost[index]:
            self._lost[index] = True
            self._count_restart(index, f"a collect call was lost ({type(err).__name__})")

    def _count_restart(self, index: int, why: str) -> None:
        self.counters[index].restarts += 1
        message = f"collect actor {index} restarted by Ray: {why}; {self.restarts} restarts in all"
        log.warning(message)
        self.logger.text("learner", message)

    def log(self, env_step: int) -> None:
        """``distributed/*`` scalars over env_step; the policy lag is the mean since the last call."""
        values = {
            "weight_push_count": float(self.publisher.push_count),
            "actor_restarts": float(self.restarts),
            "lost_collects": float(sum(c.lost_collects for c in self.counters)),
        }
        if self.policy_lags:
            values["policy_lag"] = sum(self.policy_lags) / len(self.policy_lags)
            self.policy_lags.clear()
        for key, value in values.items():
            self.logger.scalar(f"distributed/{key}", value, env_step)

    def state_dict(self) -> dict[str, Any]:
        """Every actor's counters, ``base_env_step`` and the weight push count (checkpoint extras)."""
        return {
            "actors": [asdict(c) for c in self.counters],
            "base_env_step": self.base_env_step,
            "weight_push_count": self.publisher.push_count,
        }

    def restore(self, state: Mapping[str, Any] | None, env_step: int) -> None:
        """Continue the counters of a checkpoint; without its state, the ``env_step`` a run starts from was
        counted before any actor (a serial checkpoint, or a new run at 0)."""
        if state is None:
            self.base_env_step = int(env_step)
            return
        saved = [ActorCounters(**counters) for counters in state["actors"]]
        # a run resumed with fewer actors keeps the others' counters, so the sum still adds up
        self.counters = saved + self.counters[len(saved) :]
        self.base_env_step = int(state["base_env_step"])
        self.publisher.push_count = int(state["weight_push_count"])

    def close(self) -> None:
        """Close every actor's envs (briefly waited for), then end the actors."""
        import ray

        closing = [actor.close.remote() for actor in self.actors]
        ray.wait(closing, num_returns=len(closing), timeout=10)
        for actor in self.actors:
            ray.kill(actor)
