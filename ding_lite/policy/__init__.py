"""Policies: PPO, DQN, SAC, behaviour cloning (MLP), ACT and the reward classifier, registered by name in
``POLICY_REGISTRY``."""

from ding_lite.policy.act import ACTTrainingPolicy
from ding_lite.policy.base import POLICY_REGISTRY, Policy, register_policy
from ding_lite.policy.bc import BCPolicy
from ding_lite.policy.dqn import DQNPolicy
from ding_lite.policy.ppo import PPOPolicy
from ding_lite.policy.reward_classifier import RewardClassifierPolicy
from ding_lite.policy.sac import SACPolicy

__all__ = [
    "POLICY_REGISTRY",
    "ACTTrainingPolicy",
    "BCPolicy",
    "DQNPolicy",
    "PPOPolicy",
    "Policy",
    "RewardClassifierPolicy",
    "SACPolicy",
    "register_policy",
]
