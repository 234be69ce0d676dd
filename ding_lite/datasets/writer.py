"""Recording a v3.0 dataset: ``add_frame`` / ``save_episode`` / ``finalize``, every saved episode durable.

    writer = DatasetWriter.create("datasets/x", fps=50, features={"observation.state": {...}, ...})
    writer.add_frame({"observation.state": obs, "action": act, "task": "reach"})   # per step
    writer.save_episode()                                                           # per episode
    writer.finalize()

Durability, where LeRobot keeps one data file open until ``finalize`` writes its footer (a crash loses
the whole file): each ``save_episode`` rewrites the current ("tail") data file and episodes-metadata
file as complete Parquet files holding every episode they have so far, then ``tasks.parquet``,
``stats.json`` and ``info.json``; every file is written to a temporary name and renamed into place
(``ding_lite.utils.files.write_atomic``). Once ``save_episode`` returns, the episode is on disk in a
dataset that LeRobot and ding_lite both read, and a kill at any moment leaves every earlier episode
readable. A tail file is closed (the next episode starts a new file) once it holds ``FRAMES_PER_FILE``
frames or ``BYTES_PER_FILE`` bytes of data, or ``EPISODES_PER_FILE`` episode rows: that bounds the cost
of the rewrites while keeping the file count low for fast opening. ``info.json`` is renamed last (the
commit): what a save cut short left behind is removed by the next :meth:`DatasetWriter.resume`.

``resume`` appends to an existing v3.0 dataset, whoever wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ding_lite.datasets import format as fmt
from ding_lite.datasets.columns import huggingface_metadata, to_arrow
from ding_lite.datasets.format import DatasetError, Feature
from ding_lite.datasets.loading import read_parquet, read_tasks
from ding_lite.datasets.stats import Stats, StatsAccumulator, episode_stats_of, to_json
from ding_lite.utils.files import write_atomic

FRAMES_PER_FILE = 10_000
BYTES_PER_FILE = 8 * 2**20
EPISODES_PER_FILE = 10


class _Tail:
    """The file being filled: its position (0, 1, ... -> chunk and file index) and its parts so far."""

    def __init__(self, position: int) -> None:
        self.position = position
        self.parts: list[pa.Table] = []
        self.rows = 0
        self.bytes = 0

    def add(self, part: pa.Table) -> pa.Table:
        self.parts.append(part)
        self.rows += part.num_rows
        return pa.concat_tables(self.parts)

    def close_if(self, full: bool) -> None:
        if full:
            self.position, self.parts, self.rows, self.bytes = self.position + 1, [], 0, 0


class DatasetWriter:
    def __init__(self, root: Path, info: dict[str, Any], tasks: list[str], stats: list[dict[str, Stats]]) -> None:
        self.root = root
        self.info = info
        self.features = fmt.parse_features(info["features"], str(root / fmt.INFO_PATH))
        self.recorded = [
            n for n in self.features if n not in fmt.DEFAULT_FEATURES and self.features[n].dtype != "video"
        ]
        self.tasks = tasks
        self._stats: dict[str, StatsAccumulator] = {}
        for episode in stats:
            self._add_stats(episode)
        self._frames: dict[str, list[np.ndarray]] = {name: [] for name in self.recorded}
        self._frame_tasks: list[str] = []
        self._data = _Tail(len(list(root.glob(fmt.DATA_GLOB))))
        self._episodes = _Tail(len(list(root.glob(fmt.EPISODES_GLOB))))
        self._data_metadata = {"huggingface": huggingface_metadata(self.features)}
        self._episode_schema = self._episode_arrow_schema()

    # --- opening -----------------------------------------------------------------------------------------
    @classmethod
    def create(
        cls, root: str | Path, fps: int, features: Mapping[str, Mapping[str, Any]], robot_type: str | None = None
    ) -> DatasetWriter:
        """A new dataset at ``root`` (which must not exist, or be an empty directory)."""
        root = Path(root)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise DatasetError(f"'{root}' already exists and is not empty; pick a new folder or resume it")
        if any(f.get("dtype") == "video" for f in features.values()):
            raise DatasetError("video features are read but not written by ding_lite; record them as 'image'")
        clash = sorted(set(features) & set(fmt.DEFAULT_FEATURES))
        if clash:
            raise DatasetError(f"features {clash} are filled in by the writer; leave them out")
        parsed = fmt.parse_features({**features, **fmt.DEFAULT_FEATURES}, "the features given")
        info = fmt.new_info(fps, parsed, robot_type)
        root.mkdir(parents=True, exist_ok=True)
        write_atomic(root / fmt.INFO_PATH, _json(info))
        return cls(root, info, [], [])

    @classmethod
    def resume(cls, root: str | Path) -> DatasetWriter:
        """Append to the v3.0 dataset at ``root``, after removing what an interrupted save left."""
        root = Path(root)
        info = fmt.read_info(root)
        if info["codebase_version"] != fmt.CODEBASE_VERSION:
            raise DatasetError(
                f"'{root}' is a {info['codebase_version']} dataset; only v3.0 datasets can be appended to"
            )
        rows = _remove_uncommitted(root, info, _episode_rows(root).to_pylist())
        tasks = read_tasks(root)[: int(info["total_tasks"])] if (root / fmt.TASKS_PATH).is_file() else []
        writer = cls(root, info, tasks, [_row_stats(row, info["features"]) for row in rows])
        if tasks:
            write_atomic(root / fmt.TASKS_PATH, _tasks_parquet(tasks))
        if rows:
            write_atomic(root / fmt.STATS_PATH, writer._stats_json())
        return writer

    # --- recording ---------------------------------------------------------------------------------------
    @property
    def total_episodes(self) -> int:
        return int(self.info["total_episodes"])

    @property
    def pending_frames(self) -> int:
        return len(self._frame_tasks)

    def add_frame(self, frame: Mapping[str, Any]) -> None:
        """One frame: a value for every recorded feature and the ``task`` string (LeRobot's rule)."""
        missing = [n for n in self.recorded if n not in frame] + ([] if "task" in frame else ["task"])
        extra = [n for n in frame if n not in self.recorded and n != "task"]
        if missing or extra:
            raise DatasetError(
                f"add_frame needs exactly {[*self.recorded, 'task']}; missing {missing}, unexpected {extra}"
            )
        checked = {name: self._checked(self.features[name], frame[name]) for name in self.recorded}
        for name, value in checked.items():  # only once every value passed: a rejected frame adds nothing
            self._frames[name].append(value)
        self._frame_tasks.append(str(frame["task"]))

    def clear_episode(self) -> None:
        for values in self._frames.values():
            values.clear()
        self._frame_tasks.clear()

    def save_episode(self) -> int:
        """Write the frames added since the last save as one episode; returns its episode_index."""
        if self.pending_frames == 0:
            raise DatasetError("save_episode: no frames were added since the last save")
        values = {name: np.stack(self._frames[name]) for name in self.recorded}
        episode = self.save_episode_arrays(values, list(self._frame_tasks))
        self.clear_episode()
        return episode

    def save_episode_arrays(self, values: Mapping[str, np.ndarray], task: str | Sequence[str]) -> int:
        """Write one whole episode given as arrays (frames, *shape) of every recorded feature, with one task
        or one per frame; the same checks as ``add_frame``, without a Python call per frame."""
        return self.save_episodes([(values, task)])[0]

    def save_episodes(self, episodes: Sequence[tuple[Mapping[str, np.ndarray], str | Sequence[str]]]) -> list[int]:
        """Write several whole episodes (as :meth:`save_episode_arrays`) in one commit: the files are
        rewritten once for all of them, so episodes that end together (vectorised envs) cost about one
        save. Returns their episode indices; all are durable once this returns, none if it fails."""
        first, start = self.total_episodes, int(self.info["total_frames"])
        tasks = list(self.tasks)
        data_chunk, data_file = fmt.chunk_and_file(self._data.position)
        meta_chunk, meta_file = fmt.chunk_and_file(self._episodes.position)
        parts, rows, all_stats = [], [], []
        for offset, (given, task) in enumerate(episodes):
            values, frame_tasks = self._episode_values(given, task, first + offset, start, tasks)
            length = len(frame_tasks)
            measured = [n for n in self.features if n in values and self.features[n].dtype != "string"]
            stats = episode_stats_of(
                {name: values[name] for name in measured}, images=[n for n in measured if self.features[n].visual]
            )
            parts.append(self._data_table(values))
            rows.append({
                "episode_index": first + offset, "tasks": list(dict.fromkeys(frame_tasks)), "length": length,
                "data/chunk_index": data_chunk, "data/file_index": data_file,
                "dataset_from_index": start, "dataset_to_index": start + length,
                **{f"stats/{name}/{key}": np.asarray(v).tolist() for name, s in stats.items() for key, v in s.items()},
                "meta/episodes/chunk_index": meta_chunk, "meta/episodes/file_index": meta_file,
            })  # fmt: skip
            all_stats.append(stats)
            start += length
        if len(tasks) > len(self.tasks):
            write_atomic(self.root / fmt.TASKS_PATH, _tasks_parquet(tasks))
        data_table = self._data.add(pa.concat_tables(parts))
        data_bytes = _parquet_bytes(data_table.replace_schema_metadata(self._data_metadata))
        write_atomic(self.root / fmt.DATA_PATH.format(chunk_index=data_chunk, file_index=data_file), data_bytes)
        episode_rows = self._episodes.add(pa.Table.from_pylist(rows, schema=self._episode_schema))
        episodes_path = self.root / fmt.EPISODES_PATH.format(chunk_index=meta_chunk, file_index=meta_file)
        write_atomic(episodes_path, _parquet_bytes(episode_rows))
        self.tasks = tasks
        for stats in all_stats:
            self._add_stats(stats)
        write_atomic(self.root / fmt.STATS_PATH, self._stats_json())
        total = first + len(episodes)
        self.info.update(total_episodes=total, total_frames=start, total_tasks=len(self.tasks))
        self.info["splits"] = {"train": f"0:{total}"}
        write_atomic(self.root / fmt.INFO_PATH, _json(self.info))  # the commit point
        self._data.bytes = len(data_bytes)
        self._data.close_if(self._data.rows >= FRAMES_PER_FILE or self._data.bytes >= BYTES_PER_FILE)
        self._episodes.close_if(self._episodes.rows >= EPISODES_PER_FILE)
        return list(range(first, total))

    def _episode_values(
        self, given: Mapping[str, np.ndarray], task: str | Sequence[str], episode: int, start: int, tasks: list[str]
    ) -> tuple[dict[str, np.ndarray], list[str]]:
        """Checked values of one episode plus the five default features; new tasks are added to ``tasks``."""
        missing = [n for n in self.recorded if n not in given]
        if missing or set(given) - set(self.recorded):
            raise DatasetError(f"an episode needs exactly {self.recorded}; missing {missing}")
        length = len(given[self.recorded[0]])
        if length == 0 or any(len(given[n]) != length for n in self.recorded):
            raise DatasetError(f"an episode needs the same number (>= 1) of frames of {self.recorded}")
        frame_tasks = [task] * length if isinstance(task, str) else [str(t) for t in task]
        values = {name: self._checked_column(self.features[name], np.asarray(given[name])) for name in self.recorded}
        new_tasks = [t for t in dict.fromkeys(frame_tasks) if t not in tasks]
        tasks.extend(new_tasks)
        lookup = {name: i for i, name in enumerate(tasks)}
        frame_index = np.arange(length, dtype=np.int64)
        values.update(
            timestamp=(frame_index / self.info["fps"]).astype(np.float32),
            frame_index=frame_index,
            episode_index=np.full(length, episode, dtype=np.int64),
            index=start + frame_index,
            task_index=np.array([lookup[t] for t in frame_tasks], dtype=np.int64),
        )
        return values, frame_tasks

    def finalize(self) -> None:
        """Drop frames not saved as an episode. Every saved episode is already complete on disk."""
        self.clear_episode()

    # --- internals ---------------------------------------------------------------------------------------
    def _checked_column(self, feature: Feature, values: np.ndarray) -> np.ndarray:
        """A whole episode's values of a numeric feature, cast as ``add_frame`` casts one frame."""
        if feature.visual or feature.dtype == "string":
            return np.stack([self._checked(feature, v) for v in values]) if len(values) else values
        if values.shape[1:] == () and feature.shape == (1,):
            values = values.reshape(-1, 1)
        if values.shape[1:] != feature.shape:
            raise DatasetError(f"'{feature.name}' must have shape {feature.shape} per frame; got {values.shape[1:]}")
        dtype = fmt.numpy_dtype(feature)
        if not np.can_cast(values.dtype, dtype, casting="same_kind"):
            raise DatasetError(f"'{feature.name}' must be {dtype}; got {values.dtype}")
        return values.astype(dtype, copy=False)

    def _checked(self, feature: Feature, value: Any) -> np.ndarray:
        if feature.dtype == "image":
            array = np.asarray(value)
            channels, height, width = feature.chw
            if array.shape == (height, width, channels):
                array = array.transpose(2, 0, 1)
            if array.shape != (channels, height, width):
                raise DatasetError(
                    f"'{feature.name}' frames must be ({channels}, {height}, {width}); got {array.shape}"
                )
            if array.dtype != np.uint8:
                if array.dtype.kind != "f" or array.min() < 0 or array.max() > 1:
                    raise DatasetError(f"'{feature.name}' frames must be uint8 or floats in [0, 1]")
                array = np.round(array * 255).astype(np.uint8)
            return array
        if feature.dtype == "string":
            return np.array(str(value), dtype=object)
        array = np.asarray(value)
        dtype = fmt.numpy_dtype(feature)
        if array.shape == () and feature.shape == (1,):
            array = array.reshape(1)
        if array.shape != feature.shape:
            raise DatasetError(f"'{feature.name}' must have shape {feature.shape}; got {array.shape}")
        if not np.can_cast(array.dtype, dtype, casting="same_kind"):
            raise DatasetError(f"'{feature.name}' must be {dtype}; got {array.dtype}")
        return array.astype(dtype, copy=False)

    def _stored(self) -> list[str]:
        return [n for n in self.features if self.features[n].dtype != "video"]

    def _data_table(self, values: dict[str, np.ndarray]) -> pa.Table:
        names = self._stored()
        return pa.Table.from_arrays([to_arrow(self.features[n], values[n]) for n in names], names=names)

    def _add_stats(self, episode: Mapping[str, Stats]) -> None:
        for name, stats in episode.items():
            self._stats.setdefault(name, StatsAccumulator()).add(stats)

    def _stats_json(self) -> bytes:
        """Compact: rewritten at every save, and several times faster to encode than indented JSON."""
        merged = {name: accumulator.result() for name, accumulator in self._stats.items()}
        return (json.dumps(to_json(merged)) + "\n").encode()

    def _episode_arrow_schema(self) -> pa.Schema:
        """Column types of LeRobot's episodes metadata (stats lists of doubles; integer and bool min/max keep
        their type; image stats nested (3, 1, 1))."""
        fields = [
            pa.field("episode_index", pa.int64()), pa.field("tasks", pa.list_(pa.string())),
            pa.field("length", pa.int64()), pa.field("data/chunk_index", pa.int64()),
            pa.field("data/file_index", pa.int64()), pa.field("dataset_from_index", pa.int64()),
            pa.field("dataset_to_index", pa.int64()),
        ]  # fmt: skip
        for name, feature in self.features.items():
            if feature.dtype == "string":
                continue
            element = pa.float64()
            if feature.visual:
                element = pa.list_(pa.list_(pa.float64()))
            kind = fmt.numpy_dtype(feature).kind
            extreme = pa.bool_() if kind == "b" else pa.int64() if kind in "iu" and not feature.visual else element
            for key in fmt.STAT_KEYS:
                item = extreme if key in ("min", "max") else pa.int64() if key == "count" else element
                fields.append(pa.field(f"stats/{name}/{key}", pa.list_(item)))
        fields += [pa.field("meta/episodes/chunk_index", pa.int64()), pa.field("meta/episodes/file_index", pa.int64())]
        return pa.schema(fields)


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=4) + "\n").encode()


