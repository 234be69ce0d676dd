"""The intervening controller: what acts where the agent goes wrong (``policy.intervention``).

Every source gives the same thing: a function from an observation batch of N envs (an array, or a dict of
arrays for ``obs_type='pixels_state'``) to an action batch in the policy's action space, float32 (N, A) in
[-1, 1] for continuous actions, integer (N,) indices for discrete ones. The sources:

- ``pretrained_path``: a policy for the same env, acting deterministically (its eval action: SAC's
  ``tanh`` of the mean, DQN's argmax). A ding_lite ``pretrained_model/`` folder (``ding export``,
  ``export_best``) is rebuilt from its own ``config.json``, so the expert may have another architecture than
  the agent; its observation and action features must be this config's. A checkpoint (``.pth.tar``) is
  loaded into a policy of this config, every tensor fitting.
- ``controller='package.module:function'``: the module is imported when the run is built.
- from Python, any callable: ``serial_pipeline(cfg, seed, intervention=fn)``, ``record(..., intervention=fn)``.

Actions are checked on every call (shape, dtype, finite) and continuous ones are clipped into [-1, 1].
For exact resume a controller must be a function of the observation: a callable's own state is not saved.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ding_lite.checkpoint.partial import partial_load
from ding_lite.checkpoint.pretrained import CONFIG_FILE, feature_differences, pretrained_folder, read_weights
from ding_lite.envs.base import EnvSpec
from ding_lite.errors import CheckpointError, ConfigError
from ding_lite.utils.obs import Obs

if TYPE_CHECKING:
    from ding_lite.policy.base import Policy

Controller = Callable[[Obs], np.ndarray]
KEY = "policy.intervention"


def resolve_controller(
    intervention_cfg: Mapping[str, Any], policy_cfg: Mapping[str, Any], given: Controller | None
) -> tuple[Controller, str] | None:
    """``(controller, its name)`` from the config or ``given`` (a Python callable); None when neither names one."""
    path = str(intervention_cfg.get("pretrained_path") or "")
    spec = str(intervention_cfg.get("controller") or "")
    if path and spec:
        raise ConfigError(f"{KEY} sets both pretrained_path and controller; keep one of them")
    if given is not None:
        if path or spec:
            raise ConfigError(
                f"an intervention callable was passed from Python and {KEY} also names "
                f"'{path or spec}'; keep one of them"
            )
        if not callable(given):
            raise ConfigError(f"the intervention passed from Python is a {type(given).__name__}, not a callable")
        return given, getattr(given, "__qualname__", type(given).__name__)
    if spec:
        return import_controller(spec), spec
    if path:
        return pretrained_controller(path, policy_cfg), path
    return None


def import_controller(spec: str) -> Controller:
    """The function ``'package.module:function'`` names."""
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ConfigError(f"{KEY}.controller is {spec!r}; write it as 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(
            f"{KEY}.controller {spec!r}: cannot import '{module_name}' ({err}); install it or add its folder to "
            "PYTHONPATH"
        ) from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ConfigError(f"{KEY}.controller {spec!r}: module '{module_name}' has no function '{name}'")
    controller: Controller = function
    return controller


def acting_policy(path: str | Path, policy_cfg: Mapping[str, Any], what: str = "checkpoint") -> Policy:
    """A policy built from ``policy_cfg`` holding the weights at ``path`` (each tensor must fit exactly)."""
    from ding_lite.policy import POLICY_REGISTRY

    weights, _ = read_weights(path, what=what)
    with torch.random.fork_rng(devices=[]):  # drawing the weights it replaces leaves the run's generator alone
        policy = POLICY_REGISTRY.get(str(policy_cfg["type"]))(policy_cfg)
    partial_load(policy.model, weights, source=str(path), strict=True, hint="")
    return policy


def pretrained_controller(path: str, policy_cfg: Mapping[str, Any]) -> Controller:
    """The eval-mode actions of the policy at ``path`` (module docstring)."""
    where = f"{KEY}.pretrained_path '{path}'"
    if not Path(path).exists():
        raise ConfigError(f"{where} does not exist; give a pretrained_model/ folder or a checkpoint")
    folder = pretrained_folder(Path(path)) if Path(path).is_dir() else None
    meta_path = folder / CONFIG_FILE if folder is not None else None
    meta = json.loads(meta_path.read_text()) if meta_path is not None and meta_path.is_file() else None
    try:
        if folder is not None and meta is not None and "policy" in meta:  # a ding_lite folder: its own config
            differences = feature_differences(meta, policy_cfg)
            if differences:
                raise ConfigError(
                    f"{where} does not act in this env: {'; '.join(differences)}; give a policy trained on this env"
                )
            from ding_lite.policy.base import Policy

            with torch.random.fork_rng(devices=[]):  # as in acting_policy
                policy = Policy.from_pretrained(folder)
        else:
            policy = acting_policy(path, policy_cfg, what=where)
    except CheckpointError as err:
        raise ConfigError(f"{where}: {err}; give a policy of this config's type and shapes") from None
    forward: Controller = policy.eval_mode.forward
    return forward


def checked_actions(raw: Any, count: int, spec: EnvSpec, action_shape: int, name: str) -> np.ndarray:
    """The controller's actions for ``count`` envs in the policy's space; a wrong batch is a ConfigError."""
    actions = np.asarray(raw)
    if spec.action_kind == "discrete":
        fits = actions.size == count and (np.issubdtype(actions.dtype, np.integer) or actions.dtype == bool)
        index = actions.reshape(-1).astype(np.int64) if fits else None
        if index is None or index.min(initial=0) < 0 or index.max(initial=0) >= action_shape:
            raise ConfigError(
                f"the intervention controller {name} returned {actions.dtype} {list(actions.shape)} for {count} "
                f"observations; it must return {count} action indices in [0, {action_shape})"
            )
        return index
    if actions.size != count * action_shape or not np.issubdtype(actions.dtype, np.number):
        raise ConfigError(
            f"the intervention controller {name} returned {actions.dtype} {list(actions.shape)} for {count} "
            f"observations; it must return float actions of shape [{count}, {action_shape}] in [-1, 1]"
        )
    actions = actions.reshape(count, action_shape).astype(np.float32)
    if not np.isfinite(actions).all():
        raise ConfigError(f"the intervention controller {name} returned non-finite actions; return numbers in [-1, 1]")
    return np.clip(actions, -1.0, 1.0)
