"""Time limits are not terminals: online transitions of a truncated ending keep ``done`` false (the TD target
bootstraps from the real successor), ``ding record`` writes ``next.truncated``, and the offline buffer drops a
truncated last frame (it has no successor) while keeping terminals."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ding_lite.config import read_config
from ding_lite.data.nstep import NStepTransitions
from ding_lite.data.offline import load_offline_transitions
from ding_lite.datasets import LeRobotDataset
from ding_lite.datasets.writer import DatasetWriter
from ding_lite.entry.record import record
from ding_lite.envs.pendulum import PendulumEnv
from ding_lite.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def obs(*ids: int) -> np.ndarray:
    return np.array([[float(i)] for i in ids], dtype=np.float32)


@pytest.mark.parametrize("n", [1, 3])
def test_a_truncated_ending_flushes_with_done_false_and_a_terminated_one_with_done_true(n: int) -> None:
    nstep = NStepTransitions(env_num=2, nstep=n, gamma=0.5)
    out = []
    for t in range(3):
        last = t == 2
        done = np.array([last, last])
        truncated = np.array([last, False])  # env 0 hits a time limit, env 1 terminates, both at t = 2
        found = nstep.add(obs(t, 10 + t), np.zeros(2), np.ones(2), done, obs(100 + t, 110 + t), truncated)
        if found is not None:
            out.append(found)
    rows = {(float(o[0]), float(nxt[0])): bool(d) for batch in out
            for o, nxt, d in zip(batch["obs"], batch["next_obs"], batch["done"])}  # fmt: skip
    assert rows[(2.0, 102.0)] is False and rows[(12.0, 112.0)] is True  # the last steps of each env
    assert all(not d for (o, _), d in rows.items() if o in (0.0, 1.0))  # env 0: nothing is terminal
    assert rows[(10.0, 112.0 if n == 3 else 110.0)] is (n == 3)  # env 1's first step: terminal only if its
    # n-step window reaches the terminal step


def test_without_truncation_flags_every_ending_is_done_as_before() -> None:
    nstep = NStepTransitions(env_num=1, nstep=1, gamma=0.5)
    found = nstep.add(obs(0), np.zeros(1), np.ones(1), np.array([True]), obs(1))
    assert found is not None and found["done"].tolist() == [True]


@pytest.fixture(scope="module")
def pendulum_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two pendulum episodes: 200 steps each, ended by the time limit alone."""
    root = tmp_path_factory.mktemp("trunc") / "demos"
    main, create = read_config(REPO / "dizoo_configs" / "pendulum_sac_config.py")
    main = copy.deepcopy(main)
    main["env"].update(collector_env_num=2)
    record((main, create), root, 2, task="swing", quiet=True,
           controller=lambda o: np.zeros((len(o), 1), np.float32))  # fmt: skip
    return root


def test_ding_record_marks_time_limit_endings_in_next_truncated(pendulum_recording: Path) -> None:
    ds = LeRobotDataset(pendulum_recording)
    done, truncated = ds.arrays("next.done").reshape(-1), ds.arrays("next.truncated").reshape(-1)
    assert done.sum() == 2 and np.array_equal(done, truncated)  # both endings are the 200-step limit


def test_the_offline_buffer_drops_truncated_last_frames_of_a_ding_recording(pendulum_recording: Path) -> None:
    cfg = {"offline_dataset": {"root": str(pendulum_recording), "obs_features": ["observation.state"]},
           "model": {"obs_shape": 3, "action_shape": 1}, "learn": {"ignore_done": False}}  # fmt: skip
    found = load_offline_transitions(cfg, PendulumEnv({"act_scale": True}), 0.99)
    assert found is not None
    assert len(found["reward"]) == 2 * 199 and not found["done"].any()


def lerobot_style(root: Path) -> Path:
    """Two 3-frame episodes with next.done on both endings and no next.truncated, as LeRobot writes them."""
    features: dict[str, dict[str, Any]] = {
        "observation.state": {"dtype": "float32", "shape": [3], "names": None},
        "action": {"dtype": "float32", "shape": [1], "names": None},
        "next.reward": {"dtype": "float32", "shape": [1], "names": None},
        "next.done": {"dtype": "bool", "shape": [1], "names": None},
    }
    writer = DatasetWriter.create(root, fps=20, features=features)
    for _ in range(2):
        writer.save_episode_arrays({"observation.state": np.zeros((3, 3), np.float32),
                                    "action": np.zeros((3, 1), np.float32), "next.reward": np.zeros((3, 1), np.float32),
                                    "next.done": np.array([[False], [False], [True]])}, "t")  # fmt: skip
    writer.finalize()
    return root


@pytest.mark.parametrize(("ends", "count", "terminals"), [("done", 6, 2), ("truncated", 4, 0)])
def test_episode_ends_says_what_lerobots_done_flags_mean(tmp_path: Path, ends: str, count: int, terminals: int) -> None:
    root = lerobot_style(tmp_path / "ds")
    cfg = {"offline_dataset": {"root": str(root), "obs_features": ["observation.state"], "episode_ends": ends},
           "model": {"obs_shape": 3, "action_shape": 1}, "learn": {"ignore_done": False}}  # fmt: skip
    found = load_offline_transitions(cfg, PendulumEnv({"act_scale": True}), 0.99)
    assert found is not None
    assert len(found["reward"]) == count and int(found["done"].sum()) == terminals


def test_an_unknown_episode_ends_value_is_named(tmp_path: Path) -> None:
    root = lerobot_style(tmp_path / "ds")
    cfg = {"offline_dataset": {"root": str(root), "obs_features": ["observation.state"], "episode_ends": "cut"},
           "model": {"obs_shape": 3, "action_shape": 1}, "learn": {"ignore_done": False}}  # fmt: skip
    with pytest.raises(ConfigError, match="episode_ends is 'cut'; use 'done' or 'truncated'"):
        load_offline_transitions(cfg, PendulumEnv({"act_scale": True}), 0.99)
