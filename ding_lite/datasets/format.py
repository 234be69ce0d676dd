"""The LeRobot dataset format, v3.0 (as LeRobot 0.4.4 writes and reads it) and v2.1 (read only).

Everything that names a file, a column or a feature lives here. A v3.0 root::

    meta/info.json                        codebase_version, fps, totals, features (dtype, shape, names)
    meta/stats.json                       {feature: {min, max, mean, std, count, q01, q10, q50, q90, q99}}
    meta/tasks.parquet                    one row per task: column task_index, the task string as the
                                          pandas index (__index_level_0__)
    meta/episodes/chunk-XXX/file-XXX.parquet   one row per episode: episode_index, tasks, length,
                                          data/chunk_index, data/file_index, dataset_from_index,
                                          dataset_to_index, videos/<key>/..., stats/<feature>/<stat>, ...
    data/chunk-XXX/file-XXX.parquet       the frames, episodes whole and in order; files sorted by name
    videos/<key>/chunk-XXX/file-XXX.mp4   video features (no column in data/)

Column types in data/: a shape-(1,) feature is a scalar column, (D,) a fixed-size list, an image a
struct {bytes: PNG, path}. Every frame also has the five default features ``timestamp`` (frame_index /
fps), ``frame_index``, ``episode_index``, ``index`` (global, contiguous) and ``task_index``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ding_lite.errors import DingLiteError

CODEBASE_VERSION = "v3.0"
READABLE_VERSIONS = ("v2.0", "v2.1", "v3.0")
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_MB = 100
VIDEO_FILES_SIZE_MB = 200

INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
DATA_GLOB = "data/*/*.parquet"
EPISODES_GLOB = "meta/episodes/*/*.parquet"

# v2.1, read only
V21_EPISODES_PATH = "meta/episodes.jsonl"
V21_TASKS_PATH = "meta/tasks.jsonl"
V21_EPISODES_STATS_PATH = "meta/episodes_stats.jsonl"

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{int(q * 100):02d}" for q in QUANTILES)
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)

DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
VISUAL_DTYPES = ("image", "video")


class DatasetError(DingLiteError, ValueError):
    """A dataset cannot be read or written as asked; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Feature:
    """One entry of ``info.json``'s ``features``; ``shape`` as stored (images (H, W, C) or (C, H, W))."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    names: Any = None

    @property
    def visual(self) -> bool:
        return self.dtype in VISUAL_DTYPES

    @property
    def chw(self) -> tuple[int, int, int]:
        """An image's shape as (C, H, W), whichever order ``info.json`` gives (LeRobot's rule: names[2] is
        'channel(s)' for (H, W, C))."""
        if len(self.shape) != 3:
            raise DatasetError(f"image feature '{self.name}' has shape {list(self.shape)}; images need 3 dims")
        if isinstance(self.names, list) and len(self.names) == 3 and self.names[2] in ("channel", "channels"):
            height, width, channels = self.shape
            return channels, height, width
        channels, height, width = self.shape
        return channels, height, width

    def entry(self) -> dict[str, Any]:
        return {"dtype": self.dtype, "shape": list(self.shape), "names": self.names}


def parse_features(entries: dict[str, Any], where: str) -> dict[str, Feature]:
    features = {}
    for name, entry in entries.items():
        if not isinstance(entry, dict) or "dtype" not in entry or "shape" not in entry:
            raise DatasetError(f"{where}: feature '{name}' needs 'dtype' and 'shape'")
        if "/" in name:
            raise DatasetError(f"{where}: feature name '{name}' contains '/', which LeRobot does not allow")
        features[name] = Feature(name, str(entry["dtype"]), tuple(int(d) for d in entry["shape"]), entry.get("names"))
    return features


def numpy_dtype(feature: Feature) -> np.dtype[Any]:
    if feature.visual:
        return np.dtype(np.uint8)
    try:
        return np.dtype(feature.dtype)
    except TypeError:
        raise DatasetError(f"feature '{feature.name}' has dtype '{feature.dtype}', which NumPy does not know") from None


def new_info(fps: int, features: dict[str, Feature], robot_type: str | None) -> dict[str, Any]:
    """``info.json`` of an empty v3.0 dataset, keys in LeRobot's order."""
    has_video = any(f.dtype == "video" for f in features.values())
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": 0,
        "total_frames": 0,
        "total_tasks": 0,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILES_SIZE_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_MB,
        "fps": int(fps),
        "splits": {},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if has_video else None,
        "features": {name: feature.entry() for name, feature in features.items()},
    }


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise DatasetError(f"'{path}' is missing; a LeRobot dataset root needs {INFO_PATH}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"'{path}' is not valid JSON ({err})") from None


def read_info(root: Path) -> dict[str, Any]:
    """``meta/info.json``, with its version checked: a version newer than v3.x is refused."""
    path = root / INFO_PATH
    info = read_json(path)
    version = str(info.get("codebase_version", ""))
    if version not in READABLE_VERSIONS:
        major = version[1:].split(".")[0] if version.startswith("v") else ""
        newer = major.isdigit() and int(major) > 3
        what = "a newer format than this ding_lite reads" if newer else "not a LeRobot format version"
        readable = ", ".join(READABLE_VERSIONS)
        raise DatasetError(f"'{path}' has codebase_version '{version}', {what} (readable: {readable})")
    for key in ("fps", "features"):
        if key not in info:
            raise DatasetError(f"'{path}' has no '{key}' key")
    return dict(info)


def chunk_and_file(position: int) -> tuple[int, int]:
    """The (chunk_index, file_index) of the ``position``-th file: 1000 files per chunk directory."""
    return divmod(position, CHUNKS_SIZE)
