"""``DatasetWriter.save_episodes`` commits several episodes at once (what ``ding record`` does for episodes
that end on the same step): the dataset equals one written episode by episode, and a batch with a bad
episode writes nothing at all."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ding_lite.datasets import DatasetError, LeRobotDataset
from ding_lite.datasets.writer import DatasetWriter

FEATURES = {
    "observation.state": {"dtype": "float32", "shape": [3], "names": None},
    "action": {"dtype": "float32", "shape": [1], "names": None},
}


def episode(seed: int, length: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "observation.state": rng.standard_normal((length, 3)).astype(np.float32),
        "action": rng.standard_normal((length, 1)).astype(np.float32),
    }


def test_one_commit_of_several_episodes_equals_saving_them_one_by_one(tmp_path: Path) -> None:
    batch = [(episode(seed, 5 + seed), "a" if seed % 2 else "b") for seed in range(4)]
    one_by_one = DatasetWriter.create(tmp_path / "single", fps=10, features=FEATURES)
    for values, task in batch:
        one_by_one.save_episode_arrays(values, task)
    together = DatasetWriter.create(tmp_path / "batch", fps=10, features=FEATURES)
    assert together.save_episodes(batch) == [0, 1, 2, 3]
    single, batched = LeRobotDataset(tmp_path / "single"), LeRobotDataset(tmp_path / "batch")
    assert single.tasks == batched.tasks and single.num_episodes == batched.num_episodes == 4
    for name in single.features:
        np.testing.assert_array_equal(single.arrays(name), batched.arrays(name), err_msg=name)
    assert [single.episode_range(e) for e in range(4)] == [batched.episode_range(e) for e in range(4)]
    stats_single = json.loads((tmp_path / "single/meta/stats.json").read_text())
    stats_batched = json.loads((tmp_path / "batch/meta/stats.json").read_text())
    assert stats_single.keys() == stats_batched.keys()
    for name in stats_single:  # merged in a different order: equal up to float64 rounding
        for key, value in stats_single[name].items():
            np.testing.assert_allclose(stats_batched[name][key], value, rtol=1e-12, err_msg=f"{name} {key}")


def test_a_batch_with_a_bad_episode_writes_nothing(tmp_path: Path) -> None:
    writer = DatasetWriter.create(tmp_path / "ds", fps=10, features=FEATURES)
    writer.save_episode_arrays(episode(0, 4), "a")
    before = {p: p.read_bytes() for p in sorted((tmp_path / "ds").rglob("*")) if p.is_file()}
    bad = episode(2, 4)
    bad["action"] = np.zeros((4, 2), np.float32)
    with pytest.raises(DatasetError, match="'action' must have shape"):
        writer.save_episodes([(episode(1, 4), "new task"), (bad, "a")])
    after = {p: p.read_bytes() for p in sorted((tmp_path / "ds").rglob("*")) if p.is_file()}
    assert after == before
    assert writer.save_episodes([(episode(3, 4), "a")]) == [1]
    assert LeRobotDataset(tmp_path / "ds").tasks == ["a"]
