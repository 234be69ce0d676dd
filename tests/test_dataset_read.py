"""Reading LeRobot datasets with ``LeRobotDataset`` (issue 10, part 1).

- The v3.0 dataset LeRobot 0.4.4 itself wrote (``tests/fixtures/lerobot/reacher_expert``: 50 episodes of
  50 frames at 50 fps): shapes (shape-(1,) features stay (1,)), values against the Parquet file read with
  pyarrow directly, episode boundaries, windows with padding masks, batches, and its ``stats.json``
  against the data.
- The older v2.1 layout, built here from the spec (``../shared/LEROBOT.md`` section 1 and LeRobot v2.1's
  file names): one Parquet file per episode in ``data/chunk-XXX/``, ``meta/episodes.jsonl``,
  ``meta/tasks.jsonl``, ``meta/episodes_stats.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from dataset_helpers import DEFAULT_FEATURES, REACHER

from ding_lite.datasets import LeRobotDataset

REACHER_SHAPES = {
    "observation.state": (10,), "observation.environment_state": (2,), "action": (2,), "next.reward": (1,),
    "next.done": (1,), "timestamp": (1,), "frame_index": (1,), "episode_index": (1,), "index": (1,),
    "task_index": (1,),
}  # fmt: skip
REACHER_DTYPES = {"next.done": torch.bool, "frame_index": torch.int64, "episode_index": torch.int64,
                  "index": torch.int64, "task_index": torch.int64}  # fmt: skip
# LeRobot computes each episode's mean and std over float32 frames in float32: for 50 frames that is off
# by a few float32 roundings (eps 6e-8; measured here: at most 2e-7 of |mean| + std). 1e-5 of the
# feature's spread leaves 50x headroom, and is still 20x below a sample-instead-of-population std over
# one episode (sqrt(50/49) - 1 = 1e-2) merged in, or a mean off by one frame in 2,500 (4e-4).
LEROBOT_FLOAT32_RTOL = 1e-5


@pytest.fixture(scope="module")
def reacher() -> LeRobotDataset:
    return LeRobotDataset(REACHER)


@pytest.fixture(scope="module")
def table() -> pa.Table:
    """The fixture's frames as pyarrow reads them, without ding_lite."""
    return pq.read_table(REACHER / "data/chunk-000/file-000.parquet")


# --- the LeRobot v3.0 fixture -------------------------------------------------------------------------------
def test_lerobot_fixture_has_50_episodes_of_50_frames(reacher: LeRobotDataset) -> None:
    assert len(reacher) == 2500
    assert reacher.num_episodes == 50
    assert reacher.fps == 50
    assert reacher.tasks == ["reach the target"]
    assert {name: feature.shape for name, feature in reacher.features.items()} == REACHER_SHAPES
    for episode in range(50):
        assert reacher.episode_range(episode) == (50 * episode, 50 * episode + 50)


def test_lerobot_fixture_items_keep_shape_1_features_as_1(reacher: LeRobotDataset) -> None:
    item = reacher[0]
    assert set(item) == {*REACHER_SHAPES, "task"}
    assert item["task"] == "reach the target"
    for name, shape in REACHER_SHAPES.items():
        assert tuple(item[name].shape) == shape, f"{name} has shape {tuple(item[name].shape)}"
        assert item[name].dtype == REACHER_DTYPES.get(name, torch.float32), name
    assert tuple(reacher[-1]["index"].shape) == (1,) and int(reacher[-1]["index"]) == 2499
    with pytest.raises(IndexError):
        reacher[2500]


@pytest.mark.parametrize("i", [0, 1, 49, 50, 1234, 2499])
def test_lerobot_fixture_values_equal_what_pyarrow_reads(reacher: LeRobotDataset, table: pa.Table, i: int) -> None:
    row = table.slice(i, 1).to_pylist()[0]
    item = reacher[i]
    for name in REACHER_SHAPES:
        expected = np.asarray(row[name], dtype=item[name].numpy().dtype).reshape(REACHER_SHAPES[name])
        np.testing.assert_array_equal(item[name].numpy(), expected, err_msg=f"{name} of frame {i}")
    assert (int(item["episode_index"]), int(item["frame_index"])) == divmod(i, 50)
    assert float(item["timestamp"]) == np.float32((i % 50) / 50)


