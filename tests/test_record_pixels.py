"""Recording a pixel env writes ``observation.image`` features (PNG frames, (H, W, 3) in info.json) that
read back as exactly the frames the env rendered, next to ``observation.state`` for 'pixels_state'."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ding_lite.config import read_config
from ding_lite.datasets import LeRobotDataset
from ding_lite.entry.record import record
from ding_lite.envs import PendulumEnv
from ding_lite.envs.pixels import with_obs_type

PENDULUM = Path(__file__).resolve().parents[1] / "dizoo_configs" / "pendulum_sac_config.py"
SIZE = 16


def pixel_config(obs_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    main, create = read_config(PENDULUM)
    main = copy.deepcopy(main)
    main["env"].update(obs_type=obs_type, image_size=SIZE, collector_env_num=2)
    state = {"image": [3, SIZE, SIZE], "state": 3}
    main["policy"]["model"]["obs_shape"] = state if obs_type == "pixels_state" else [3, SIZE, SIZE]
    return main, create


def half_torque(obs: Any) -> np.ndarray:
    count = len(obs["image"]) if isinstance(obs, dict) else len(obs)
    return np.full((count, 1), 0.5, np.float32)


@pytest.mark.parametrize("obs_type", ["pixels", "pixels_state"])
def test_recorded_frames_are_the_frames_the_env_renders(obs_type: str, tmp_path: Path) -> None:
    main, create = pixel_config(obs_type)
    record((main, create), tmp_path / "ds", 2, controller=half_torque, task="watch", seed=3, quiet=True)
    ds = LeRobotDataset(tmp_path / "ds", image_dtype="uint8")
    feature = ds.info["features"]["observation.image"]
    assert feature == {"dtype": "image", "shape": [SIZE, SIZE, 3], "names": ["height", "width", "channels"]}
    assert ("observation.state" in ds.features) == (obs_type == "pixels_state")
    # replay env 0's first episode (seed 3, the same actions) and compare every frame byte for byte
    env = with_obs_type(PendulumEnv(main["env"]), {"obs_type": "pixels_state", "image_size": SIZE})
    env.seed(3)
    obs = env.reset()
    start, stop = ds.episode_range(0)
    for index in range(start, stop):
        item = ds[index]
        np.testing.assert_array_equal(item["observation.image"].numpy(), obs["image"])
        if obs_type == "pixels_state":
            np.testing.assert_array_equal(item["observation.state"].numpy(), obs["state"])
        assert item["action"].tolist() == [1.0]  # 0.5 with act_scale: a torque of 1 N*m
        obs, *_ = env.step(np.array([0.5], np.float32))
