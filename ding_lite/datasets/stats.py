"""Feature statistics as LeRobot stores them: per episode, and merged over episodes for ``stats.json``.

Per episode and feature: ``min``, ``max`` (integer and bool features keep their type), ``mean``, ``std``
(population), ``count`` (``[frames]``) and the quantiles ``q01 q10 q50 q90 q99`` (NumPy's linear
interpolation), each over the frames and of the feature's shape. Images are per channel over pixels
scaled to [0, 1], of shape (3, 1, 1), from at most ``IMAGE_SAMPLES`` evenly spaced frames (``count`` is
then the number of frames sampled), as LeRobot does.

Merged (:func:`merge`): min and max elementwise, mean and std exact (count-weighted, in float64), count
summed; quantiles are the count-weighted means of the episodes' quantiles, an approximation (LeRobot's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ding_lite.datasets.format import QUANTILE_KEYS, QUANTILES

Stats = dict[str, np.ndarray]
IMAGE_SAMPLES = 100


def episode_stats(values: np.ndarray, image: bool = False) -> Stats:
    """Stats of one episode's values, shape (frames, *feature_shape); images (frames, C, H, W) uint8."""
    if image:
        step = max(1, len(values) // IMAGE_SAMPLES)
        sampled = values[::step][:IMAGE_SAMPLES].astype(np.float64) / 255.0
        pixels = np.moveaxis(sampled, 1, 0).reshape(sampled.shape[1], -1).T  # (samples * H * W, C)
        stats = _stats(pixels)
        stats = {key: value.reshape(-1, 1, 1) for key, value in stats.items()}
        stats["count"] = np.array([len(sampled)], dtype=np.int64)
        return stats
    return _stats(values.reshape(len(values), -1) if values.ndim == 1 else values)


def _stats(values: np.ndarray) -> Stats:
    wide = values.astype(np.float64)
    keep = values.dtype if values.dtype.kind in "biu" else np.float64
    stats: Stats = {
        "min": values.min(axis=0).astype(keep),
        "max": values.max(axis=0).astype(keep),
        "mean": wide.mean(axis=0),
        "std": wide.std(axis=0),
        "count": np.array([len(values)], dtype=np.int64),
    }
    quantiles = np.quantile(wide, QUANTILES, axis=0)
    for key, value in zip(QUANTILE_KEYS, quantiles):
        stats[key] = value
    return stats


def merge(per_episode: Sequence[Mapping[str, np.ndarray]]) -> Stats:
    """One feature's stats over several episodes (see the module docstring)."""
    counts = np.array([float(np.asarray(s["count"]).reshape(-1)[0]) for s in per_episode])
    total = counts.sum()
    weights = counts / total
    shape = (-1,) + (1,) * (np.asarray(per_episode[0]["mean"]).ndim)
    w = weights.reshape(shape)
    means = np.stack([np.asarray(s["mean"], dtype=np.float64) for s in per_episode])
    stds = np.stack([np.asarray(s["std"], dtype=np.float64) for s in per_episode])
    mean = (w * means).sum(axis=0)
    variance = (w * (stds**2 + (means - mean) ** 2)).sum(axis=0)
    merged: Stats = {
        "min": np.min(np.stack([np.asarray(s["min"]) for s in per_episode]), axis=0),
        "max": np.max(np.stack([np.asarray(s["max"]) for s in per_episode]), axis=0),
        "mean": mean,
        "std": np.sqrt(np.maximum(variance, 0.0)),
        "count": np.array([int(total)], dtype=np.int64),
    }
    for key in QUANTILE_KEYS:
        merged[key] = (w * np.stack([np.asarray(s[key], dtype=np.float64) for s in per_episode])).sum(axis=0)
    return merged


def merge_all(per_episode: Sequence[Mapping[str, Mapping[str, np.ndarray]]]) -> dict[str, Stats]:
    """``stats.json`` content from every episode's stats (features present in every episode)."""
    if not per_episode:
        return {}
    names = [name for name in per_episode[0] if all(name in episode for episode in per_episode)]
    return {name: merge([episode[name] for episode in per_episode]) for name in names}


def to_json(stats: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    """Lists as ``stats.json`` holds them: ints stay ints, bools stay bools."""
    return {
        name: {key: np.asarray(value).tolist() for key, value in feature.items()} for name, feature in stats.items()
    }


def from_json(stats: Mapping[str, Mapping[str, Any]]) -> dict[str, Stats]:
    return {name: {key: np.asarray(value) for key, value in feature.items()} for name, feature in stats.items()}
