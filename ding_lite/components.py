"""The one place that imports every built-in component, filling the registries, and assembles the
defaults tree that :func:`ding_lite.config.compile_config` validates user configs against."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ding_lite.actors.config import distributed_default_config
from ding_lite.config.validate import OpenSection
from ding_lite.data import BUFFER_REGISTRY
from ding_lite.data.offline import offline_dataset_default_config
from ding_lite.envs import ENV_MANAGER_REGISTRY, ENV_REGISTRY
from ding_lite.intervention.session import intervention_default_config
from ding_lite.learner.base_learner import learner_default_config
from ding_lite.learner.hooks import HOOK_REGISTRY
from ding_lite.policy import POLICY_REGISTRY
from ding_lite.reward.wrapper import reward_classifier_defaults
from ding_lite.worker.collector import collector_default_config
from ding_lite.worker.evaluator import evaluator_default_config

__all__ = [
    "BUFFER_REGISTRY",
    "ENV_MANAGER_REGISTRY",
    "ENV_REGISTRY",
    "HOOK_REGISTRY",
    "POLICY_REGISTRY",
    "default_tree",
]


def env_common_defaults() -> dict[str, Any]:
    return dict(
        type="",
        import_names=[],
        collector_env_num=8,  # envs stepped together by the collector
        evaluator_env_num=5,  # envs stepped together by the evaluator
        n_evaluator_episode=5,  # episodes per evaluation
        stop_value=float("inf"),  # training stops when the evaluation mean return reaches this
        obs_type="state",  # 'state' | 'pixels' (uint8 (3, S, S) frames) | 'pixels_state' (dict of both)
        image_size=64,  # S: side of the square frames of the pixel obs types
        replay_path=None,  # accepted for DI-engine configs (video replays are not recorded)
        reward_classifier=reward_classifier_defaults(),  # a trained success classifier as the reward
        cfg_type=None,
    )


def default_tree(types: Mapping[str, str]) -> dict[str, Any]:
    """Defaults for every key a config with these component types may set."""
    env_cls = ENV_REGISTRY.get(types["env"])
    manager_cls = ENV_MANAGER_REGISTRY.get(types["env_manager"])
    policy_cls = POLICY_REGISTRY.get(types["policy"])
    buffer_cls = BUFFER_REGISTRY.get(types["replay_buffer"])
    env = env_common_defaults()
    env.update(env_cls.default_config())
    env["type"] = types["env"]
    env["manager"] = manager_cls.default_config()
    env["manager"]["type"] = types["env_manager"]
    policy = policy_cls.default_config()
    policy["type"] = types["policy"]
    policy["learn"]["learner"] = learner_default_config()
    policy["collect"]["collector"] = collector_default_config()
    policy["eval"]["evaluator"] = evaluator_default_config()
    policy["other"]["replay_buffer"] = buffer_cls.default_config()
    policy["other"]["replay_buffer"]["type"] = types["replay_buffer"]
    policy["other"]["commander"] = OpenSection()
    policy["pretrained_path"] = ""  # weights to start from: a .pth.tar or a pretrained_model/ folder
    policy["pretrained"] = dict(
        path="",  # overrides pretrained_path when set
        strict=True,  # every tensor must fit; False loads what fits and reports the rest
        exclude=[],  # glob patterns or prefixes of model keys to leave freshly initialised
        include=[],  # when set, only these keys are loaded
        rename_map=OpenSection(),  # {source key prefix: model key prefix}
        grow=False,  # a tensor grown in some dims (7-D -> 8-D action) keeps the old values in its leading slice
    )
    policy["freeze"] = []  # module-name prefixes whose parameters are not trained
    if not policy_cls.on_policy and not getattr(policy_cls, "needs_dataset", False):  # RL from a replay buffer
        policy["offline_dataset"] = offline_dataset_default_config()  # demonstrations mixed into every batch
        policy["intervention"] = intervention_default_config()  # a controller taking over; '' controller: off
        policy["distributed"] = distributed_default_config()  # collectors as Ray actors (docs/ray.md); off by default
    tree = {"exp_name": "default_experiment", "seed": 0, "env": env, "policy": policy}
    if getattr(policy_cls, "needs_dataset", False):  # trained offline (ding -m bc): a dataset section
        tree["dataset"] = dict(
            root="",  # a LeRobot dataset folder (v3.0 or v2.x)
            episodes=None,  # a subset of episode indices; None takes all
            val_episodes=None,  # episode indices held out for the validation loss; overrides val_ratio
            val_ratio=0.1,  # the last this fraction of the episodes is held out (0: no validation)
        )
    return tree
