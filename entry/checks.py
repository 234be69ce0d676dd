"""Mistakes caught before a run starts: each is one ConfigError naming the keys involved."""

from __future__ import annotations

import logging
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
    if [int(model.obs_shape)] != list(spec.obs_shape):
        raise ConfigError(
            f"policy.model.obs_shape is {model.obs_shape} but env '{cfg.env.type}' observations have shape "
            f"{tuple(spec.obs_shape)}"
        )
    if spec.action_shape and int(model.action_shape) != int(spec.action_shape):
        raise ConfigError(
            f"policy.model.action_shape is {model.action_shape} but env '{cfg.env.type}' has "
            f"{spec.action_shape} {'actions' if spec.action_kind == 'discrete' else 'action dimensions'}"
        )


def _get(cfg: Any, dotted: str) -> Any:
    node = cfg
    for key in dotted.split("."):
        node = node[key]
    return node
