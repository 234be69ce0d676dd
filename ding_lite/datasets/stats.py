"""Feature statistics as LeRobot stores them: per episode, and merged over episodes for ``stats.json``.

Per episode and feature: ``min``, ``max`` (integer and bool features keep their type), ``mean``, ``std``
(population), ``count`` (``[frames]``) and the quantiles ``q01 q10 q50 q90 q99`` (NumPy's linear
interpolation), each over the frames and of the feature's shape. Images are per channel over pixels
scaled to [0, 1], of shape (3, 1, 1), from at most ``IMAGE_SAMPLES`` evenly spaced frames (``count`` is
then the number of frames sampled), as LeRobot does.

Merged (:func:`merge`): min and max elementwise, mean and std exact (count-weighted, in float64), count
summed; quantiles are the count-weighted means of the episodes' quantiles, an approximation (LeRobot's),
and are left out when episodes have none (v2.x ``episodes_stats.jsonl``).
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


def episode_stats_of(values: Mapping[str, np.ndarray], images: Sequence[str] = ()) -> dict[str, Stats]:
    """:func:`episode_stats` of every feature of one episode, the numeric ones in one pass: their columns
    side by side in one float64 matrix (one mean, std and quantile call instead of one per feature)."""
    stats = {name: episode_stats(values[name], image=True) for name in images}
    numeric = [name for name in values if name not in stats]
    if not numeric:
        return stats
    columns = [values[name].reshape(len(values[name]), -1) for name in numeric]
    wide = np.concatenate([column.astype(np.float64) for column in columns], axis=1)
    means, stds = wide.mean(axis=0), wide.std(axis=0)
    quantiles = np.quantile(wide, QUANTILES, axis=0)
    start = 0
    for name, column in zip(numeric, columns):
        part = slice(start, start + column.shape[1])
        start = part.stop
        keep = column.dtype if column.dtype.kind in "biu" else np.float64
        feature: Stats = {
            "min": column.min(axis=0).astype(keep),
            "max": column.max(axis=0).astype(keep),
            "mean": means[part],
            "std": stds[part],
            "count": np.array([len(column)], dtype=np.int64),
        }
        for key, value in zip(QUANTILE_KEYS, quantiles[:, part]):
            feature[key] = value
        stats[name] = feature
    return stats


class StatsAccumulator:
    """Merged stats of one feature, updated one episode at a time in O(feature size) (Chan's parallel
    update for mean and variance, in float64)."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None  # sum of squared deviations from the mean
        self.low: np.ndarray | None = None
        self.high: np.ndarray | None = None
        self.quantile_sums: dict[str, np.ndarray] = {}

    def add(self, stats: Mapping[str, np.ndarray]) -> None:
        n = int(np.asarray(stats["count"]).reshape(-1)[0])
        mean = np.asarray(stats["mean"], dtype=np.float64)
        m2 = np.asarray(stats["std"], dtype=np.float64) ** 2 * n
        if self.mean is None or self.m2 is None or self.low is None or self.high is None:
            self.mean, self.m2 = mean.copy(), m2
            self.low, self.high = np.asarray(stats["min"]).copy(), np.asarray(stats["max"]).copy()
        else:
            total = self.count + n
            delta = mean - self.mean
            self.mean = self.mean + delta * (n / total)
            self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
            self.low = np.minimum(self.low, np.asarray(stats["min"]))
            self.high = np.maximum(self.high, np.asarray(stats["max"]))
        for key in QUANTILE_KEYS:
            if key not in stats:  # v2.x episode stats have none
                continue
            weighted = np.asarray(stats[key], dtype=np.float64) * n
            self.quantile_sums[key] = self.quantile_sums[key] + weighted if key in self.quantile_sums else weighted
        self.count += n

    def result(self) -> Stats:
        assert self.mean is not None and self.m2 is not None and self.low is not None and self.high is not None
        merged: Stats = {
            "min": self.low,
            "max": self.high,
            "mean": self.mean,
            "std": np.sqrt(np.maximum(self.m2 / self.count, 0.0)),
            "count": np.array([self.count], dtype=np.int64),
        }
        for key, total in self.quantile_sums.items():
            merged[key] = total / self.count
        return merged


def merge(per_episode: Sequence[Mapping[str, np.ndarray]]) -> Stats:
    """One feature's stats over several episodes (see the module docstring)."""
    accumulator = StatsAccumulator()
    for stats in per_episode:
        accumulator.add(stats)
    return accumulator.result()


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
