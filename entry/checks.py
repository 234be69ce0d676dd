"""Mistakes caught before a run starts: each is one ConfigError naming the keys involved."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ding_lite.envs import EnvSpec
from ding_lite.errors import ConfigError
from ding_lite.policy import POLICY_REGISTRY

log = logging.getLogger("ding_lite")

WORKER_TYPES = {
    "policy.learn.learner.type": ("base",),
    "policy.collect.collector.type": ("sample",),
    "policy.eval.evaluator.type": ("interaction", "base"),
}


def check_config(cfg: Any, on_policy: bool | None) -> None:
    """Settings that cannot work together, found before any directory or env is created."""
    policy = cfg.policy
    policy_cls = POLICY_REGISTRY.get(str(policy.type))
    if on_policy is not None and policy_cls.on_policy != on_policy:
        mode, fn = (
            ("serial_onpolicy", "serial_pipeline_onpolicy") if policy_cls.on_policy else ("serial", "serial_pipeline")
        )
        kind = "on-policy" if policy_cls.on_policy else "off-policy"
        raise ConfigError(f"policy '{policy.type}' is {kind}: run it with -m {mode} ({fn})")
    for key, known in WORKER_TYPES.items():
        value = _get(cfg, key)
        if value not in known:
            raise ConfigError(f"{key} '{value}' is not available; known: {', '.join(known)}")
    if policy.get("priority"):
        raise ConfigError("policy.priority=True (prioritised replay) is not supported by ding_lite; set it to False")
    if policy.get("cuda"):
        log.warning("policy.cuda=True: ding_lite runs on the CPU")
    learn = policy.learn
    if learn.resume_training and not learn.learner.hook.load_ckpt_before_run:
        raise ConfigError(
            "policy.learn.resume_training=True needs a checkpoint: set "
            "policy.learn.learner.hook.load_ckpt_before_run, or run `ding ... --resume`"
        )
    if policy.type == "ppo" and str(policy.model.get("action_space")) != str(policy.action_space):
        raise ConfigError(
            f"policy.action_space is '{policy.action_space}' but policy.model.action_space is "
            f"'{policy.model.get('action_space')}'; set both to the same value"
        )


def check_env_fits(cfg: Any, spec: EnvSpec) -> None:
    """The model's observation and action shapes must be the env's."""
    model = cfg.policy.model
    if spec.obs_type == "state" and not isinstance(model.obs_shape, (Mapping, list, tuple)):
        if [int(model.obs_shape)] != list(spec.obs_shape):
            raise ConfigError(
                f"policy.model.obs_shape is {model.obs_shape} but env '{cfg.env.type}' observations have shape "
                f"{tuple(spec.obs_shape)}"
            )
    elif _plain(model.obs_shape) != _plain(spec.model_obs_shape()):
        raise ConfigError(
            f"policy.model.obs_shape is {_plain(model.obs_shape)} but env '{cfg.env.type}' with obs_type "
            f"'{spec.obs_type}' observes {_describe(spec)}; set policy.model.obs_shape={spec.model_obs_shape()}"
        )
    if spec.action_shape and int(model.action_shape) != int(spec.action_shape):
        raise ConfigError(
            f"policy.model.action_shape is {model.action_shape} but env '{cfg.env.type}' has "
            f"{spec.action_shape} {'actions' if spec.action_kind == 'discrete' else 'action dimensions'}"
        )


def _plain(shape: Any) -> Any:
    """An obs_shape with lists for tuples, ints for whole numbers and ``[D]`` as ``D``, for comparison."""
    if isinstance(shape, Mapping):
        return {str(k): _plain(v) for k, v in shape.items()}
    if isinstance(shape, (list, tuple)):
        dims = [_plain(v) for v in shape]
        return dims[0] if len(dims) == 1 else dims
    return int(shape) if isinstance(shape, (int, float)) and float(shape).is_integer() else shape


def _describe(spec: EnvSpec) -> str:
    frames = f"uint8 frames of shape {tuple(spec.obs_shape)}"
    if spec.obs_type == "pixels_state":
        return f"{frames} and float32 states of shape {spec.state_shape}"
    if spec.obs_type == "pixels":
        return frames
    return f"float32 states of shape {tuple(spec.obs_shape)}"


def _get(cfg: Any, dotted: str) -> Any:
    node = cfg
    for key in dotted.split("."):
        node = node[key]
    return node
