"""Envs in worker processes: the ``subprocess`` and ``async_subprocess`` env managers.

:class:`SubprocessEnvManager` has the interface and the :class:`~ding_lite.envs.manager.VecStep` results of
the in-process :class:`~ding_lite.envs.manager.VectorEnvManager`: for the same seed and actions the
transitions are identical. ``env_num`` envs are spread over ``workers`` processes (contiguous groups; one
per env by default, as in DI-engine), each building its envs from the env config
(:mod:`ding_lite.envs.env_worker`). All workers step at once and the manager waits for all of them, so
``async_subprocess`` behaves exactly like ``subprocess`` (``wait_num`` and ``step_wait_timeout`` have no effect).

Transport: observations go through shared memory (:mod:`ding_lite.envs.obs_slots`); actions, rewards,
flags, episode extras and env states go through pipes, pickled by multiprocessing between our own processes
only. Nothing is unpickled from disk. Workers start with the ``context`` key's method, where ``'fork'``
(DI-engine's default) runs as ``'forkserver'``: a forked copy of a process running torch threads can deadlock.

Failures. A worker whose env raises, whose process dies, or that does not answer within ``step_timeout``
(a step), ``reset_timeout`` (a reset) or ``connect_timeout`` (building its envs) seconds is killed and
replaced by a fresh one built from the config, after ``retry_waiting_time`` seconds. The episodes of all its
envs are dropped (``VecStep.dropped``: that step never happened and the episode has no return), its envs
start new episodes, and :attr:`restarts` and :attr:`dropped_episodes` count it. A replaced env ``i`` is
seeded ``seed + i + env_num * k`` for its k-th replacement (``seed + i`` if it had not been reset since the
last :meth:`seed`), so a run with the same failures replays the same episodes. When one env fails
``max_retry`` times in a row (without a successful step in between; 1, DI-engine's default, stops at the
first failure) the workers are shut down and :class:`~ding_lite.errors.EnvWorkerError` names the env and
its last error. A failure while saving or loading env states cannot be repaired and raises at once.

This process builds one env from the config too (the ``shadow``, never reset or stepped) for ``spec``,
``fps`` and the action mapping of ``manager.envs[i]`` (:mod:`ding_lite.envs.env_view`). Workers import the
main module, as with any ``spawn``/``forkserver`` process: a script that builds this manager must do it
under ``if __name__ == '__main__':``.
"""

from __future__ import annotations

import pickle
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ding_lite.envs.base import ENV_REGISTRY, BaseEnv
from ding_lite.envs.env_view import EnvView
from ding_lite.envs.env_worker import Failure, Worker, WorkerSpec, gather, shutdown, worker_context
from ding_lite.envs.manager import ENV_MANAGER_REGISTRY, VecStep, VectorEnvManager, make_env
from ding_lite.envs.obs_slots import ObsSlots, obs_layout
from ding_lite.errors import ConfigError, EnvWorkerError
from ding_lite.utils.obs import Obs, map_obs, obs_from_state, obs_to_state, put, take


