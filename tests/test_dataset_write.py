"""Writing LeRobot v3.0 datasets with ``DatasetWriter`` (issue 10, part 2).

- Round trip: episodes written with ``add_frame`` / ``save_episode`` read back with ``LeRobotDataset``
  value for value; ``info.json``, ``stats.json``, the episodes parquet and ``tasks.parquet`` are what
  LeRobot 0.4.4 writes (``../shared/LEROBOT.md`` sections 2-4).
- Appending to the dataset LeRobot itself wrote (``tests/fixtures/lerobot/reacher_expert``) with
  ``DatasetWriter.resume``: the new episode reads back, the old ones are unchanged, and the new files have
  LeRobot's Arrow schema.
- The writer's input checks (``add_frame``, ``create``).
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from dataset_helpers import (
    DEFAULT_FEATURES,
    INFO_KEYS,
    REACHER,
    STAT_KEYS,
    copy_dataset,
    data_file_of,
    episode_rows,
    read_info,
)

from ding_lite.datasets import DatasetError, LeRobotDataset
from ding_lite.datasets.writer import DatasetWriter

FPS = 10
FEATURES: dict[str, dict[str, Any]] = {
    "observation.state": {"dtype": "float32", "shape": [4], "names": ["x", "y", "vx", "vy"]},
    "action": {"dtype": "float32", "shape": [1], "names": None},
    "next.done": {"dtype": "bool", "shape": [1], "names": None},
    "observation.image": {"dtype": "image", "shape": [8, 8, 3], "names": ["height", "width", "channels"]},
}
PICK, PLACE = "pick up the cube", "place the cube"
# per episode, the task of each frame: two tasks, and one episode that has both
EPISODE_TASKS = ([PICK] * 5, [PLACE] * 7, [PLACE, PLACE, PICK, PICK])

# Mean and std in stats.json merge per-episode float64 values; the merge adds in another order than
# numpy's mean over all frames, so the two differ by a few float64 roundings (~1e-16 relative). 1e-12 of
# the feature's spread leaves 1000x headroom and is still ~1e5x below what a float32 accumulation
# (~1e-7) or a sample std instead of a population std (sqrt(16/15) - 1 = 3% here) would give.
MERGE_RTOL = 1e-12


@dataclass
class Written:
    root: Path
    columns: dict[str, np.ndarray]  # every feature over all frames, as the reader should give it back
    tasks: list[str]  # task string of each frame
    starts: list[int]


def _frames(rng: np.random.Generator, length: int) -> dict[str, np.ndarray]:
    return {
        "observation.state": rng.standard_normal((length, 4)).astype(np.float32),
        "action": rng.uniform(-2, 2, (length, 1)).astype(np.float32),
        "next.done": (np.arange(length) == length - 1).reshape(length, 1),
        "observation.image": rng.integers(0, 256, (length, 8, 8, 3), dtype=np.uint8),  # (H, W, C) as cameras give
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    root = tmp_path_factory.mktemp("round_trip") / "ds"
    rng = np.random.default_rng(7)
    writer = DatasetWriter.create(root, fps=FPS, features=FEATURES, robot_type="arm")
    parts: list[dict[str, np.ndarray]] = []
    tasks: list[str] = []
    starts = [0]
    for episode, frame_tasks in enumerate(EPISODE_TASKS):
        values = _frames(rng, len(frame_tasks))
        for i, task in enumerate(frame_tasks):
            writer.add_frame({**{name: values[name][i] for name in FEATURES}, "task": task})
        assert writer.save_episode() == episode
        length = len(frame_tasks)
        frame_index = np.arange(length)
        values["observation.image"] = values["observation.image"].transpose(0, 3, 1, 2)  # read back (C, H, W)
        values["timestamp"] = (frame_index / FPS).astype(np.float32).reshape(-1, 1)
        values["frame_index"] = frame_index.reshape(-1, 1)
        values["episode_index"] = np.full((length, 1), episode)
        values["index"] = (starts[-1] + frame_index).reshape(-1, 1)
        values["task_index"] = np.array([[[PICK, PLACE].index(t)] for t in frame_tasks])
        parts.append(values)
        tasks += frame_tasks
        starts.append(starts[-1] + length)
    writer.finalize()
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    return Written(root, columns, tasks, starts)


# --- round trip -----------------------------------------------------------------------------------------------
def test_round_trip_gives_back_every_value_of_every_frame(written: Written) -> None:
    ds = LeRobotDataset(written.root, image_dtype="uint8")
    assert len(ds) == len(written.tasks) == 16
    dtypes = {"float32": torch.float32, "bool": torch.bool, "int64": torch.int64, "uint8": torch.uint8}
    for i in range(len(ds)):
        item = ds[i]
        assert set(item) == {*written.columns, "task"}
        assert item["task"] == written.tasks[i]
        for name, column in written.columns.items():
            value = item[name]
            assert value.dtype == dtypes[str(column.dtype)], f"{name} of frame {i} is {value.dtype}"
            assert tuple(value.shape) == column.shape[1:], f"{name} of frame {i} has shape {tuple(value.shape)}"
            np.testing.assert_array_equal(value.numpy(), column[i], err_msg=f"{name} of frame {i}")


def test_round_trip_images_default_to_float32_in_the_unit_range(written: Written) -> None:
    ds = LeRobotDataset(written.root)
    expected = written.columns["observation.image"].astype(np.float32) / np.float32(255)  # torchvision ToTensor
    batch = ds.batch(np.arange(len(ds)), keys=["observation.image"])["observation.image"]
    assert batch.dtype == torch.float32 and tuple(batch.shape) == (16, 3, 8, 8)
    np.testing.assert_array_equal(batch.numpy(), expected)
    assert float(batch.min()) >= 0.0 and float(batch.max()) <= 1.0
    np.testing.assert_array_equal(ds[5]["observation.image"].numpy(), expected[5])


def test_round_trip_keeps_episode_boundaries_and_tasks(written: Written) -> None:
    ds = LeRobotDataset(written.root)
    assert ds.num_episodes == 3
    assert ds.tasks == [PICK, PLACE]
    for episode in range(3):
        assert ds.episode_range(episode) == (written.starts[episode], written.starts[episode + 1])
    rows = episode_rows(written.root)
    assert [row["tasks"] for row in rows] == [[PICK], [PLACE], [PLACE, PICK]]
    assert [row["length"] for row in rows] == [5, 7, 4]
    assert [(row["dataset_from_index"], row["dataset_to_index"]) for row in rows] == [(0, 5), (5, 12), (12, 16)]
    for row in rows:  # each row points at the data file that holds its frames
        index = pq.read_table(data_file_of(written.root, row), columns=["index"]).column("index").to_pylist()
        assert set(range(row["dataset_from_index"], row["dataset_to_index"])) <= set(index)


def test_info_json_has_exactly_lerobots_v30_keys(written: Written) -> None:
    info = read_info(written.root)
    assert list(info) == INFO_KEYS
    assert list(read_info(REACHER)) == INFO_KEYS  # what LeRobot 0.4.4 itself wrote
    assert info["codebase_version"] == "v3.0"
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 16, 2)
    assert (info["fps"], info["robot_type"], info["splits"], info["video_path"]) == (FPS, "arm", {"train": "0:3"}, None)
    assert (info["chunks_size"], info["data_files_size_in_mb"], info["video_files_size_in_mb"]) == (1000, 100, 200)
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert list(info["features"]) == [*FEATURES, *DEFAULT_FEATURES]  # LeRobot appends its defaults
    assert info["features"]["observation.image"] == FEATURES["observation.image"]
    assert info["features"]["observation.state"] == FEATURES["observation.state"]
    for name in DEFAULT_FEATURES:
        dtype = "float32" if name == "timestamp" else "int64"
        assert info["features"][name] == {"dtype": dtype, "shape": [1], "names": None}


def _expected_stats(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    if name == "observation.image":  # per channel over every pixel, scaled to [0, 1], shape (3, 1, 1)
        pixels = values.transpose(1, 0, 2, 3).reshape(3, -1) / 255.0
        reduce = {"min": pixels.min(1), "max": pixels.max(1), "mean": pixels.mean(1), "std": pixels.std(1)}
        return {key: value.reshape(3, 1, 1) for key, value in reduce.items()}
    wide = values.astype(np.float64)
    return {"min": values.min(0), "max": values.max(0), "mean": wide.mean(0), "std": wide.std(0)}


def _check_stats(stats: dict[str, Any], feature: str, values: np.ndarray, where: str = "") -> None:
    name = f"{feature}{where}"
    assert set(stats) == STAT_KEYS, f"{name} has stats {sorted(stats)}"
    expected = _expected_stats(feature, values)
    assert stats["count"] == [len(values)], name
    for key in ("min", "max"):
        np.testing.assert_array_equal(np.asarray(stats[key]), expected[key], err_msg=f"{name} {key}")
    spread = np.abs(expected["mean"]) + expected["std"]
    for key in ("mean", "std"):
        stored = np.asarray(stats[key], dtype=np.float64)
        assert stored.shape == expected[key].shape, f"{name} {key} has shape {stored.shape}"
        assert np.all(np.abs(stored - expected[key]) <= MERGE_RTOL * spread), f"{name} {key}: {stored}"
    quantiles = [np.asarray(stats[key], dtype=np.float64) for key in ("q01", "q10", "q50", "q90", "q99")]
    for low, high in zip([expected["min"], *quantiles], [*quantiles, expected["max"]]):
        assert low.shape == high.shape and np.all(low <= high), f"{name} quantiles out of order or range"


def test_stats_json_matches_numpy_over_all_frames(written: Written) -> None:
    stats = json.loads((written.root / "meta/stats.json").read_text())
    assert set(stats) == set(written.columns)  # every feature, defaults included
    for name, values in written.columns.items():
        _check_stats(stats[name], name, values)
    # population std: the 16 frame indices of episodes 5, 7, 4 frames long
    assert stats["frame_index"]["std"][0] == pytest.approx(float(np.std(written.columns["frame_index"])), rel=1e-12)
    # integer and bool min/max keep their type
    assert all(type(v) is bool for v in stats["next.done"]["min"] + stats["next.done"]["max"])
    assert stats["next.done"]["min"] == [False] and stats["next.done"]["max"] == [True]
    assert all(type(v) is int for v in stats["index"]["min"] + stats["index"]["max"] + stats["index"]["count"])


def test_episodes_parquet_holds_each_episodes_stats(written: Written) -> None:
    rows = episode_rows(written.root)
    for episode, row in enumerate(rows):
        span = slice(written.starts[episode], written.starts[episode + 1])
        for name, values in written.columns.items():
            stats = {key[len(f"stats/{name}/") :]: v for key, v in row.items() if key.startswith(f"stats/{name}/")}
            _check_stats(stats, name, values[span], f" of episode {episode}")


def test_tasks_parquet_is_indexed_by_task_strings_as_pandas_writes_it(written: Written) -> None:
    path = written.root / "meta/tasks.parquet"
    meta = json.loads(pq.read_schema(path).metadata[b"pandas"])
    lerobot = json.loads(pq.read_schema(REACHER / "meta/tasks.parquet").metadata[b"pandas"])
    assert meta["index_columns"] == lerobot["index_columns"] == ["__index_level_0__"]
    assert [(c["name"], c["field_name"]) for c in meta["columns"]] == [
        (c["name"], c["field_name"]) for c in lerobot["columns"]
    ]
    table = pq.read_table(path)
    order = np.argsort(table.column("task_index").to_numpy())
    assert sorted(table.column("task_index").to_pylist()) == [0, 1]
    assert [table.column("__index_level_0__").to_pylist()[i] for i in order] == [PICK, PLACE]
    if importlib.util.find_spec("pandas") is not None:  # not a dependency; checked where installed
        import pandas

        frame = pandas.read_parquet(path).sort_values("task_index")
        assert list(frame.index) == [PICK, PLACE] and list(frame.columns) == ["task_index"]


def test_save_episode_arrays_writes_what_add_frame_writes(written: Written, tmp_path: Path) -> None:
    writer = DatasetWriter.create(tmp_path / "ds", fps=FPS, features=FEATURES, robot_type="arm")
    columns = written.columns
    for episode, frame_tasks in enumerate(EPISODE_TASKS):
        span = slice(written.starts[episode], written.starts[episode + 1])
        values = {name: columns[name][span] for name in FEATURES}
        values["observation.image"] = values["observation.image"].transpose(0, 2, 3, 1)
        writer.save_episode_arrays(values, frame_tasks)
    a, b = LeRobotDataset(written.root, image_dtype="uint8"), LeRobotDataset(tmp_path / "ds", image_dtype="uint8")
    every = np.arange(16)
    for name in columns:
        np.testing.assert_array_equal(b.batch(every, keys=[name])[name], a.batch(every, keys=[name])[name])
    assert json.loads((tmp_path / "ds/meta/stats.json").read_text()) == json.loads(
        (written.root / "meta/stats.json").read_text()
    )


# --- appending to what LeRobot wrote --------------------------------------------------------------------------
APPENDED = 7


def _appended_values() -> dict[str, np.ndarray]:
    t = np.arange(APPENDED, dtype=np.float32)
    return {
        "observation.state": np.stack([t + k for k in range(10)], axis=1) / 10,
        "observation.environment_state": np.stack([t * 0.01, -t * 0.01], axis=1),
        "action": np.stack([np.sin(t), np.cos(t)], axis=1).astype(np.float32),
        "next.reward": (-t).reshape(-1, 1),
        "next.done": (np.arange(APPENDED) == APPENDED - 1).reshape(-1, 1),
    }


@pytest.fixture(scope="module")
def appended(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_dataset(REACHER, tmp_path_factory.mktemp("append") / "reacher")
    writer = DatasetWriter.resume(root)
    assert writer.total_episodes == 50
    values = _appended_values()
    for i in range(APPENDED):
        writer.add_frame({**{name: column[i] for name, column in values.items()}, "task": "reach the target"})
    assert writer.save_episode() == 50
    writer.finalize()
    return root


def test_resume_on_the_lerobot_fixture_appends_an_episode_that_reads_back(appended: Path) -> None:
    ds = LeRobotDataset(appended)
    assert (ds.num_episodes, len(ds), ds.tasks) == (51, 2500 + APPENDED, ["reach the target"])
    assert ds.episode_range(50) == (2500, 2500 + APPENDED)
    info = read_info(appended)
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (51, 2507, 1)
    assert info["splits"] == {"train": "0:51"}
    for name, column in _appended_values().items():
        np.testing.assert_array_equal(ds.arrays(name)[2500:], column, err_msg=name)
    frame = np.arange(APPENDED)
    np.testing.assert_array_equal(ds.arrays("index")[2500:, 0], 2500 + frame)
    np.testing.assert_array_equal(ds.arrays("frame_index")[2500:, 0], frame)
    np.testing.assert_array_equal(ds.arrays("episode_index")[2500:, 0], np.full(APPENDED, 50))
    np.testing.assert_array_equal(ds.arrays("task_index")[2500:, 0], np.zeros(APPENDED))
    np.testing.assert_array_equal(ds.arrays("timestamp")[2500:, 0], (frame / 50).astype(np.float32))
    assert ds[2506]["task"] == "reach the target"
    assert tuple(ds[2506]["next.reward"].shape) == (1,)


def test_resume_on_the_lerobot_fixture_keeps_the_old_episodes_unchanged(appended: Path) -> None:
    old, new = LeRobotDataset(REACHER), LeRobotDataset(appended)
    for name in old.features:
        np.testing.assert_array_equal(new.arrays(name)[:2500], old.arrays(name), err_msg=name)
    rows = episode_rows(appended)
    assert len(rows) == 51
    assert rows[:50] == episode_rows(REACHER)


def test_appended_files_have_lerobots_arrow_schema(appended: Path) -> None:
    lerobot_data = pq.read_schema(REACHER / "data/chunk-000/file-000.parquet")
    lerobot_episodes = pq.read_schema(REACHER / "meta/episodes/chunk-000/file-000.parquet")
    data_files = sorted(appended.glob("data/*/*.parquet"))
    episode_files = sorted(appended.glob("meta/episodes/*/*.parquet"))
    assert data_file_of(appended, episode_rows(appended)[50]) in data_files
    for path in data_files:
        schema = pq.read_schema(path)
        assert schema.equals(lerobot_data, check_metadata=False), f"{path}:\n{schema}"
        # the Hugging Face feature types LeRobot's loader reads (the fingerprint aside)
        hf, lerobot_hf = (json.loads(s.metadata[b"huggingface"])["info"] for s in (schema, lerobot_data))
        assert hf == lerobot_hf, path
    for path in episode_files:
        schema = pq.read_schema(path)
        assert schema.equals(lerobot_episodes, check_metadata=False), f"{path}:\n{schema}"


def test_stats_after_appending_to_the_fixture_cover_every_frame(appended: Path) -> None:
    stats = json.loads((appended / "meta/stats.json").read_text())
    ds = LeRobotDataset(appended)
    for name in ds.features:
        values = ds.arrays(name).reshape(len(ds), -1)
        saved = stats[name]
        assert saved["count"] == [2507], name
        # LeRobot computed some min/max in float64 before storing float32 frames (timestamp max 0.98):
        # they are compared at the feature's own precision
        for key, value in (("min", values.min(0)), ("max", values.max(0))):
            np.testing.assert_array_equal(np.asarray(saved[key]).astype(values.dtype), value, err_msg=f"{name} {key}")
        wide = values.astype(np.float64)
        spread = np.abs(wide.mean(0)) + wide.std(0)
        # LeRobot's per-episode means and stds were computed in float32 (see test_dataset_read.py)
        assert np.all(np.abs(np.asarray(saved["mean"]) - wide.mean(0)) <= 1e-5 * spread), name
        assert np.all(np.abs(np.asarray(saved["std"]) - wide.std(0)) <= 1e-5 * spread), name


# --- input checks -----------------------------------------------------------------------------------------
SMALL = {
    "observation.state": {"dtype": "float32", "shape": [3], "names": None},
    "action": {"dtype": "float32", "shape": [1], "names": None},
}


def _good(value: float = 0.0) -> dict[str, Any]:
    return {"observation.state": np.full(3, value, np.float32), "action": np.array([value], np.float32), "task": "t"}


def test_add_frame_without_a_feature_raises_naming_it(tmp_path: Path) -> None:
    writer = DatasetWriter.create(tmp_path / "ds", fps=FPS, features=SMALL)
    frame = _good()
    del frame["action"]
    with pytest.raises(DatasetError, match=r"missing \['action'\]"):
        writer.add_frame(frame)


def test_add_frame_with_an_unknown_key_raises_naming_it(tmp_path: Path) -> None:
    writer = DatasetWriter.create(tmp_path / "ds", fps=FPS, features=SMALL)
    with pytest.raises(DatasetError, match=r"unexpected \['observation\.velocity'\]"):
        writer.add_frame({**_good(), "observation.velocity": np.zeros(3, np.float32)})
    with pytest.raises(DatasetError, match=r"unexpected \['timestamp'\]"):  # filled in by the writer (LeRobot)
        writer.add_frame({**_good(), "timestamp": 0.0})


@pytest.mark.parametrize(
    ("name", "value"),
    [("observation.state", np.zeros(4, np.float32)), ("observation.state", np.zeros((1, 3), np.float32)),
     ("action", np.zeros(2, np.float32))],
)  # fmt: skip
def test_add_frame_with_a_wrong_shape_raises_naming_the_feature(tmp_path: Path, name: str, value: np.ndarray) -> None:
    writer = DatasetWriter.create(tmp_path / "ds", fps=FPS, features=SMALL)
    with pytest.raises(DatasetError, match=re.escape(f"'{name}'")) as raised:
        writer.add_frame({**_good(), name: value})
    assert str(tuple(value.shape)) in str(raised.value)


def test_a_rejected_frame_leaves_the_episode_as_it_was(tmp_path: Path) -> None:
    """A frame refused by add_frame adds nothing, whichever feature was wrong: the episode's earlier and
    later frames still save as one episode (LeRobot validates a whole frame before keeping any of it)."""
    writer = DatasetWriter.create(tmp_path / "ds", fps=FPS, features=SMALL)
    writer.add_frame(_good(1.0))
    with pytest.raises(DatasetError, match="'action'"):
        writer.add_frame({**_good(9.0), "action": np.zeros(2, np.float32)})  # state is fine, action is not
    writer.add_frame(_good(2.0))
    assert writer.pending_frames == 2
    writer.save_episode()
    ds = LeRobotDataset(tmp_path / "ds")
    np.testing.assert_array_equal(ds.arrays("observation.state"), [[1.0] * 3, [2.0] * 3])
    np.testing.assert_array_equal(ds.arrays("action"), [[1.0], [2.0]])


def test_a_shape_1_feature_accepts_a_python_float(tmp_path: Path) -> None:
    writer = DatasetWriter.create(tmp_path / "ds", fps=FPS, features=SMALL)
    writer.add_frame({**_good(), "action": 0.25})
    writer.add_frame({**_good(), "action": -1.5})
    writer.save_episode()
    ds = LeRobotDataset(tmp_path / "ds")
    assert tuple(ds[0]["action"].shape) == (1,)
    np.testing.assert_array_equal(ds.arrays("action"), np.array([[0.25], [-1.5]], np.float32))


def test_create_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match=re.escape(str(root))):
        DatasetWriter.create(root, fps=FPS, features=SMALL)
    assert [p.name for p in root.iterdir()] == ["notes.txt"] and (root / "notes.txt").read_text() == "mine"
    DatasetWriter.create(tmp_path / "empty", fps=FPS, features=SMALL)  # a new folder is fine
    (tmp_path / "made").mkdir()
    DatasetWriter.create(tmp_path / "made", fps=FPS, features=SMALL)  # and so is an empty one
    with pytest.raises(DatasetError):  # a dataset is not overwritten either
        DatasetWriter.create(tmp_path / "made", fps=FPS, features=SMALL)
