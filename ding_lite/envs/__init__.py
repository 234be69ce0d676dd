"""Environments: the single-env contract, built-in envs, Gymnasium/old-Gym adapters and the vector manager.

Importing this package registers the built-in env types (``cartpole``, ``pendulum``, ``gymnasium``/``gym``;
each can observe pixels, see :mod:`ding_lite.envs.pixels`) and manager types (``base`` and ``base_v2``
in-process, ``subprocess`` and ``async_subprocess`` in worker processes). It never imports Gymnasium or
torch; Gymnasium is imported only when a ``gymnasium`` env is constructed.
"""

from ding_lite.envs.adapter import GymApiAdapter, adapt_env
from ding_lite.envs.base import ENV_REGISTRY, BaseEnv, EnvSpec, register_env
from ding_lite.envs.cartpole import CartPoleEnv
from ding_lite.envs.gymnasium_env import GymnasiumEnv
from ding_lite.envs.manager import ENV_MANAGER_REGISTRY, VecStep, VectorEnvManager, make_env, make_env_manager
from ding_lite.envs.pendulum import PendulumEnv
from ding_lite.envs.pixels import PixelObservation, with_obs_type
from ding_lite.envs.subprocess_manager import SubprocessEnvManager

__all__ = [
    "ENV_MANAGER_REGISTRY",
    "ENV_REGISTRY",
    "BaseEnv",
    "CartPoleEnv",
    "EnvSpec",
    "GymApiAdapter",
    "GymnasiumEnv",
    "PendulumEnv",
    "PixelObservation",
    "SubprocessEnvManager",
    "VecStep",
    "VectorEnvManager",
    "adapt_env",
    "make_env",
    "make_env_manager",
    "register_env",
    "with_obs_type",
]
