"""The learner and its hook registry."""

from ding_lite.learner.base_learner import BaseLearner
from ding_lite.learner.hooks import HOOK_REGISTRY, LearnerHook, register_learner_hook

__all__ = ["HOOK_REGISTRY", "BaseLearner", "LearnerHook", "register_learner_hook"]