def _parquet_bytes(table: pa.Table) -> bytes:
    """Snappy-compressed Parquet without dictionary pages or column statistics: float data gains nothing
    from dictionaries, and skipping both makes each durable save about four times cheaper."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, use_dictionary=False, write_statistics=False)
    return bytes(sink.getvalue())


def _tasks_parquet(tasks: list[str]) -> bytes:
    """``tasks.parquet`` as pandas writes a DataFrame indexed by the task strings (pandas restores it)."""
    pandas_meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
                            "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
             "metadata": None},
            {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode", "numpy_type": "object",
             "metadata": None},
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.0",
    }  # fmt: skip
    table = pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()), "__index_level_0__": tasks})
    return _parquet_bytes(table.replace_schema_metadata({"pandas": json.dumps(pandas_meta)}))


def _episode_rows(root: Path) -> pa.Table:
    files = sorted(root.glob(fmt.EPISODES_GLOB))
    if not files:
        return pa.table({})
    return pa.concat_tables([read_parquet(path) for path in files], promote_options="permissive")


def _remove_uncommitted(root: Path, info: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Undo what a save cut short before its ``info.json`` rename left behind: frames and episode rows past
    the committed episodes go (files after the last committed one are deleted, the last one is cut
    back). Returns the committed rows."""
    committed = rows[: int(info["total_episodes"])]
    _cut_back(root, fmt.DATA_GLOB, committed, "data", [int(r["length"]) for r in committed])
    _cut_back(root, fmt.EPISODES_GLOB, committed, "meta/episodes", [1] * len(committed))
    return committed