def test_lerobot_fixture_columns_equal_what_pyarrow_reads(reacher: LeRobotDataset, table: pa.Table) -> None:
    for name, shape in REACHER_SHAPES.items():
        column = table.column(name).combine_chunks()
        flat = column.flatten() if pa.types.is_fixed_size_list(column.type) else column
        expected = flat.to_numpy(zero_copy_only=False).reshape(2500, *shape)
        np.testing.assert_array_equal(reacher.arrays(name), expected, err_msg=name)
    # the README's facts: environment_state is state[4:6]; one done per episode, on its last frame
    states = reacher.arrays("observation.state")
    np.testing.assert_array_equal(reacher.arrays("observation.environment_state"), states[:, 4:6])
    np.testing.assert_array_equal(reacher.arrays("next.done")[:, 0], np.arange(2500) % 50 == 49)


def test_lerobot_fixture_window_pads_past_the_episode_end(reacher: LeRobotDataset) -> None:
    stop = reacher.episode_range(3)[1]
    i = stop - 4  # frame 46 of episode 3: offsets 0..3 inside, 4..9 past the end
    window = reacher.window(i, action=range(10))
    assert set(window) == {"action", "action_is_pad"}
    assert tuple(window["action"].shape) == (10, 2) and tuple(window["action_is_pad"].shape) == (10,)
    assert window["action_is_pad"].dtype == torch.bool
    assert window["action_is_pad"].tolist() == [False] * 4 + [True] * 6
    actions = reacher.arrays("action")
    np.testing.assert_array_equal(window["action"][:4].numpy(), actions[i:stop])
    np.testing.assert_array_equal(window["action"][4:].numpy(), np.repeat(actions[stop - 1 : stop], 6, axis=0))
    assert not np.array_equal(actions[stop - 1], actions[stop])  # the next episode would have differed


def test_lerobot_fixture_window_pads_before_the_episode_start(reacher: LeRobotDataset) -> None:
    start, _ = reacher.episode_range(3)
    window = reacher.window(start + 1, action=range(-3, 2), **{"observation.state": [-1, 0]})
    assert window["action_is_pad"].tolist() == [True, True, False, False, False]
    actions, states = reacher.arrays("action"), reacher.arrays("observation.state")
    np.testing.assert_array_equal(window["action"].numpy(), actions[[start, start, start, start + 1, start + 2]])
    assert window["observation.state_is_pad"].tolist() == [False, False]
    np.testing.assert_array_equal(window["observation.state"].numpy(), states[start : start + 2])


def test_lerobot_fixture_batches_with_windows(reacher: LeRobotDataset) -> None:
    indices = np.array([0, 47, 199, 2499])
    batch = reacher.batch(indices, windows={"action": range(10)})
    assert set(batch) == {*REACHER_SHAPES, "action_is_pad"}
    assert tuple(batch["action"].shape) == (4, 10, 2)
    assert tuple(batch["action_is_pad"].shape) == (4, 10)
    assert tuple(batch["observation.state"].shape) == (4, 10)
    assert tuple(batch["next.reward"].shape) == (4, 1) and tuple(batch["index"].shape) == (4, 1)
    assert batch["next.done"].dtype == torch.bool
    assert batch["action_is_pad"].sum(dim=1).tolist() == [0, 7, 9, 9]
    for row, i in enumerate(indices):
        window = reacher.window(int(i), action=range(10))
        assert torch.equal(batch["action"][row], window["action"])
        assert torch.equal(batch["action_is_pad"][row], window["action_is_pad"])
        assert torch.equal(batch["observation.state"][row], reacher[int(i)]["observation.state"])


