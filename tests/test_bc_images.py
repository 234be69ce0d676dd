"""BC on camera frames: ``policy.type='bc'`` with an image feature among ``obs_features`` (recorded by
``ding record`` from a pixel env), trained by ``ding -m bc`` and played from pixels by ``ding -m eval``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ding_lite.config import read_config
from ding_lite.entry.record import record
from ding_lite.policy.bc import BCModel
from tests.conftest import RunDing

REPO = Path(__file__).resolve().parents[1]


def controller(obs: dict[str, np.ndarray]) -> np.ndarray:
    """A damping controller on the pendulum's angular velocity, a function of the state the frames show."""
    return np.clip(-obs["state"][:, 2:3], -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four pixels_state pendulum episodes (32x32 frames and the 3-D state) under <tmp>/demos."""
    root = tmp_path_factory.mktemp("bc_images")
    main, create = read_config(REPO / "dizoo_configs" / "pendulum_sac_config.py")
    main = copy.deepcopy(main)
    main["env"].update(obs_type="pixels_state", image_size=32, collector_env_num=2)
    main["policy"]["model"]["obs_shape"] = {"image": [3, 32, 32], "state": 3}
    record((main, create), root / "demos", 4, task="damp", quiet=True, controller=controller)
    return root


def write_config(folder: Path, name: str, obs_features: list[str], obs_type: str, iterations: int) -> None:
    (folder / f"{name}.py").write_text(
        f"main_config = dict(exp_name={name!r}, dataset=dict(root='demos', val_episodes=[3]),\n"
        f"    env=dict(obs_type={obs_type!r}, image_size=32, evaluator_env_num=2, n_evaluator_episode=2),\n"
        f"    policy=dict(model=dict(obs_features={obs_features!r}, hidden_size_list=[64]),\n"
        f"        learn=dict(batch_size=32, val_freq=50, learner=dict(train_iterations={iterations}))))\n"
        "create_config = dict(env=dict(type='pendulum'), policy=dict(type='bc'))\n"
    )


def test_bc_learns_from_frames_and_state_and_plays_the_pixel_env(demos: Path, run_ding: RunDing) -> None:
    write_config(demos, "bc_img", ["observation.state", "observation.image"], "pixels_state", 300)
    proc = run_ding("-m", "bc", "-c", "bc_img.py", "-s", "0", cwd=demos)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((demos / "bc_img" / "result.json").read_text())
    from safetensors.torch import load_file

    weights = load_file(demos / "bc_img" / "checkpoints" / "last" / "pretrained_model" / "model.safetensors")
    assert weights["image_shape"].tolist() == [3, 32, 32] and "conv.0.weight" in weights
    # held-out episode 3, normalised MSE: 0.62 after 1 update, 0.08 after these 300 (seed 0)
    assert result["best_validation_loss"] < 0.2, result
    proc = run_ding("-m", "eval", "-c", "bc_img.py", "-s", "0", "--load-path", "bc_img/checkpoints/last", cwd=demos)
    assert proc.returncode == 0, proc.stderr
    returns = json.loads((demos / "bc_img" / "eval_result.json").read_text())["episode_returns"]
    assert len(returns) == 2 and all(np.isfinite(returns))


def test_bc_on_frames_alone_trains_and_plays_the_pixels_env(demos: Path, run_ding: RunDing) -> None:
    write_config(demos, "bc_frames", ["observation.image"], "pixels", 20)
    proc = run_ding("-m", "bc", "-c", "bc_frames.py", "-s", "0", cwd=demos)
    assert proc.returncode == 0, proc.stderr
    args = ("-m", "eval", "-c", "bc_frames.py", "-s", "0", "--load-path", "bc_frames/checkpoints/last")
    proc = run_ding(*args, cwd=demos)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads((demos / "bc_frames" / "eval_result.json").read_text())["episode_returns"]) == 2


def test_two_camera_features_are_refused_with_their_names(demos: Path, run_ding: RunDing) -> None:
    write_config(demos, "bc_two", ["observation.image", "observation.image"], "pixels", 1)
    proc = run_ding("-m", "bc", "-c", "bc_two.py", "-s", "0", cwd=demos)
    assert proc.returncode == 2
    assert "names 2 camera features (observation.image, observation.image); BC takes one" in proc.stderr


def test_the_image_model_reads_frames_in_0_1_and_the_env_scales_uint8_frames_to_match() -> None:
    """The same frame as float [0, 1] (training batches) and as uint8 (the env) gives the same action."""
    from ding_lite.config.compile import compile_config
    from ding_lite.policy import POLICY_REGISTRY

    main = dict(exp_name="x", env=dict(), policy=dict(model=dict(
        obs_features=["observation.state", "observation.image"], obs_shape=3, action_shape=1, discrete=False,
        image_feature="observation.image", image_shape=[3, 8, 8], hidden_size_list=[16])))  # fmt: skip
    cfg = compile_config((main, dict(env=dict(type="pendulum"), policy=dict(type="bc"))), 0, save_cfg=False)
    policy = POLICY_REGISTRY.get("bc")(cfg.policy)
    frames = np.random.default_rng(0).integers(0, 256, (2, 3, 8, 8), dtype=np.uint8)
    state = np.random.default_rng(1).normal(size=(2, 3)).astype(np.float32)
    acted = policy.eval_mode.forward({"image": frames, "state": state})
    model = policy.model
    assert isinstance(model, BCModel)
    with torch.no_grad():
        direct = model(torch.from_numpy(state), torch.from_numpy(frames).float() / 255.0).numpy()
    np.testing.assert_array_equal(np.asarray(acted), direct)
