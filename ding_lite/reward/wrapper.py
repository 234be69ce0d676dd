"""``env.reward_classifier``: an env whose reward is a trained success classifier's verdict.

    env=dict(..., reward_classifier=dict(pretrained_path='rc_seed0/checkpoints/best/pretrained_model',
                                         success_threshold=0.5, success_reward=1.0, terminate_on_success=True))

The key names are LeRobot's (``RewardClassifierProcessorStep``). After every ``step`` the classifier judges
the observation the step returned (the one its training labels were paired with,
:mod:`ding_lite.reward.labels`): ``p = sigmoid(logit)``; the step is a success when ``p >
success_threshold`` (strictly, as LeRobot's ``predict_reward``: ``probs > threshold``); the reward is
``success_reward`` on a success and 0.0 otherwise; with ``terminate_on_success`` a success also ends the
episode (``terminated``). LeRobot sets the reward to ``success_reward`` on a success and leaves the
incoming reward alone otherwise; on its real-robot path that incoming reward is 0, so both come to
``float(success) * success_reward``. A simulated env's own reward (Reacher's distance) is dense, so by
default it is replaced, not kept, on the other steps too; ``keep_env_reward=True`` keeps it there, which is
LeRobot's rule on an env with a reward of its own.

The env's own reward is not lost: for each episode the wrapper sums it, and when the episode ends
``last_episode_extras`` holds ``env_reward`` (its return), ``classifier_success`` (1.0 when some step was
judged a success) and ``classifier_success_steps``. The collector logs their means beside its
``reward_mean`` (the classifier's return) and ``ding -m eval`` reports them in ``eval_result.json``, so
where the two disagree is in the logs.

The classifier's state features are read from the env's state observation (``obs_type`` 'state' or
'pixels_state'; each feature the slice the classifier's ``env_observation`` gives it, else the whole of
it), its camera feature from the env's uint8 frames scaled by 1/255 (the datasets' [0, 1] convention). A
folder that is missing, not a reward classifier's, or whose inputs do not fit the env's observations is
one :class:`ConfigError` when the env is built. The classifier is stateless, so ``state_dict`` is the
wrapped env's plus the running episode's sums: exact resume goes through the wrapper.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from ding_lite.envs.base import BaseEnv, EnvSpec, EnvWrapper, StepResult
from ding_lite.errors import ConfigError
from ding_lite.reward.classifier import ClassifierSpec, RewardClassifierModel, load_folder
from ding_lite.utils.obs import take

KEY = "env.reward_classifier"


def reward_classifier_defaults() -> dict[str, Any]:
    """The ``env.reward_classifier`` section (LeRobot's names)."""
    return dict(
        pretrained_path="",  # a reward classifier's pretrained_model/ folder; '' leaves the env's reward alone
        success_threshold=0.5,  # a step succeeds when the classifier's P(success) is above this
        success_reward=1.0,  # the reward of a successful step; every other step gets 0.0
        terminate_on_success=True,  # a successful step ends the episode (terminated)
        keep_env_reward=False,  # True: the env's own reward on the steps that are not a success (LeRobot's rule)
    )


class ObservationReader:
    """The classifier's inputs from one env observation; built only when they fit (else ConfigError)."""

    def __init__(self, spec: ClassifierSpec, env_spec: EnvSpec, path: str) -> None:
        where = f"the reward classifier at '{path}' ({KEY}.pretrained_path)"
        obs_type = env_spec.obs_type
        state_shape = env_spec.obs_shape if obs_type == "state" else env_spec.state_shape
        if spec.image_feature is not None:
            if obs_type == "state":
                raise ConfigError(f"{where} observes the camera feature '{spec.image_feature}' but env.obs_type is "
                                  "'state'; set env.obs_type to 'pixels_state' (or 'pixels')")  # fmt: skip
            shape = list(spec.image_shape or ())
            if tuple(env_spec.obs_shape) != spec.image_shape:
                raise ConfigError(f"{where} takes frames of shape {shape} but the env gives "
                                  f"{list(env_spec.obs_shape)}; set env.image_size to {shape[1]}")  # fmt: skip
        if spec.state_features and state_shape is None:
            raise ConfigError(f"{where} takes the state feature(s) {', '.join(spec.state_features)} but env.obs_type "
                              f"'{obs_type}' gives frames only; set env.obs_type to 'pixels_state'")  # fmt: skip
        width = int(np.prod(state_shape)) if state_shape is not None else 0
        self.slices: list[slice] = []
        for name, size in spec.state_features.items():
            start, stop = spec.env_observation.get(name, (0, width))
            if stop - start != size or stop > width or start < 0:
                raise ConfigError(f"{where} takes '{name}' of size {size} but the env's state observation gives "
                                  f"[{start}, {stop}) of {width} values; use a classifier trained on this env's "
                                  "observations (policy.model.env_observation maps features to slices)")  # fmt: skip
            self.slices.append(slice(start, stop))
        self.obs_type = obs_type
        self.image = spec.image_feature is not None

    def __call__(self, obs: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(state (1, D) float32, frame (1, C, H, W) in [0, 1] or None)."""
        state = obs["state"] if self.obs_type == "pixels_state" else obs if self.obs_type == "state" else None
        flat = np.zeros(0, np.float32) if state is None else np.asarray(state, dtype=np.float32).reshape(-1)
        parts = [flat[s] for s in self.slices]
        state_tensor = torch.from_numpy(np.concatenate(parts) if parts else np.zeros(0, np.float32))[None]
        if not self.image:
            return state_tensor, None
        frame = obs["image"] if self.obs_type == "pixels_state" else obs
        return state_tensor, torch.from_numpy(np.asarray(frame)).float()[None] / 255.0


class RewardClassifierEnv(EnvWrapper):
    """``env`` with its reward replaced by the classifier's verdict (module docstring); the rest delegated."""

    supports_state: ClassVar[bool] = False

    def __init__(self, env: BaseEnv, classifier: RewardClassifierModel, reader: ObservationReader,
                 settings: Mapping[str, Any]) -> None:  # fmt: skip
        super().__init__(env)
        self.classifier, self.reader = classifier, reader
        self.success_threshold = float(settings["success_threshold"])
        self.success_reward = float(settings["success_reward"])
        self.terminate_on_success = bool(settings["terminate_on_success"])
        self.keep_env_reward = bool(settings.get("keep_env_reward", False))
        self._env_return, self._successes = 0.0, 0
        self.last_episode_extras: dict[str, float] | None = None  # of the episode that ended last

    @property
    def spec(self) -> EnvSpec:  # type: ignore[override]
        return self.env.spec

    @torch.no_grad()
    def success_probability(self, obs: Any) -> float:
        """The classifier's P(success) for one observation, as the env returns it."""
        return float(torch.sigmoid(self.classifier(*self.reader(obs)))[0])

    def relabel(self, transitions: dict[str, Any]) -> dict[str, Any]:
        """Demonstrations judged as the env's steps are: each transition's reward from the classifier on its
        ``next_obs`` (and ``done`` on a success with ``terminate_on_success``), so offline and online batches
        share one reward function; with ``keep_env_reward`` the recorded reward stays where it is no success.
        A terminal's placeholder ``next_obs`` is its own observation."""
        next_obs = transitions["next_obs"]
        success = np.array([self.success_probability(take(next_obs, i)) > self.success_threshold
                            for i in range(len(transitions["reward"]))], dtype=bool)  # fmt: skip
        out = dict(transitions)
        other = transitions["reward"] if self.keep_env_reward else 0.0
        out["reward"] = np.where(success, self.success_reward, other).astype(np.float32)
        if self.terminate_on_success:
            out["done"] = transitions["done"] | success
        return out

    def seed(self, seed: int) -> None:
        self.env.seed(seed)

    def reset(self) -> Any:
        self._env_return, self._successes = 0.0, 0
        return self.env.reset()

    def step(self, action: Any) -> StepResult:
        obs, env_reward, terminated, truncated = self.env.step(action)
        success = self.success_probability(obs) > self.success_threshold
        self._env_return += float(env_reward)
        self._successes += int(success)
        terminated = bool(terminated) or (success and self.terminate_on_success)
        if terminated or truncated:
            self.last_episode_extras = {"env_reward": self._env_return,
                                        "classifier_success": float(self._successes > 0),
                                        "classifier_success_steps": float(self._successes)}  # fmt: skip
        other = float(env_reward) if self.keep_env_reward else 0.0
        return obs, self.success_reward if success else other, terminated, bool(truncated)


class StatefulRewardClassifierEnv(RewardClassifierEnv):
    """A :class:`RewardClassifierEnv` of an env that can save its state."""

    supports_state: ClassVar[bool] = True

    def state_dict(self) -> dict[str, Any]:
        return {"kind": "reward_classifier", "env": self.env.state_dict(), "env_return": self._env_return,
                "successes": self._successes, "last_episode_extras": self.last_episode_extras}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != "reward_classifier":
            raise ValueError(
                f"state_dict was saved from a {state.get('kind')!r} env, not a reward-classifier-wrapped one"
            )
        self.env.load_state_dict(state["env"])
        self._env_return, self._successes = float(state["env_return"]), int(state["successes"])
        extras = state["last_episode_extras"]
        self.last_episode_extras = None if extras is None else {k: float(v) for k, v in extras.items()}


def with_reward_classifier(env: BaseEnv, settings: Mapping[str, Any] | None) -> BaseEnv:
    """``env`` itself when ``settings`` (the ``env.reward_classifier`` section) names no ``pretrained_path``,
    else ``env`` wrapped in a :class:`RewardClassifierEnv` of that folder's classifier."""
    path = str((settings or {}).get("pretrained_path") or "")
    if not path:
        return env
    assert settings is not None
    full = {**reward_classifier_defaults(), **settings}
    model, spec = load_folder(path, f"{KEY}.pretrained_path")
    reader = ObservationReader(spec, env.spec, path)
    wrapper = StatefulRewardClassifierEnv if env.supports_state else RewardClassifierEnv
    return wrapper(env, model, reader, full)
