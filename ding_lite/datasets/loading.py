"""Reading a local dataset root (v3.0, or the older v2.x layout) into arrays, with its consistency checked.

Every problem is a :class:`DatasetError` naming the file: a missing or truncated file, a newer
``codebase_version``, episode ranges or frame indices that do not add up. Nothing is unpickled.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ding_lite.datasets import format as fmt
from ding_lite.datasets.columns import from_arrow
from ding_lite.datasets.format import DatasetError, Feature

log = logging.getLogger("ding_lite")


@dataclass
class VideoSpan:
    path: Path
    from_timestamp: float


@dataclass
class Loaded:
    """A whole dataset in memory: ``columns[name]`` is (frames, *shape) (images: PNG bytes per frame)."""

    root: Path
    info: dict[str, Any]
    features: dict[str, Feature]
    columns: dict[str, np.ndarray]
    episode_index: np.ndarray  # (E,) as stored
    episode_start: np.ndarray  # (E,) first frame (global index) of each episode
    episode_stop: np.ndarray  # (E,) one past its last frame
    tasks: list[str]
    stats: dict[str, Any] | None
    videos: dict[str, list[VideoSpan]] = field(default_factory=dict)  # per video key, per episode
    uncommitted: int = 0  # frames of a save cut short before its info.json commit, left out
    episode_sources: list[str] = field(default_factory=list)  # the file each episode row was read from


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    try:
        return pq.read_table(path, columns=columns)
    except FileNotFoundError:
        raise DatasetError(f"'{path}' is missing") from None
    except (pa.ArrowException, OSError) as err:
        raise DatasetError(f"'{path}' is not a readable Parquet file (truncated or damaged?): {err}") from None


def load(root: str | Path) -> Loaded:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root '{root}' does not exist or is not a directory")
    info = fmt.read_info(root)
    if info["codebase_version"] == fmt.CODEBASE_VERSION:
        return _load_v30(root, info)
    return _load_v2x(root, info)


def _features(root: Path, info: dict[str, Any]) -> dict[str, Feature]:
    return fmt.parse_features(info["features"], str(root / fmt.INFO_PATH))


def _load_v30(root: Path, info: dict[str, Any]) -> Loaded:
    features = _features(root, info)
    episode_files = sorted(root.glob(fmt.EPISODES_GLOB))
    if not episode_files:
        raise DatasetError(f"'{root / 'meta/episodes'}' holds no episode files; the dataset has no episodes")
    names = _schema_names(episode_files[0])  # every episodes file has the same columns
    wanted = ["episode_index", "tasks", "length", "dataset_from_index", "dataset_to_index", "data/chunk_index",
              "data/file_index"]  # fmt: skip
    columns = [c for c in wanted if c in names] + [n for n in names if n.startswith("videos/")]
    tables = [read_parquet(path, columns) for path in episode_files]
    episodes = _concat(tables, episode_files[0].parent.parent)
    for column in ("episode_index", "dataset_from_index", "dataset_to_index"):
        if column not in episodes.column_names:
            raise DatasetError(f"'{episode_files[0]}' has no '{column}' column")
    _check_data_files_exist(root, info, episodes)
    loaded = Loaded(
        root=root,
        info=info,
        features=features,
        columns=_read_frames(root, sorted(root.glob(fmt.DATA_GLOB)), features),
        episode_index=episodes.column("episode_index").to_numpy(),
        episode_start=episodes.column("dataset_from_index").to_numpy(),
        episode_stop=episodes.column("dataset_to_index").to_numpy(),
        tasks=read_tasks(root),
        stats=_read_stats(root),
        episode_sources=[str(path) for path, table in zip(episode_files, tables) for _ in range(table.num_rows)],
    )
    _leave_out_uncommitted(loaded)
    for key, feature in features.items():
        if feature.dtype == "video":
            chunks = episodes.column(f"videos/{key}/chunk_index").to_numpy()
            files = episodes.column(f"videos/{key}/file_index").to_numpy()
            starts = episodes.column(f"videos/{key}/from_timestamp").to_numpy()
            template = str(info.get("video_path") or fmt.VIDEO_PATH)
            loaded.videos[key] = [
                VideoSpan(root / template.format(video_key=key, chunk_index=int(c), file_index=int(f)), float(s))
                for c, f, s in zip(chunks, files, starts)
            ]
    check(loaded)
    return loaded


def _check_data_files_exist(root: Path, info: dict[str, Any], episodes: pa.Table) -> None:
    if "data/chunk_index" not in episodes.column_names or "data/file_index" not in episodes.column_names:
        return
    template = str(info.get("data_path") or fmt.DATA_PATH)
    chunks, files = episodes.column("data/chunk_index").to_numpy(), episodes.column("data/file_index").to_numpy()
    committed = int(info.get("total_episodes", len(chunks)))
    for episode, (chunk, file) in enumerate(zip(chunks[:committed], files[:committed])):
        path = root / template.format(chunk_index=int(chunk), file_index=int(file))
        if not path.is_file():
            raise DatasetError(f"'{path}' is missing; the episodes metadata puts episode {episode}'s frames there")


def _schema_names(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError) as err:
        raise DatasetError(f"'{path}' is not a readable Parquet file (truncated or damaged?): {err}") from None


def _load_v2x(root: Path, info: dict[str, Any]) -> Loaded:
    features = _features(root, info)
    rows = _jsonl(root / fmt.V21_EPISODES_PATH)
    rows.sort(key=lambda row: int(row["episode_index"]))
    chunks_size = int(info.get("chunks_size", fmt.CHUNKS_SIZE))
    template = str(info.get("data_path", "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"))
    paths = [
        root
        / template.format(episode_chunk=int(r["episode_index"]) // chunks_size, episode_index=int(r["episode_index"]))
        for r in rows
    ]
    lengths = np.array([int(r["length"]) for r in rows], dtype=np.int64)
    stops = np.cumsum(lengths)
    tasks_rows = sorted(_jsonl(root / fmt.V21_TASKS_PATH), key=lambda row: int(row["task_index"]))
    loaded = Loaded(
        root=root,
        info=info,
        features=features,
        episode_sources=[str(root / fmt.V21_EPISODES_PATH)] * len(rows),
        columns=_read_frames(root, paths, features),
        episode_index=np.array([int(r["episode_index"]) for r in rows], dtype=np.int64),
        episode_start=stops - lengths,
        episode_stop=stops,
        tasks=[str(row["task"]) for row in tasks_rows],
        stats=_read_stats(root) or _merged_episode_stats(root / fmt.V21_EPISODES_STATS_PATH),
    )
    video_template = str(info.get("video_path") or "")
    for key, feature in features.items():
        if feature.dtype == "video":
            loaded.videos[key] = [
                VideoSpan(root / video_template.format(episode_chunk=int(e) // chunks_size, video_key=key,
                                                       episode_index=int(e)), 0.0)
                for e in loaded.episode_index
            ]  # fmt: skip
    check(loaded)
    return loaded


def _concat(tables: list[pa.Table], where: Path) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException as err:
        raise DatasetError(f"the Parquet files under '{where}' do not share one schema: {err}") from None


def _read_frames(root: Path, paths: list[Path], features: dict[str, Feature]) -> dict[str, np.ndarray]:
    if not paths:
        raise DatasetError(f"'{root / 'data'}' holds no Parquet files; the dataset has no frames")
    stored = [name for name, feature in features.items() if feature.dtype != "video"]
    tables = []
    for path in paths:
        table = read_parquet(path)
        missing = [name for name in stored if name not in table.column_names]
        if missing:
            raise DatasetError(f"'{path}' lacks the column(s) {missing} that info.json lists")
        tables.append(table.select(stored))
    frames = _concat(tables, root / "data")
    return {name: from_arrow(features[name], frames.column(name), str(root / "data")) for name in stored}


def read_tasks(root: Path) -> list[str]:
    table = read_parquet(root / fmt.TASKS_PATH)
    names = table.column_names
    text = "__index_level_0__" if "__index_level_0__" in names else "task" if "task" in names else None
    if text is None or "task_index" not in names:
        raise DatasetError(f"'{root / fmt.TASKS_PATH}' needs a task_index column and the task strings as its index")
    order = np.argsort(table.column("task_index").to_numpy(), kind="stable")
    strings = table.column(text).to_pylist()
    return [str(strings[i]) for i in order]


def _read_stats(root: Path) -> dict[str, Any] | None:
    path = root / fmt.STATS_PATH
    return fmt.read_json(path) if path.is_file() else None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DatasetError(f"'{path}' is missing")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise DatasetError(f"'{path}' line {number} is not valid JSON ({err})") from None
    return rows


def _merged_episode_stats(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    from ding_lite.datasets.stats import from_json, merge_all, to_json

    return to_json(merge_all([from_json(row["stats"]) for row in _jsonl(path)]))


def _leave_out_uncommitted(loaded: Loaded) -> None:
    """A writer killed between renaming an episode's files and renaming ``info.json`` (the commit) leaves
    frames and episode rows past the committed ones: they are left out, as LeRobot leaves them out."""
    frames = len(next(iter(loaded.columns.values()))) if loaded.columns else 0
    episodes = int(loaded.info.get("total_episodes", len(loaded.episode_index)))
    total = int(loaded.info.get("total_frames", frames))
    extra_rows = len(loaded.episode_index) > episodes
    if not (frames > total or extra_rows) or len(loaded.episode_index) < episodes:
        return
    if episodes and int(loaded.episode_stop[episodes - 1]) != total:
        return  # not the shape an interrupted save leaves: check() reports the mismatch
    loaded.columns = {name: values[:total] for name, values in loaded.columns.items()}
    loaded.episode_index = loaded.episode_index[:episodes]
    loaded.episode_start = loaded.episode_start[:episodes]
    loaded.episode_stop = loaded.episode_stop[:episodes]
    loaded.uncommitted = frames - total
    log.warning(
        "%s: %d frames of an interrupted save past the %d committed episodes are left out; appending with "
        "`ding record --resume` or DatasetWriter.resume removes them",
        loaded.root,
        frames - total,
        episodes,
    )


def check(loaded: Loaded) -> None:
    """Frames and episodes add up: contiguous episode ranges covering every frame, indices matching."""
    where = str(loaded.root / fmt.INFO_PATH)
    frames = len(next(iter(loaded.columns.values()))) if loaded.columns else 0
    total_frames = int(loaded.info.get("total_frames", frames))
    total_episodes = int(loaded.info.get("total_episodes", len(loaded.episode_index)))
    if frames != total_frames:
        raise DatasetError(f"'{where}' says total_frames {total_frames} but the data files hold {frames} frames")
    if len(loaded.episode_index) != total_episodes:
        raise DatasetError(
            f"'{where}' says total_episodes {total_episodes} but the episodes metadata lists "
            f"{len(loaded.episode_index)}"
        )
    start, stop = loaded.episode_start, loaded.episode_stop
    expected_start = np.concatenate([[0], stop[:-1]]) if len(stop) else stop
    bad = np.flatnonzero((start != expected_start) | (stop < start))
    if len(bad) or (len(stop) and stop[-1] != frames):
        row = int(bad[0]) if len(bad) else len(stop) - 1
        source = loaded.episode_sources[row] if row < len(loaded.episode_sources) else str(loaded.root / "meta")
        raise DatasetError(
            f"'{source}': episode {int(loaded.episode_index[row])} spans frames [{int(start[row])}, {int(stop[row])}), "
            f"which does not continue the episodes before it in order and end at the {frames} frames of the data"
        )
    if "index" in loaded.columns and not np.array_equal(loaded.columns["index"][:, 0], np.arange(frames)):
        raise DatasetError(f"the 'index' column of '{loaded.root / 'data'}' is not 0..{frames - 1} in order")
    if "episode_index" in loaded.columns:
        expected = np.repeat(loaded.episode_index, stop - start)
        if not np.array_equal(loaded.columns["episode_index"][:, 0], expected):
            raise DatasetError(
                f"the 'episode_index' column of '{loaded.root / 'data'}' does not match the episode ranges of the "
                "episodes metadata"
            )
