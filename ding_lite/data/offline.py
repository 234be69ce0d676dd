"""Demonstrations from a LeRobot dataset as replay transitions (``policy.offline_dataset``).

The transitions have the online replay buffer's layout (:mod:`ding_lite.data.nstep` with n = 1), field for
field, dtype for dtype, so one TD target serves both buffers. For frame t of an episode:

- ``obs``: the ``obs_features`` of frame t, flattened and concatenated in the order given (float32);
- ``action``: frame t's ``action`` converted into the policy's action space (below);
- ``reward``: ``next.reward`` of frame t (float32); ``gamma_n``: the policy's discount (one step);
- ``done`` and ``next_obs``: ``next_obs`` is the observation of frame t+1 of the same episode, never of
  another episode. ``done`` means terminated (no bootstrap), as online (:mod:`ding_lite.data.nstep`). The
  last frame of an episode is one of:

  - a terminal: kept with ``done`` true. The dataset holds no observation after it, so ``next_obs``
    repeats ``obs``, a placeholder the TD target multiplies by ``1 - done = 0``;
  - a truncation (a time limit): no next observation exists, and bootstrapping is what the frame would
    need, so it is dropped (never marked terminal, never paired with its own observation).

  Which one: ``next.truncated`` (``ding record`` writes it) says so frame by frame. LeRobot's recorders
  set ``next.done`` at every ending, time limits included, so for their datasets ``episode_ends`` says:
  'done' (default) takes ``next.done`` as terminal, 'truncated' takes every ending as a time limit
  (Reacher, whose episodes only end at 50 steps). An ending without ``next.done`` is a truncation.
  With ``learn.ignore_done=True`` the TD target bootstraps through every ``done``, so a placeholder would
  be read: every final frame is dropped.

Action units: a dataset stores actions as the env applies them (``ding record`` writes
``env.native_action(a)``). The policy's continuous actions live in [-1, 1] (SAC's tanh, the warm-up's
uniform draws), and the env maps what it receives affinely into its own units (pendulum's
``act_scale``: times 2). The inverse is read off the env itself: :meth:`BaseEnv.native_action` at the two
ends of :meth:`BaseEnv.input_action_bounds` gives scale and offset per component. Discrete actions are
indices in both places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ding_lite.envs.base import BaseEnv
from ding_lite.errors import ConfigError
from ding_lite.model.pixels import parse_obs_shape
from ding_lite.utils.obs import Obs, take

POLICY_ACTION_RANGE = (-1.0, 1.0)  # continuous actions as the off-policy policies emit and store them
# Converted actions within this much of POLICY_ACTION_RANGE are clipped into it: float32 data mapped in
# float64 is off by a few 1e-7 at most; anything further out is an action the policy could never take.
RANGE_TOLERANCE = 1e-5


def offline_dataset_default_config() -> dict[str, Any]:
    return dict(
        root="",  # a LeRobot dataset of demonstrations, loaded into the offline buffer; '' for none
        episodes=None,  # a subset of its episode indices; None takes all
        ratio=0.5,  # fraction of every train batch drawn from the offline buffer (LeRobot: 0.5)
        obs_features=["observation.state"],  # features concatenated, in this order, into the observation
        # without a next.truncated column: 'done' (next.done ends are terminals) or 'truncated' (all are time limits)
        episode_ends="done",
        pretrain_updates=0,  # train iterations on the offline buffer alone before the first env step
        pretrain_actor_loss="sac",  # SAC's during pretraining, or 'td3_bc': TD3+BC's (critics' term + BC), SAC only
    )


@dataclass(frozen=True)
class Demonstrations:
    """The frames of a dataset's selected episodes; indices are frames, episodes are [start, stop)."""

    obs: Obs  # (F, D) float32 states, (F, 3, H, W) uint8 frames, or {'image', 'state'} of both
    action: np.ndarray  # (F, *action shape), in the env's native units
    reward: np.ndarray  # (F,) float32
    done: np.ndarray  # (F,) bool: terminated (module docstring)
    episode_start: np.ndarray
    episode_stop: np.ndarray


