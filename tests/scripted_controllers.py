"""Scripted intervention controllers that tests name as ``policy.intervention.controller='module:function'``
(``tests/`` is on the import path of pytest and, through PYTHONPATH, of the ``ding`` runs the tests start)."""

from __future__ import annotations

import numpy as np


def pendulum_pd(obs: np.ndarray) -> np.ndarray:
    """Pendulum (cos, sin, angular velocity): a torque against the angle and the velocity, in [-1, 1]."""
    return np.clip(-obs[:, 1:2] - 0.3 * obs[:, 2:3], -1.0, 1.0).astype(np.float32)


def one_action_too_many(obs: np.ndarray) -> np.ndarray:
    return np.zeros((len(obs) + 1, 1), dtype=np.float32)