def test_lerobot_fixture_episode_selection(reacher: LeRobotDataset) -> None:
    some = LeRobotDataset(REACHER, episodes=[7, 3])
    assert (len(some), some.num_episodes) == (100, 2)
    assert [some.episode_range(0), some.episode_range(1)] == [(0, 50), (50, 100)]
    np.testing.assert_array_equal(some.arrays("action")[:50], reacher.arrays("action")[350:400])
    np.testing.assert_array_equal(some.arrays("action")[50:], reacher.arrays("action")[150:200])
    assert some.window(49, action=range(3))["action_is_pad"].tolist() == [False, True, True]


def test_lerobot_fixture_stats_json_agrees_with_its_data(reacher: LeRobotDataset) -> None:
    stats = json.loads((REACHER / "meta/stats.json").read_text())
    assert set(stats) == set(REACHER_SHAPES)
    for name in REACHER_SHAPES:
        values = reacher.arrays(name).reshape(2500, -1)
        saved = stats[name]
        assert saved["count"] == [2500], name
        # min and max are exact at the feature's precision (LeRobot computed timestamp's in float64 from
        # frame_index / fps and stored the frames as float32: 0.98 against float32(0.98))
        for key, value in (("min", values.min(0)), ("max", values.max(0))):
            np.testing.assert_array_equal(np.asarray(saved[key]).astype(values.dtype), value, err_msg=f"{name} {key}")
        wide = values.astype(np.float64)
        spread = np.abs(wide.mean(0)) + wide.std(0)
        for key, value in (("mean", wide.mean(0)), ("std", wide.std(0))):
            error = np.abs(np.asarray(saved[key]) - value)
            assert np.all(error <= LEROBOT_FLOAT32_RTOL * spread), f"{name} {key} off by {error.max()}"


def test_lerobot_fixture_stats_are_reachable_from_the_dataset(reacher: LeRobotDataset) -> None:
    assert reacher.stats is not None
    assert reacher.stats["action"]["mean"] == json.loads((REACHER / "meta/stats.json").read_text())["action"]["mean"]


# --- v2.1 ---------------------------------------------------------------------------------------------------
V21_LENGTHS = (4, 6, 5)
V21_TASKS = ("push the block", "open the drawer")
V21_EPISODE_TASK = (0, 1, 0)
V21_CHUNKS_SIZE = 2  # episodes 0 and 1 in chunk-000, episode 2 in chunk-001
V21_FEATURES: dict[str, dict[str, Any]] = {
    "observation.state": {"dtype": "float32", "shape": [3], "names": None},
    "action": {"dtype": "float32", "shape": [1], "names": None},
    "next.done": {"dtype": "bool", "shape": [1], "names": None},
    **{name: {"dtype": "float32" if name == "timestamp" else "int64", "shape": [1], "names": None}
       for name in DEFAULT_FEATURES},
}  # fmt: skip