def read_demonstrations(
    offline_cfg: Mapping[str, Any], model_cfg: Mapping[str, Any], obs_type: str = "state"
) -> Demonstrations:
    """The dataset ``offline_cfg['root']``, its features checked against the model's observation size."""
    from ding_lite.datasets import DatasetError, LeRobotDataset  # pyarrow: imported only when a dataset is used

    root = str(offline_cfg["root"])
    where = f"policy.offline_dataset '{root}'"
    episodes = offline_cfg.get("episodes")
    try:
        ds = LeRobotDataset(
            root, episodes=None if episodes is None else [int(e) for e in episodes], image_dtype="uint8"
        )
    except DatasetError as err:
        raise ConfigError(f"policy.offline_dataset: {err}") from None
    names = [str(name) for name in offline_cfg.get("obs_features") or []]
    if not names:
        raise ConfigError(f"{where}: policy.offline_dataset.obs_features is empty; name the observation's features")
    for name in [*names, "action", "next.reward"]:
        if name not in ds.features:
            raise ConfigError(f"{where} has no feature '{name}'; its features are {', '.join(ds.features)}")
    images = [name for name in names if ds.features[name].visual]
    states = [name for name in names if not ds.features[name].visual]
    for name in states:
        feature = ds.features[name]
        if feature.dtype in ("string", "bool"):
            raise ConfigError(
                f"{where}: obs_features '{name}' is a {feature.dtype} feature of shape {list(feature.shape)}; "
                "only numeric state features can be concatenated into the observation"
            )
    wanted = {"state": (0, "no camera"), "pixels": (1, "one camera and no state"),
              "pixels_state": (1, "one camera and the state")}[obs_type]  # fmt: skip
    if len(images) != wanted[0] or (obs_type == "pixels") != (not states):
        raise ConfigError(f"{where}: env.obs_type '{obs_type}' observes {wanted[1]}, but obs_features names "
                          f"{len(images)} camera and {len(states)} state features")  # fmt: skip
    state = (
        np.concatenate([ds.arrays(n).reshape(len(ds), -1) for n in states], axis=1).astype(np.float32)
        if states
        else None
    )
    frames = ds.batch(np.arange(len(ds)), keys=images)[images[0]].numpy() if images else None  # (N, C, H, W) uint8
    image_shape, state_size = parse_obs_shape(model_cfg["obs_shape"])
    found_image = None if frames is None else tuple(frames.shape[1:])
    found_state = 0 if state is None else state.shape[1]
    if found_image != (None if image_shape is None else tuple(image_shape)) or found_state != state_size:
        shapes = ", ".join(f"'{n}' {list(ds.features[n].shape)}" for n in names)
        found = f"{found_state} values"
        if found_image is not None:
            found = f"frames {list(found_image)} and {found}"
        raise ConfigError(
            f"{where}: obs_features ({shapes}) give {found} per frame but policy.model.obs_shape is "
            f"{model_cfg['obs_shape']}"
        )
    obs: Obs = state if frames is None else frames if state is None else {"image": frames, "state": state}
    done = ds.arrays("next.done").reshape(-1).astype(bool) if "next.done" in ds.features else np.zeros(len(ds), bool)
    ends = str(offline_cfg.get("episode_ends", "done"))
    if "next.truncated" in ds.features:
        done &= ~ds.arrays("next.truncated").reshape(-1).astype(bool)
    elif ends == "truncated":
        done = np.zeros(len(ds), bool)
    elif ends != "done":
        raise ConfigError(f"{where}: episode_ends is {ends!r}; use 'done' or 'truncated'")
    return Demonstrations(
        obs=obs,
        action=ds.arrays("action"),
        reward=ds.arrays("next.reward").reshape(-1).astype(np.float32),
        done=done,
        episode_start=np.asarray(ds.episode_start, dtype=np.int64),
        episode_stop=np.asarray(ds.episode_stop, dtype=np.int64),
    )


