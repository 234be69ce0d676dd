"""The resume guard: the config a checkpoint was written with against the config resuming from it.

Exact resume needs the same experiment. Keys that only steer when to stop, evaluate, log or save may
change (one warning lists them); any other change is an error naming each key with its old and new value.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from ding_lite.errors import CheckpointError

log = logging.getLogger("ding_lite")

# Set by resuming itself: never reported.
IGNORED = ("policy.learn.resume_training", "policy.learn.learner.hook.load_ckpt_before_run")
# Dotted-key prefixes that may change between the checkpoint and the resumed run.
HARMLESS = (
    "exp_name",
    "env.stop_value",
    "env.replay_path",
    "policy.load_path",
    "policy.cuda",
    "policy.learn.learner.hook",
    "policy.learn.learner.keep_last_n",
    "policy.learn.learner.train_iterations",
    "policy.eval.evaluator.eval_freq",
    "policy.collect.collector.collect_print_freq",
    "policy.distributed.n_actors",  # a Ray run is not resumed exactly anyway (docs/ray.md)
    "policy.distributed.weight_push_every_s",
)

# Keys that checkpoints of earlier ding_lite versions lack, with the behaviour those versions had.
LEGACY_VALUES = {
    "policy.learn.backend": "torch",
    "env.obs_type": "state",
    "env.image_size": 64,
    "policy.offline_dataset.root": "",
    "policy.offline_dataset.episodes": None,
    "policy.offline_dataset.ratio": 0.5,
    "policy.offline_dataset.obs_features": ["observation.state"],
    "policy.offline_dataset.episode_ends": "done",
    "policy.offline_dataset.pretrain_updates": 0,
    "policy.offline_dataset.pretrain_actor_loss": "sac",
    "policy.bc_pretrain": None,
    "policy.freeze_vision_encoder": False,
    "policy.model.obs_encoder": None,
    "env.reward_classifier.pretrained_path": "",
    "env.reward_classifier.success_threshold": 0.5,
    "env.reward_classifier.success_reward": 1.0,
    "env.reward_classifier.terminate_on_success": True,
    "env.reward_classifier.keep_env_reward": False,
    "policy.intervention.pretrained_path": "",
    "policy.intervention.controller": "",
    "policy.intervention.when.rule": "action_distance",
    "policy.intervention.when.threshold": 0.5,
    "policy.intervention.when.norm": "l2",
    "policy.intervention.when.indices": [],
    "policy.intervention.when.low": [],
    "policy.intervention.when.high": [],
    "policy.intervention.when.steps": 0,
    "policy.intervention.when.max_per_episode": None,
    "policy.intervention.when.hold_steps": 1,
    "policy.distributed.engine": None,
    "policy.distributed.n_actors": 2,
    "policy.distributed.weight_push_every_s": 1.0,
}


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


def _harmless(key: str) -> bool:
    return any(key == prefix or key.startswith(prefix + ".") for prefix in HARMLESS)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return bool(a == b)


def check_resume_config(saved: Mapping[str, Any], current: Mapping[str, Any], ckpt: str) -> list[str]:
    """Raise CheckpointError on a change that breaks exact resume; return the harmless changed keys."""
    old, new = dict(_flatten(saved)), dict(_flatten(current))
    for key, value in LEGACY_VALUES.items():
        if key in new:
            old.setdefault(key, value)
    harmful, harmless = [], []
    for key in sorted(set(old) | set(new)):
        if key in IGNORED or _same(old.get(key, "<unset>"), new.get(key, "<unset>")):
            continue
        if _harmless(key):
            harmless.append(key)
        else:
            harmful.append(f"'{key}' was {old.get(key, '<unset>')!r}, now {new.get(key, '<unset>')!r}")
    if harmful:
        raise CheckpointError(
            f"cannot resume from '{ckpt}': the config changed in ways that break an exact resume: "
            + "; ".join(harmful)
            + " (restore these values, or start a new run that loads the weights)"
        )
    if harmless:
        log.warning("resuming from %s with changed settings: %s", ckpt, ", ".join(harmless))
    return harmless