@ENV_MANAGER_REGISTRY.register("subprocess", "async_subprocess")
class SubprocessEnvManager(VectorEnvManager):
    """``env_num`` envs made from ``env_cfg`` (or ``env_fn``, which must be importable by name) in worker
    processes; see the module docstring. Call :meth:`close` (the owner of the run does) to stop them."""

    def __init__(
        self, env_cfg: Mapping[str, Any], cfg: Mapping[str, Any], env_num: int, env_fn: Callable[[], Any] | None = None
    ) -> None:
        if env_fn is not None:
            _check_importable(env_fn)
        shadow = make_env(env_cfg, env_fn)
        self._views = [EnvView(shadow, i) for i in range(env_num)]
        super().__init__(self._views, cfg)
        self._shadow = shadow
        try:
            layout = obs_layout(shadow.spec)
        except RuntimeError:
            shadow.close()
            raise ConfigError("env_manager.type 'subprocess' needs an env whose spec is known before reset(); give "
                              "the env an observation_space or use env_manager.type 'base'") from None  # fmt: skip
        self.restarts = 0
        self.dropped_episodes = 0
        self._seed: int | None = None
        self._seed_unused = [False] * env_num  # seeded, and not reset since: a replacement takes the same seed
        self._failures = [0] * env_num  # consecutive failures per env
        self._renewals = [0] * env_num
        self._max_retry = max(1, int(self.cfg["max_retry"]))
        self._ctx = worker_context(str(self.cfg["context"]))
        self._slots = ObsSlots.create(layout, env_num)
        self._workers: list[Worker] = []
        self._finalizer = weakref.finalize(self, _release, self._workers, self._slots, shadow)
        plain_cfg = _plain(env_cfg)
        env_cls = None if env_fn is not None else ENV_REGISTRY.get(str(env_cfg.get("type", "")))
        count = min(env_num, int(self.cfg["workers"] or env_num))
        for rows in np.array_split(np.arange(env_num), count):
            group = tuple(int(i) for i in rows)
            spec = WorkerSpec(plain_cfg, env_cls, env_fn, group, self._slots.name, layout, env_num)
            self._workers.append(Worker(self._ctx, spec))
        _, failures = gather(self._workers, self._timeout("connect_timeout"), "start-up")
        for k, failure in failures.items():
            self._recover(k, failure, reset=False)

    @classmethod
    def build(
        cls, env_cfg: Mapping[str, Any], cfg: Mapping[str, Any], env_num: int, env_fn: Callable[[], Any] | None = None
    ) -> SubprocessEnvManager:
        return cls(env_cfg, cfg, env_num, env_fn)

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """DI-engine's keys (those that act here: ``max_retry``, ``step_timeout``, ``reset_timeout``,
        ``retry_waiting_time``, ``connect_timeout``, ``context``), and ``workers``: the number of worker
        processes the envs are spread over (None: one per env)."""
        return {**super().default_config(), "type": "subprocess", "workers": None}

    def failure_counts(self) -> dict[str, float]:
        return {"env_restarts": float(self.restarts), "env_dropped_episodes": float(self.dropped_episodes)}

    @property
    def worker_pids(self) -> list[int | None]:
        """The process ids of the workers, in order of their envs."""
        return [worker.process.pid for worker in self._workers]

    @property
    def shared_memory_name(self) -> str:
        """The name of the observation segment (``/dev/shm/<name>`` on Linux)."""
        return self._slots.name

    def seed(self, seed: int) -> None:
        """Seed env ``i`` with ``seed + i``; takes effect at each env's next reset."""
        self._check_open()
        self._seed, self._seed_unused = seed, [True] * self.env_num
        for worker in self._workers:
            worker.send("seed", [seed + i for i in worker.rows])
        self._repair(gather(self._workers, self._timeout("step_timeout"), "seed")[1], reset=False)

    def reset(self) -> Obs:
        self._check_open()
        for worker in self._workers:
            worker.send("reset", [(i, None) for i in worker.rows])
        self._repair(gather(self._workers, self._timeout("reset_timeout"), "reset")[1], reset=True)
        self._seed_unused = [False] * self.env_num
        self._obs = self._slots.read("reset")
        self._ret, self._len = [0.0] * self.env_num, [0] * self.env_num
        return map_obs(np.copy, self._obs)

    def step(self, actions: np.ndarray | Sequence[Any]) -> VecStep:
        """Step every env in its worker; ended episodes are reset there, failed workers replaced."""
        self._check_open()
        acts = self._step_actions(actions)
        n = self.env_num
        for worker in self._workers:
            worker.send("step", [acts[i] for i in worker.rows])
        replies, failures = gather(self._workers, self._timeout("step_timeout"), "step")
        next_obs = self._slots.read("step")
        reward, done, truncated = np.zeros(n, np.float32), np.zeros(n, bool), np.zeros(n, bool)
        ep_ret, ep_len, dropped = self._nan.copy(), self._zeros.copy(), np.zeros(n, bool)
        ended: dict[int, list[int]] = {}
        for k, results in replies.items():
            for i, (r, te, tr, extras) in zip(self._workers[k].rows, results, strict=True):
                reward[i] = r
                self._ret[i] += r
                self._len[i] += 1
                self._failures[i] = 0
                if te or tr:
                    done[i], truncated[i] = True, tr and not te
                    ep_ret[i], ep_len[i] = self._ret[i], self._len[i]
                    self._ret[i], self._len[i] = 0.0, 0
                    self._views[i].last_episode_extras = extras
                    ended.setdefault(k, []).append(i)
        for k in failures:
            self._drop(self._workers[k].rows, dropped, reward, next_obs)
        self._repair(failures, reset=True)
        resetting = sorted(ended)
        for k in resetting:
            self._workers[k].send("reset", [(i, None) for i in ended[k]])
            for i in ended[k]:
                self._seed_unused[i] = False
        _, reset_failures = gather([self._workers[k] for k in resetting], self._timeout("reset_timeout"), "reset")
        reset_failures = {resetting[j]: failure for j, failure in reset_failures.items()}
        for k in reset_failures:  # the episodes that ended are real; the others of that worker are lost
            self._drop([i for i in self._workers[k].rows if not done[i]], dropped, reward, next_obs)
        self._repair(reset_failures, reset=True)
        obs = map_obs(np.copy, next_obs)
        fresh = [i for i in range(n) if done[i] or dropped[i]]
        if fresh:
            self._slots.read_into("reset", obs, fresh)
        self._obs = obs
        return VecStep(obs, next_obs, reward, done, truncated, ep_ret, ep_len, dropped)

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`VectorEnvManager.state_dict` (the envs' states come from their workers), plus the
        failure counters; loads into either manager."""
        if not self._shadow.supports_state:
            raise NotImplementedError(f"env {type(self._shadow).__name__} cannot save its state")
        states = self._ask_all("state", [None] * len(self._workers), "saving its state")
        return {
            "kind": "vector_env_manager",
            "env_num": self.env_num,
            "obs": None if self._obs is None else obs_to_state(self._obs),
            "episode_return": list(self._ret),
            "episode_length": list(self._len),
            "envs": [state for group in states for state in group],
            "restarts": self.restarts,
            "dropped_episodes": self.dropped_episodes,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("env_num") != self.env_num:
            raise ValueError(f"state_dict holds {state.get('env_num')} envs, this manager has {self.env_num}")
        envs = state["envs"]
        self._ask_all("load", [[envs[i] for i in worker.rows] for worker in self._workers], "loading its state")
        self._obs = None if state["obs"] is None else obs_from_state(state["obs"])
        self._ret = [float(v) for v in state["episode_return"]]
        self._len = [int(v) for v in state["episode_length"]]
        self.restarts = int(state.get("restarts", 0))
        self.dropped_episodes = int(state.get("dropped_episodes", 0))

    def close(self) -> None:
        """Stop every worker (kill those that do not exit within a second), remove the shared memory."""
        self._closed = True
        self._finalizer()

    def __repr__(self) -> str:
        env = type(self._shadow).__name__
        return f"{type(self).__name__}(env_num={self.env_num}, workers={len(self._workers)}, env={env})"

    # --- failures ---------------------------------------------------------------------------------------
    def _timeout(self, key: str) -> float | None:
        value = self.cfg.get(key)
        return None if value is None else float(value)

    def _drop(self, rows: Sequence[int], dropped: np.ndarray, reward: np.ndarray, next_obs: Obs) -> None:
        """Mark the running episodes of ``rows`` as dropped (VecStep docstring)."""
        for i in rows:
            dropped[i], reward[i] = True, 0.0
            put(next_obs, i, take(self._obs, i))
            self._ret[i], self._len[i] = 0.0, 0
            self.dropped_episodes += 1

    def _repair(self, failures: Mapping[int, Failure], reset: bool) -> None:
        for k, failure in failures.items():
            self._recover(k, failure, reset)

    def _recover(self, k: int, failure: Failure, reset: bool) -> None:
        """Replace worker ``k`` until its new envs are built (and reset when ``reset``), or give up."""
        while True:
            worker = self._workers[k]
            blamed = [failure.row] if failure.row is not None else list(worker.rows)
            for i in blamed:
                self._failures[i] += 1
            if max(self._failures[i] for i in blamed) >= self._max_retry:
                self.close()
                raise EnvWorkerError(self._give_up_message(blamed, failure))
            worker.kill()
            self.restarts += 1
            time.sleep(float(self.cfg["retry_waiting_time"] or 0.0))
            seeds = [self._replacement_seed(i) for i in worker.rows]
            self._workers[k] = worker = Worker(self._ctx, worker.spec)
            failed = gather([worker], self._timeout("connect_timeout"), "start-up")[1]
            if not failed and reset:
                worker.send("reset", list(zip(worker.rows, seeds, strict=True)))
                failed = gather([worker], self._timeout("reset_timeout"), "reset")[1]
            elif not failed and self._seed is not None:
                worker.send("seed", seeds)
                failed = gather([worker], self._timeout("step_timeout"), "seed")[1]
            if not failed:
                for i in worker.rows:
                    self._seed_unused[i] = self._seed_unused[i] and not reset
                return
            failure = failed[0]

    def _give_up_message(self, blamed: Sequence[int], failure: Failure) -> str:
        who = f"env {blamed[0]}" if len(blamed) == 1 else f"envs {blamed[0]}-{blamed[-1]} (one worker)"
        count, limit = self._failures[blamed[0]], self.cfg["max_retry"]
        if count <= 1:
            return f"{who} failed and env.manager.max_retry={limit} allows no retry: {failure.reason}"
        return f"{who} failed {count} times in a row (env.manager.max_retry={limit}); the last time {failure.reason}"

    def _replacement_seed(self, i: int) -> int | None:
        if self._seed is None:
            return None
        if self._seed_unused[i]:
            return self._seed + i
        self._renewals[i] += 1
        return self._seed + i + self.env_num * self._renewals[i]

    def _ask_all(self, command: str, args: Sequence[Any], what: str) -> list[Any]:
        """Every worker's answer to a request that cannot be repaired by replacing a worker."""
        self._check_open()
        for worker, arg in zip(self._workers, args, strict=True):
            worker.send(command, arg)
        replies, failures = gather(self._workers, self._timeout("step_timeout"), what)
        if failures:
            k, failure = next(iter(failures.items()))
            row = self._workers[k].rows[0] if failure.row is None else failure.row
            self.close()
            raise EnvWorkerError(f"env {row} failed where its worker cannot be replaced: {failure.reason}")
        return [replies[k] for k in range(len(self._workers))]


def _check_importable(env_fn: Callable[[], Any]) -> None:
    try:
        pickle.dumps(env_fn)
    except (pickle.PicklingError, AttributeError, TypeError):
        raise ConfigError(
            f"env_fn {env_fn!r} cannot be sent to env worker processes; with env_manager.type 'subprocess' pass a "
            "function or class defined at the top level of a module"
        ) from None


def _plain(value: Any) -> Any:
    """A config tree as plain dicts and lists (what workers receive)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _release(workers: list[Worker], slots: ObsSlots, shadow: BaseEnv) -> None:
    """Stop the workers, then remove the shared memory; run once, by close() or at garbage collection."""
    shutdown(workers)
    slots.close()
    shadow.close()