def policy_actions(native: np.ndarray, env: BaseEnv, root: str, action_shape: int) -> np.ndarray:
    """Dataset actions (env units) as the policy stores them: float32 (F, A) in [-1, 1], or int64 (F,)."""
    where = f"policy.offline_dataset '{root}'"
    spec = env.spec
    shape = list(native.shape[1:])
    if spec.action_kind == "discrete":
        if shape not in ([], [1]) or not np.issubdtype(native.dtype, np.integer):
            raise ConfigError(f"{where}: 'action' is {native.dtype} {shape}; a discrete env needs integer [1] actions")
        index = native.reshape(-1).astype(np.int64)
        if len(index) and (index.min() < 0 or index.max() >= action_shape):
            raise ConfigError(
                f"{where}: 'action' holds indices {index.min()}..{index.max()} but policy.model.action_shape is "
                f"{action_shape}"
            )
        return index
    if shape != [action_shape]:
        raise ConfigError(f"{where}: 'action' has shape {shape} but policy.model.action_shape is {action_shape}")
    scale, offset = _input_from_native(env, action_shape)
    actions = native.astype(np.float64) * scale + offset
    low, high = POLICY_ACTION_RANGE
    if len(actions) and (actions.min() < low - RANGE_TOLERANCE or actions.max() > high + RANGE_TOLERANCE):
        found = (float(native.min()), float(native.max()))
        raise ConfigError(
            f"{where}: 'action' spans [{found[0]:.4g}, {found[1]:.4g}] in env '{type(env).__name__}' units, "
            f"[{actions.min():.4g}, {actions.max():.4g}] in the policy's action space [-1, 1], which it cannot "
            f"reach (the env takes {env.input_action_bounds()}); make the env take [-1, 1] "
            "(pendulum: env.act_scale=True)"
        )
    return np.clip(actions, low, high).astype(np.float32)


def _input_from_native(env: BaseEnv, action_shape: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-component ``scale`` and ``offset`` with ``input = native * scale + offset``, the inverse of the
    env's (affine) ``native_action``; the identity for an env that does not say its range."""
    bounds = env.input_action_bounds()
    if bounds is None:
        return np.ones(action_shape), np.zeros(action_shape)
    low, high = bounds
    probe = np.array([[low] * action_shape, [high] * action_shape, [(low + high) / 2] * action_shape], np.float32)
    at_low, at_high, at_mid = np.asarray(env.native_action(probe), dtype=np.float64)
    span = at_high - at_low
    if np.any(span == 0) or not np.allclose(at_mid, (at_low + at_high) / 2, rtol=0, atol=1e-6 * np.abs(span).max()):
        raise ConfigError(
            f"env '{type(env).__name__}' maps actions to its units in a way that is not affine, so dataset actions "
            "cannot be converted back for policy.offline_dataset"
        )
    scale = (high - low) / span
    return scale, low - at_low * scale


def build_transitions(
    demos: Demonstrations, actions: np.ndarray, gamma: float, ignore_done: bool
) -> dict[str, np.ndarray]:
    """One transition per frame that has a next observation or is a kept terminal (module docstring)."""
    frames = len(demos.reward)
    lengths = demos.episode_stop - demos.episode_start
    last = np.zeros(frames, dtype=bool)
    last[demos.episode_stop[lengths > 0] - 1] = True
    keep = ~last if ignore_done else ~last | demos.done
    rows = np.flatnonzero(keep)
    following = np.where(last[rows], rows, rows + 1)  # a kept final frame is a terminal: a placeholder
    return {
        "obs": take(demos.obs, rows),
        "action": actions[rows],
        "reward": demos.reward[rows],
        "gamma_n": np.full(len(rows), gamma, dtype=np.float32),
        "done": demos.done[rows],
        "next_obs": take(demos.obs, following),
    }


def load_offline_transitions(policy_cfg: Mapping[str, Any], env: BaseEnv, gamma: float) -> dict[str, np.ndarray] | None:
    """The transitions of ``policy_cfg['offline_dataset']``, or None when it names no dataset."""
    offline_cfg = policy_cfg.get("offline_dataset") or {}
    if not offline_cfg.get("root"):
        return None
    root = str(offline_cfg["root"])
    model_cfg = policy_cfg["model"]
    demos = read_demonstrations(offline_cfg, model_cfg, env.spec.obs_type)
    actions = policy_actions(demos.action, env, root, int(model_cfg["action_shape"]))
    ignore_done = bool(policy_cfg["learn"].get("ignore_done", False))
    transitions = build_transitions(demos, actions, gamma, ignore_done)
    if len(transitions["reward"]) == 0:
        raise ConfigError(
            f"policy.offline_dataset '{root}' yields no transitions: no frame has a next observation in its "
            "episode or is a terminal kept under learn.ignore_done=False"
        )
    return transitions
