"""Success labels of a reward classifier's training frames, and which observation each label judges.

A LeRobot dataset row ``t`` holds the observation ``o_t``, the action ``a_t`` and what that action led to:
``next.reward`` / ``next.success`` / ``next.done``. The success flag of row ``t`` therefore judges the
state *after* the transition, whose observation is row ``t + 1``'s. The classifier is trained on exactly
that pairing: label of row ``t`` with the observation features of row ``t + 1`` of the same episode (the
dataset window :data:`NEXT_FRAME`). So in an env the classifier judges the observation ``step()``
returns, the one the reward belongs to. The last row of every episode has no next observation in the
dataset (LeRobot does not store the final one): it is left out of sampling and masked in the loss.

Labels: with a ``threshold``, success is ``value > threshold`` (e.g. ``next.reward > -0.05``); without one
the column must be a success flag (bool, or numbers that are all 0 or 1) and success is the value 1.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import torch

from ding_lite.errors import ConfigError

NEXT_FRAME = range(1, 2)  # the observation features' window: row t + 1's values beside row t's label


def checked_threshold(values: np.ndarray, threshold: float | None, feature: str) -> float:
    """The threshold that turns ``feature``'s ``values`` into success flags (``value > threshold``): the
    given one, or 0.5 for a 0/1 column (anything else without a threshold is a ConfigError)."""
    if threshold is not None:
        return float(threshold)
    if values.dtype != np.bool_ and not np.isin(values, (0, 1)).all():
        low, high = float(np.min(values)), float(np.max(values))
        raise ConfigError(
            f"label feature '{feature}' holds values from {low:g} to {high:g}, not only 0 and 1; set "
            f"policy.learn.label.threshold (success is {feature} > threshold)"
        )
    return 0.5


@overload
def success_flags(values: np.ndarray, threshold: float) -> np.ndarray: ...
@overload
def success_flags(values: torch.Tensor, threshold: float) -> torch.Tensor: ...
def success_flags(values: np.ndarray | torch.Tensor, threshold: float) -> np.ndarray | torch.Tensor:
    """``value > threshold`` per frame, for (frames,) or (frames, 1) label columns: (frames,) bools."""
    flat = values.reshape(len(values), -1)[:, 0]
    if isinstance(flat, torch.Tensor):
        return flat.double() > threshold  # in float64 as NumPy does: the same flags for float32 values
    return flat.astype(np.float64) > threshold


def has_next_frame(episode_start: np.ndarray, episode_stop: np.ndarray, frames: int) -> np.ndarray:
    """(frames,) bools: False on the last frame of each episode (its label has no observation to judge)."""
    valid = np.ones(frames, dtype=bool)
    valid[np.asarray(episode_stop, dtype=np.int64)[np.asarray(episode_stop) > np.asarray(episode_start)] - 1] = False
    return valid
