"""Replay buffer and n-step transition assembly."""

from ding_lite.data.buffer import BUFFER_REGISTRY, ReplayBuffer
from ding_lite.data.nstep import NStepTransitions

__all__ = ["BUFFER_REGISTRY", "NStepTransitions", "ReplayBuffer"]