def _v21_episode(episode: int) -> dict[str, np.ndarray]:
    length = V21_LENGTHS[episode]
    t = np.arange(length)
    start = sum(V21_LENGTHS[:episode])
    return {
        "observation.state": np.stack([t * 0.5 + episode, -t * 0.25, np.full(length, episode * 10.0)], 1).astype(
            np.float32
        ),
        "action": (np.cos(t + episode) * 2).astype(np.float32).reshape(-1, 1),
        "next.done": (t == length - 1).reshape(-1, 1),
        "timestamp": (t / 10).astype(np.float32).reshape(-1, 1),
        "frame_index": t.reshape(-1, 1),
        "episode_index": np.full((length, 1), episode),
        "index": (start + t).reshape(-1, 1),
        "task_index": np.full((length, 1), V21_EPISODE_TASK[episode]),
    }


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def _write_v21(root: Path, episode_stats: bool) -> None:
    """A v2.1 dataset as LeRobot 0.2/0.3 wrote it: vectors as list<float> columns (datasets 3's
    Sequence), shape-(1,) features as scalar columns, one file per episode."""
    (root / "meta").mkdir(parents=True)
    info = {
        "codebase_version": "v2.1", "robot_type": None, "total_episodes": 3, "total_frames": sum(V21_LENGTHS),
        "total_tasks": 2, "total_videos": 0, "total_chunks": 2, "chunks_size": V21_CHUNKS_SIZE, "fps": 10,
        "splits": {"train": "0:3"},
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        "features": V21_FEATURES,
    }  # fmt: skip
    (root / "meta/info.json").write_text(json.dumps(info, indent=4))
    for episode in range(3):
        values = _v21_episode(episode)
        columns = {
            name: pa.array(values[name][:, 0]) if name != "observation.state" else
            pa.array(values[name].tolist(), pa.list_(pa.float32()))
            for name in V21_FEATURES
        }  # fmt: skip
        path = root / f"data/chunk-{episode // V21_CHUNKS_SIZE:03d}/episode_{episode:06d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns), path)
    episodes = [
        {"episode_index": e, "tasks": [V21_TASKS[V21_EPISODE_TASK[e]]], "length": V21_LENGTHS[e]} for e in range(3)
    ]
    _jsonl(root / "meta/episodes.jsonl", episodes)
    tasks = [{"task_index": 1, "task": V21_TASKS[1]}, {"task_index": 0, "task": V21_TASKS[0]}]  # not in order
    _jsonl(root / "meta/tasks.jsonl", tasks)
    if episode_stats:  # LeRobot v2.1's compute_episode_stats: min, max, mean, std, count (no quantiles)
        rows = []
        for episode in range(3):
            values = _v21_episode(episode)
            stats = {
                name: {"min": v.min(0).tolist(), "max": v.max(0).tolist(), "mean": v.mean(0).tolist(),
                       "std": v.std(0).tolist(), "count": [len(v)]}
                for name, v in values.items()
            }  # fmt: skip
            rows.append({"episode_index": episode, "stats": stats})
        _jsonl(root / "meta/episodes_stats.jsonl", rows)


def _v21_all() -> dict[str, np.ndarray]:
    parts = [_v21_episode(e) for e in range(3)]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def test_v21_layout_reads_values_episodes_and_tasks(tmp_path: Path) -> None:
    _write_v21(tmp_path / "v21", episode_stats=False)
    ds = LeRobotDataset(tmp_path / "v21")
    assert (len(ds), ds.num_episodes, ds.fps) == (15, 3, 10)
    assert ds.tasks == list(V21_TASKS)
    assert [ds.episode_range(e) for e in range(3)] == [(0, 4), (4, 10), (10, 15)]
    expected = _v21_all()
    for i in range(len(ds)):
        item = ds[i]
        for name, column in expected.items():
            assert tuple(item[name].shape) == column.shape[1:], name
            np.testing.assert_array_equal(item[name].numpy(), column[i], err_msg=f"{name} of frame {i}")
        assert item["task"] == V21_TASKS[int(expected["task_index"][i, 0])]
    window = ds.window(8, action=range(4))
    assert window["action_is_pad"].tolist() == [False, False, True, True]
    np.testing.assert_array_equal(window["action"].numpy(), expected["action"][[8, 9, 9, 9]])


def test_v21_episode_stats_are_merged(tmp_path: Path) -> None:
    _write_v21(tmp_path / "v21", episode_stats=True)
    ds = LeRobotDataset(tmp_path / "v21")
    assert ds.stats is not None
    for name, values in _v21_all().items():
        merged = ds.stats[name]
        assert merged["count"] == [15], name
        np.testing.assert_array_equal(np.asarray(merged["min"]), values.min(0), err_msg=f"{name} min")
        np.testing.assert_array_equal(np.asarray(merged["max"]), values.max(0), err_msg=f"{name} max")
        wide = values.astype(np.float64)
        spread = np.abs(wide.mean(0)) + wide.std(0) + 1e-300
        # the per-episode stats above are float32 means (numpy keeps the input dtype): merging them is
        # exact up to float32 rounding of each episode's mean and std
        for key, value in (("mean", wide.mean(0)), ("std", wide.std(0))):
            assert np.all(np.abs(np.asarray(merged[key]) - value) <= LEROBOT_FLOAT32_RTOL * spread), f"{name} {key}"
