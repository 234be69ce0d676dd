"""Pendulum demonstrations for the tests: a scripted swing controller recorded with ``ding record``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ding_lite.config import read_config
from ding_lite.entry.record import record

PENDULUM_SAC = Path(__file__).resolve().parents[1] / "dizoo_configs" / "pendulum_sac_config.py"


def swing(obs: np.ndarray) -> np.ndarray:
    """(cos, sin, angular velocity) -> a torque in the policy's [-1, 1]."""
    return np.clip(-obs[:, 1:2] - 0.3 * obs[:, 2:3], -1, 1).astype(np.float32)


def record_swing(root: Path, episodes: int, envs: int) -> Path:
    """``episodes`` pendulum episodes (act_scale, 200 frames each) of :func:`swing`, recorded from ``envs``
    envs of dizoo_configs/pendulum_sac_config.py as a dataset at ``root``."""
    main, create = read_config(PENDULUM_SAC)
    main["env"]["collector_env_num"] = envs
    record((main, create), root, episodes, quiet=True, controller=swing)
    return root
