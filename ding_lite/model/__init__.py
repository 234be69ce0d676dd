"""Networks with DI-engine's module trees and parameter names."""

from ding_lite.model.q_network import DQN
from ding_lite.model.vac import VAC

__all__ = ["DQN", "VAC"]
