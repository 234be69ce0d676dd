"""Demonstrations from pixels: a pixels_state (or pixels) pendulum recording in the offline buffer of a SAC
run on the same kind of env, frames kept uint8 as the env gives them, state and frames of the same frame."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ding_lite.config import read_config
from ding_lite.data.offline import load_offline_transitions
from ding_lite.datasets import LeRobotDataset
from ding_lite.entry import serial_pipeline
from ding_lite.entry.record import record
from ding_lite.envs.manager import make_env
from tests.test_pixels import small_run

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two pixels_state pendulum episodes (16x16 frames, 200 steps each, time-limit endings)."""
    root = tmp_path_factory.mktemp("offline_pixels") / "demos"
    main, create = read_config(REPO / "dizoo_configs" / "pendulum_sac_config.py")
    main = copy.deepcopy(main)
    main["env"].update(obs_type="pixels_state", image_size=16, collector_env_num=2)
    main["policy"]["model"]["obs_shape"] = {"image": [3, 16, 16], "state": 3}
    record((main, create), root, 2, task="damp", quiet=True,
           controller=lambda obs: np.clip(-obs["state"][:, 2:3], -1, 1).astype(np.float32))  # fmt: skip
    return root


def policy_cfg(root: Path, obs_type: str, features: list[str]) -> dict[str, Any]:
    shape: Any = [3, 16, 16] if obs_type == "pixels" else {"image": [3, 16, 16], "state": 3}
    return {"offline_dataset": {"root": str(root), "obs_features": features},
            "model": {"obs_shape": shape, "action_shape": 1}, "learn": {"ignore_done": False}}  # fmt: skip


def test_frames_and_state_of_one_frame_become_the_observation(demos: Path) -> None:
    env = make_env({"type": "pendulum", "act_scale": True, "obs_type": "pixels_state", "image_size": 16})
    found = load_offline_transitions(policy_cfg(demos, "pixels_state", ["observation.image", "observation.state"]),
                                     env, 0.99)  # fmt: skip
    assert found is not None
    ds = LeRobotDataset(demos, image_dtype="uint8")
    frames = ds.batch(np.arange(len(ds)), keys=["observation.image"])["observation.image"].numpy()
    states = ds.arrays("observation.state")
    rows = [t for t in range(len(ds)) if t not in (199, 399)]  # the time-limit endings have no successor
    assert found["obs"]["image"].dtype == np.uint8 and np.array_equal(found["obs"]["image"], frames[rows])
    assert np.array_equal(found["obs"]["state"], states[rows])
    assert np.array_equal(found["next_obs"]["image"], frames[[t + 1 for t in rows]])
    assert not found["done"].any()


def test_frames_alone_for_a_pixels_env(demos: Path) -> None:
    env = make_env({"type": "pendulum", "act_scale": True, "obs_type": "pixels", "image_size": 16})
    found = load_offline_transitions(policy_cfg(demos, "pixels", ["observation.image"]), env, 0.99)
    assert found is not None and found["obs"].shape == (398, 3, 16, 16) and found["obs"].dtype == np.uint8


def test_pixels_state_sac_trains_with_demonstrations_in_half_of_every_batch(
    demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    main, create = small_run("pendulum_sac", "pixels_state", 3, random_collect_size=64, learn=dict(batch_size=32))
    main["policy"]["offline_dataset"] = dict(root=str(demos), obs_features=["observation.image", "observation.state"])
    serial_pipeline((main, create), 0, max_train_iter=20, quiet=True)
    state = torch.load(tmp_path / "pendulum_sac_pixels_state" / "ckpt" / "iteration_20.pth.tar", weights_only=True)
    offline = state["ding_lite"]["offline_buffer"]["data"]
    assert offline["obs"]["image"].dtype == torch.uint8 and offline["obs"]["image"].shape == (398, 3, 16, 16)


def test_pixel_sac_with_demonstrations_starts_its_convolutions_from_a_bc_image_model(
    demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safetensors.torch import save_file

    from ding_lite.policy.bc import BCModel

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(5)
    bc = BCModel(3, 1, [16], discrete=False, image_shape=[3, 16, 16])
    (tmp_path / "bc").mkdir()
    save_file(bc.state_dict(), str(tmp_path / "bc" / "model.safetensors"))
    main, create = small_run("pendulum_sac", "pixels_state", 3, random_collect_size=64, learn=dict(batch_size=32),
                             bc_pretrain=dict(pretrained_path=str(tmp_path / "bc"), policy_type="bc"),
                             freeze_vision_encoder=True)  # fmt: skip
    main["policy"]["offline_dataset"] = dict(root=str(demos), obs_features=["observation.image", "observation.state"])
    serial_pipeline((main, create), 0, max_train_iter=20, quiet=True)
    exp = tmp_path / "pendulum_sac_pixels_state"
    state = torch.load(exp / "ckpt" / "iteration_20.pth.tar", weights_only=True)
    for net in ("model", "target_model"):  # frozen after 20 updates: still exactly the BC model's, in both
        for side in ("actor", "critic"):
            for key, tensor in bc.conv.state_dict().items():
                assert torch.equal(state[net][f"{side}.0.conv.{key}"], tensor), (net, side, key)
    report = (exp / "bc_pretrain_report.json").read_text()
    assert "actor_encoder.conv.0.weight" in report and "critic_encoder.conv.4.bias" in report