def _cut_back(root: Path, glob: str, rows: list[dict[str, Any]], prefix: str, sizes: list[int]) -> None:
    """Keep, in the files matching ``glob``, exactly the rows of the committed episodes (``sizes[i]`` rows
    for episode ``i``, located by its ``<prefix>/chunk_index`` and ``<prefix>/file_index``)."""
    kept: dict[tuple[int, int], int] = {}
    for row, size in zip(rows, sizes):
        where = (int(row[f"{prefix}/chunk_index"]), int(row[f"{prefix}/file_index"]))
        kept[where] = kept.get(where, 0) + size
    last = max(kept, default=(-1, -1))
    for path in sorted(root.glob(glob)):
        where = (int(path.parent.name.split("-")[1]), int(path.stem.split("-")[1]))
        if where > last:
            path.unlink()
        elif where == last:
            table = read_parquet(path)
            if table.num_rows > kept[last]:
                write_atomic(path, _parquet_bytes(table.slice(0, kept[last])))


def _row_stats(row: Mapping[str, Any], features: Mapping[str, Any]) -> dict[str, Stats]:
    stats: dict[str, Stats] = {}
    for name in features:
        found = {key: np.asarray(row[f"stats/{name}/{key}"]) for key in fmt.STAT_KEYS if f"stats/{name}/{key}" in row}
        if len(found) == len(fmt.STAT_KEYS):
            stats[name] = found
    return stats
