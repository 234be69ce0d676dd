"""In-process vectorised env manager: N envs stepped in lock-step with automatic reset.

The DI-engine manager names ``base`` and ``base_v2`` map to the in-process :class:`VectorEnvManager`, the
default: for cheap envs a python loop over the envs is faster than any inter-process transport. DI-engine's
manager config keys are accepted; those about processes, retries and timeouts have no meaning here and are
ignored. ``subprocess`` and ``async_subprocess`` run the envs in worker processes
(:mod:`ding_lite.envs.subprocess_manager`), with the same :class:`VecStep` results.

Invariant between calls: ``_obs`` holds the observation every env will act on next, and ``_ret``/``_len``
hold the return and length of each env's running episode (both zero right after a reset).

Observations are batched with a leading env dimension: float32 state vectors, uint8 ``(3, H, W)`` frames
(``obs_type='pixels'``) or a dict of both (``'pixels_state'``, batched key by key; see
:mod:`ding_lite.utils.obs`). Flat float32 observations take a fast path through the envs' list methods.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ding_lite.envs.adapter import adapt_env
from ding_lite.envs.base import ENV_REGISTRY, BaseEnv, EnvSpec
from ding_lite.envs.pixels import with_obs_type
from ding_lite.utils.obs import Obs, as_obs, obs_from_state, obs_to_state, put, stack_obs
from ding_lite.utils.registry import Registry


@dataclass
class VecStep:
    """One lock-step transition of all N envs; the arrays are fresh and never reused by the manager.

    ``obs`` is what to act on next (already the reset observation where an episode ended), ``next_obs``
    the true successor observation (the terminal one where ``done``). ``done`` is terminated or truncated;
    ``truncated`` marks episodes that ended *only* by truncation (the step limit), i.e. where bootstrapping
    from ``next_obs`` is valid. ``episode_return`` (float64) and ``episode_length`` are the finished
    episode's totals where ``done``, NaN and 0 elsewhere.

    ``dropped`` marks envs whose episode was abandoned at this step because their worker process failed
    (only the subprocess manager sets it): their step never happened, so ``reward`` (0), ``next_obs`` (the
    observation acted on) and ``done`` (False) describe no transition and must not be stored, the episode
    has no return, and ``obs`` is the first observation of a new episode. Always False in-process.
    """

    obs: Obs
    next_obs: Obs
    reward: np.ndarray
    done: np.ndarray
    truncated: np.ndarray
    episode_return: np.ndarray
    episode_length: np.ndarray
    dropped: np.ndarray


ENV_MANAGER_REGISTRY = Registry[type["VectorEnvManager"]]("env manager")
"""Manager type name (the config's ``env.manager.type``) -> manager class."""


@ENV_MANAGER_REGISTRY.register("base", "base_v2")
class VectorEnvManager:
    """Steps ``env_num`` envs sequentially in this process and auto-resets those whose episode ended.

    ``step(actions)`` takes ``(N,)`` ints for discrete envs or ``(N, act_dim)`` floats for continuous ones.
    The ``obs`` array of the latest :class:`VecStep` (or :meth:`reset`) is kept as the manager's current
    observation: callers must not modify it in place if they rely on :meth:`state_dict`.
    """

    def __init__(self, envs: Sequence[BaseEnv], cfg: Mapping[str, Any] | None = None) -> None:
        if len(envs) == 0:
            raise ValueError("VectorEnvManager needs at least one env")
        self.cfg: dict[str, Any] = {**self.default_config(), **(dict(cfg) if cfg else {})}
        if not self.cfg.get("auto_reset", True):
            raise ValueError("VectorEnvManager only supports auto_reset=True")
        self.envs: list[BaseEnv] = list(envs)
        self.env_num = len(self.envs)
        self._step_fns = [env.step_list for env in self.envs]
        self._reset_fns = [env.reset_list for env in self.envs]
        self._obs: Obs | None = None
        self._flat = False  # observations are 1-D float32 arrays: use the list fast path
        self._ret = [0.0] * self.env_num
        self._len = [0] * self.env_num
        self._nan = np.full(self.env_num, np.nan)
        self._zeros = np.zeros(self.env_num, dtype=np.int64)
        self._none_dropped = np.zeros(self.env_num, dtype=bool)
        self._closed = False

    @classmethod
    def build(
        cls, env_cfg: Mapping[str, Any], cfg: Mapping[str, Any], env_num: int, env_fn: Callable[[], Any] | None = None
    ) -> VectorEnvManager:
        """``env_num`` envs made by :func:`make_env` in this process, managed by a new instance."""
        return cls([make_env(env_cfg, env_fn) for _ in range(env_num)], cfg)

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """DI-engine's env-manager keys; only ``auto_reset`` (must be True) and ``type`` matter here."""
        return {
            "type": "base",
            "episode_num": float("inf"),
            "max_retry": 1,
            "retry_type": "reset",
            "auto_reset": True,
            "step_timeout": None,
            "reset_timeout": None,
            "retry_waiting_time": 0.1,
            "shared_memory": False,
            "copy_obs": True,
            "copy_on_get": True,
            "context": "fork",
            "wait_num": float("inf"),
            "step_wait_timeout": None,
            "connect_timeout": 60,
            "reset_inplace": False,
            "cfg_type": "BaseEnvManagerDict",
        }

    def failure_counts(self) -> dict[str, float]:
        """Counters of env failures for the collector's logs; in-process envs are never restarted: empty."""
        return {}

    @property
    def spec(self) -> EnvSpec:
        """The spec of env 0 (all envs are assumed to share it)."""
        return self.envs[0].spec

    def seed(self, seed: int) -> None:
        """Seed env ``i`` with ``seed + i``; takes effect at each env's next reset."""
        for i, env in enumerate(self.envs):
            env.seed(seed + i)

    def reset(self) -> Obs:
        """Start a new episode in every env; returns the ``(N, *obs_shape)`` observations (float32 states,
        uint8 frames, or a dict of both)."""
        self._check_open()
        obs = stack_obs([as_obs(env.reset()) for env in self.envs])
        self._obs = obs
        self._flat = _is_flat(obs)
        self._ret = [0.0] * self.env_num
        self._len = [0] * self.env_num
        return _copy(obs)

    def _step_actions(self, actions: np.ndarray | Sequence[Any]) -> list[Any]:
        """One action per env, as a list; refuses a step before ``reset()`` or a batch of the wrong size."""
        if self._obs is None:
            raise RuntimeError(f"{type(self).__name__}.step called before reset()")
        acts = actions.tolist() if isinstance(actions, np.ndarray) else list(actions)
        if len(acts) != self.env_num:
            raise ValueError(f"expected {self.env_num} actions, got {len(acts)}")
        return acts

    def step(self, actions: np.ndarray | Sequence[Any]) -> VecStep:
        """Step every env with its action, auto-resetting envs whose episode ended."""
        acts = self._step_actions(actions)
        n = self.env_num
        ret, length = self._ret, self._len
        rows: list[Any] = []
        rewards: list[float] = []
        dones: list[bool] = []
        truncs: list[bool] = []
        ended: list[int] = []
        if self._flat:
            step_fns = self._step_fns
            for i in range(n):
                o, r, te, tr = step_fns[i](acts[i])
                rows.append(o)
                rewards.append(r)
                ret[i] += r
                length[i] += 1
                if te or tr:
                    ended.append(i)
                    dones.append(True)
                    truncs.append(not te)
                else:
                    dones.append(False)
                    truncs.append(False)
            next_obs = np.array(rows, dtype=np.float32)
        else:
            next_obs = _empty_like(self._obs)
            for i, env in enumerate(self.envs):
                step_obs, r, te, tr = env.step(acts[i])
                put(next_obs, i, step_obs)
                rewards.append(r)
                ret[i] += r
                length[i] += 1
                dones.append(te or tr)
                truncs.append(tr and not te)
                if te or tr:
                    ended.append(i)
        obs = next_obs.copy() if self._flat else _copy(next_obs)
        ep_ret = self._nan.copy()
        ep_len = self._zeros.copy()
        for i in ended:
            ep_ret[i] = ret[i]
            ep_len[i] = length[i]
            ret[i] = 0.0
            length[i] = 0
            if self._flat:
                obs[i] = self._reset_fns[i]()
            else:
                put(obs, i, self.envs[i].reset())
        self._obs = obs
        return VecStep(
            obs=obs,
            next_obs=next_obs,
            reward=np.array(rewards, dtype=np.float32),
            done=np.array(dones, dtype=bool),
            truncated=np.array(truncs, dtype=bool),
            episode_return=ep_ret,
            episode_length=ep_len,
            dropped=self._none_dropped.copy(),
        )

    def state_dict(self) -> dict[str, Any]:
        """Snapshot of the current observations, running episode stats and every env's state.

        Contains only python scalars, lists, dicts and str, and uint8 frames as torch tensors
        (``torch.load(weights_only=True)``-safe; see :func:`~ding_lite.utils.obs.obs_to_state`).
        Raises NotImplementedError when some env does not support state.
        """
        for i, env in enumerate(self.envs):
            if not env.supports_state:
                raise NotImplementedError(f"env {i} ({type(env).__name__}) cannot save its state")
        return {
            "kind": "vector_env_manager",
            "env_num": self.env_num,
            "obs": None if self._obs is None else obs_to_state(self._obs),
            "episode_return": list(self._ret),
            "episode_length": list(self._len),
            "envs": [env.state_dict() for env in self.envs],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` snapshot exactly: later steps equal those after the save."""
        if state.get("env_num") != self.env_num:
            raise ValueError(f"state_dict holds {state.get('env_num')} envs, this manager has {self.env_num}")
        for env, env_state in zip(self.envs, state["envs"], strict=True):
            env.load_state_dict(env_state)
        obs = state["obs"]
        self._obs = None if obs is None else obs_from_state(obs)
        self._flat = self._obs is not None and _is_flat(self._obs)
        self._ret = [float(v) for v in state["episode_return"]]
        self._len = [int(v) for v in state["episode_length"]]

    def close(self) -> None:
        """Close every env; idempotent. The manager cannot be reset afterwards."""
        if not self._closed:
            self._closed = True
            for env in self.envs:
                env.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("VectorEnvManager is closed")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(env_num={self.env_num}, env={type(self.envs[0]).__name__})"


def _is_flat(obs: Obs) -> bool:
    return isinstance(obs, np.ndarray) and obs.ndim == 2 and obs.dtype == np.float32


def _copy(obs: Obs) -> Obs:
    return {key: value.copy() for key, value in obs.items()} if isinstance(obs, dict) else obs.copy()


def _empty_like(obs: Obs) -> Obs:
    return {key: np.empty_like(value) for key, value in obs.items()} if isinstance(obs, dict) else np.empty_like(obs)


def make_env(
    env_cfg: Mapping[str, Any], env_fn: Callable[[], Any] | None = None, env_cls: type[BaseEnv] | None = None
) -> BaseEnv:
    """One env as ``env_cfg`` describes it: ``ENV_REGISTRY.get(env_cfg['type'])(env_cfg)`` (or
    ``env_cls(env_cfg)``, or ``adapt_env(env_fn())``), observing what ``env_cfg['obs_type']`` asks for
    (:mod:`ding_lite.envs.pixels`), rewarded by the classifier ``env_cfg['reward_classifier']`` names, if any
    (:mod:`ding_lite.reward.wrapper`)."""
    if env_fn is not None:
        env = adapt_env(env_fn())
    else:
        env = (env_cls or ENV_REGISTRY.get(str(env_cfg.get("type", ""))))(env_cfg)
    env = with_obs_type(env, env_cfg)
    if (env_cfg.get("reward_classifier") or {}).get("pretrained_path"):
        from ding_lite.reward.wrapper import with_reward_classifier  # torch is imported only when it is used

        env = with_reward_classifier(env, env_cfg["reward_classifier"])
    return env


def make_env_manager(
    env_cfg: Mapping[str, Any],
    manager_cfg: Mapping[str, Any],
    env_num: int,
    env_fn: Callable[[], Any] | None = None,
) -> VectorEnvManager:
    """Build ``env_num`` envs and wrap them in the manager type named by ``manager_cfg['type']``.

    Envs come from :func:`make_env`: ``ENV_REGISTRY.get(env_cfg['type'])(env_cfg)``, or
    ``adapt_env(env_fn())`` when ``env_fn`` is given (then ``env_cfg['type']`` is not needed), wrapped for
    ``env_cfg['obs_type']``; the manager type decides where (``build``: here, or in worker processes).
    Unknown type names raise :class:`~ding_lite.utils.registry.UnknownNameError` listing the known ones.
    """
    if env_num < 1:
        raise ValueError(f"env_num must be >= 1, got {env_num}")
    manager_cls = ENV_MANAGER_REGISTRY.get(str(manager_cfg.get("type", "base")))
    return manager_cls.build(env_cfg, manager_cfg, env_num, env_fn)
