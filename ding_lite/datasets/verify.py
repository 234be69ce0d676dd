"""``ding dataset info`` and ``ding dataset verify``: what a dataset holds, and whether it is sound.

``verify`` reads every file (loading checks the episode ranges and frame indices, see
:func:`ding_lite.datasets.loading.check`), decodes every image, checks each episode row's ``length``, and
recomputes the statistics of every numeric feature from the data: ``min``, ``max`` and ``count`` must be
equal (in the feature's dtype), ``mean`` and ``std`` equal up to ``STAT_RTOL`` of the feature's spread
(LeRobot computes them in float32 for single episodes). Quantiles are estimates in LeRobot's own files and
are not compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ding_lite.datasets import format as fmt
from ding_lite.datasets.dataset import LeRobotDataset
from ding_lite.datasets.format import DatasetError
from ding_lite.datasets.images import decode_png

STAT_RTOL = 1e-3


def summary(root: str | Path) -> dict[str, Any]:
    ds = LeRobotDataset(root)
    lengths = ds.episode_stop - ds.episode_start
    stats = ds.stats or {}
    recorded = [n for n in ds.features if n not in fmt.DEFAULT_FEATURES]
    return {
        "root": str(ds.root),
        "codebase_version": ds.info["codebase_version"],
        "robot_type": ds.info.get("robot_type"),
        "total_episodes": ds.num_episodes,
        "total_frames": len(ds),
        "total_tasks": len(ds.tasks),
        "fps": ds.fps,
        "episode_length": {"min": int(lengths.min()), "mean": float(lengths.mean()), "max": int(lengths.max())},
        "tasks": ds.tasks,
        "features": ds.info["features"],
        "stats": {
            name: {key: stats[name][key] for key in ("min", "max", "mean", "std") if key in stats[name]}
            for name in recorded
            if name in stats
        },
    }


def format_summary(info: dict[str, Any]) -> str:
    lines = [
        f"{info['root']}: LeRobot {info['codebase_version']} dataset",
        f"  episodes: {info['total_episodes']}  frames: {info['total_frames']}  fps: {info['fps']}  "
        f"robot_type: {info['robot_type']}",
        "  episode length: min {min}  mean {mean:.1f}  max {max}".format(**info["episode_length"]),
        f"  tasks ({info['total_tasks']}): " + "; ".join(repr(t) for t in info["tasks"][:5]),
        "  features:",
    ]
    for name, entry in info["features"].items():
        line = f"    {name:<32} {entry['dtype']:<8} {entry['shape']}"
        if name in info["stats"]:
            stat = info["stats"][name]
            line += "  mean " + _short(stat.get("mean")) + "  std " + _short(stat.get("std"))
        lines.append(line)
    return "\n".join(lines)


def _short(values: Any) -> str:
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    text = ", ".join(f"{v:.3g}" for v in flat[:4])
    return f"[{text}{', ...' if flat.size > 4 else ''}]"


def verify(root: str | Path) -> list[str]:
    """Problems found, one sentence each (empty when the dataset is sound)."""
    try:
        ds = LeRobotDataset(root)
    except DatasetError as err:
        return [str(err)]
    problems: list[str] = []
    if ds._data.uncommitted:
        problems.append(
            f"'{ds.root / 'data'}' holds {ds._data.uncommitted} frames of an interrupted save past the committed "
            "episodes (readers leave them out; stats.json may count them); `ding record --resume` or "
            "DatasetWriter.resume removes them"
        )
        return problems
    for name, feature in ds.features.items():
        if feature.dtype == "image":
            for i, blob in enumerate(ds.arrays(name)):
                try:
                    decode_png(blob, f"frame {i} of '{name}' in '{ds.root / 'data'}'")
                except DatasetError as err:
                    problems.append(str(err))
                    break
    if ds.stats is None:
        problems.append(f"'{ds.root / fmt.STATS_PATH}' is missing: training would use no normalisation")
    else:
        problems += _stats_problems(ds)
    return problems


def _stats_problems(ds: LeRobotDataset) -> list[str]:
    assert ds.stats is not None
    path = ds.root / fmt.STATS_PATH
    problems = []
    for name, feature in ds.features.items():
        if feature.visual or feature.dtype == "string":
            continue
        if name not in ds.stats:
            problems.append(f"'{path}' has no stats for feature '{name}'")
            continue
        saved = ds.stats[name]
        values = ds.arrays(name).reshape(len(ds), -1)
        wide = values.astype(np.float64)
        actual = {"min": values.min(axis=0), "max": values.max(axis=0), "count": np.array([len(values)])}
        spread = wide.std(axis=0) + np.abs(wide.mean(axis=0)) + 1e-12
        for key, value in actual.items():
            stored = np.asarray(saved.get(key, np.nan)).reshape(-1)
            if key != "count":  # compared in the feature's dtype: LeRobot may store float32 values rounded
                stored = stored.astype(values.dtype) if stored.dtype.kind in "biuf" else stored
            if stored.shape != value.reshape(-1).shape or not np.array_equal(stored, value.reshape(-1)):
                problems.append(f"'{path}': {name} {key} is {saved.get(key)} but the data give {value.tolist()}")
        for key, value in (("mean", wide.mean(axis=0)), ("std", wide.std(axis=0))):
            stored = np.asarray(saved.get(key, np.nan), dtype=np.float64).reshape(-1)
            if stored.shape != value.shape or np.any(~(np.abs(stored - value) <= STAT_RTOL * spread)):
                problems.append(f"'{path}': {name} {key} is {stored.tolist()} but the data give {value.tolist()}")
    return problems
