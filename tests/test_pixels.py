"""Pixel observations (``env.obs_type`` 'pixels' / 'pixels_state', ``env.image_size``): frames drawn in NumPy
from the env's state, deterministic and of the configured shape; the config checks; image models that
learn and act in torch; and pixels_state end to end in PPO and SAC. The ``ding`` runs (DQN training,
checkpoints, exact resume) are in ``test_pixels_resume.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch

from ding_lite.config import compile_config, read_config
from ding_lite.entry import serial_pipeline, serial_pipeline_onpolicy
from ding_lite.envs import CartPoleEnv, PendulumEnv, make_env, make_env_manager
from ding_lite.envs.render import resize_rgb
from ding_lite.errors import ConfigError
from ding_lite.model.numpy_infer import DuelingChain, LinearChain
from ding_lite.utils.obs import obs_from_state, obs_to_state

CONFIGS = Path(__file__).resolve().parents[1] / "dizoo_configs"
ENVS = {"cartpole": (CartPoleEnv, 0), "pendulum": (PendulumEnv, [1.5])}


def frames(env_type: str, seed: int, steps: int, size: int = 16) -> list[np.ndarray]:
    env = make_env({"type": env_type, "obs_type": "pixels", "image_size": size})
    env.seed(seed)
    out = [env.reset()]
    for i in range(steps):
        action = i % 2 if env_type == "cartpole" else [(-1.0) ** i * 2.0]
        out.append(env.step(action)[0])
    return out


# --- rendering -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env_type", list(ENVS))
@pytest.mark.parametrize("size", [8, 16, 64])
def test_frames_are_uint8_chw_of_image_size_and_the_same_bytes_for_the_same_seed_and_actions(
    env_type: str, size: int
) -> None:
    first, second = frames(env_type, 3, 8, size), frames(env_type, 3, 8, size)
    assert all(f.dtype == np.uint8 and f.shape == (3, size, size) for f in first)
    assert [f.tobytes() for f in first] == [f.tobytes() for f in second]
    assert make_env({"type": env_type, "obs_type": "pixels", "image_size": size}).spec.obs_shape == (3, size, size)


@pytest.mark.parametrize("env_type", list(ENVS))
def test_frames_change_when_the_state_changes(env_type: str) -> None:
    run = frames(env_type, 3, 8)
    assert all(a.tobytes() != b.tobytes() for a, b in zip(run, run[1:])), "every step moves something visible"
    assert frames(env_type, 3, 0)[0].tobytes() != frames(env_type, 4, 0)[0].tobytes(), "another seed, another start"
    env_cls, _ = ENVS[env_type]
    env = env_cls({})
    env.seed(0)
    env.reset()
    state = env.state_dict()
    before = env.render_rgb(16)
    state["physics"][-2] += 0.01  # the angle, by half a degree
    env.load_state_dict(state)
    assert env.render_rgb(16).tobytes() != before.tobytes()


@pytest.mark.parametrize("env_type", list(ENVS))
def test_pixels_state_observes_the_frame_and_the_unchanged_float32_state(env_type: str) -> None:
    env_cls, action = ENVS[env_type]
    plain = env_cls({})
    both = make_env({"type": env_type, "obs_type": "pixels_state", "image_size": 16})
    plain.seed(5)
    both.seed(5)
    pairs = [(plain.reset(), both.reset())] + [(plain.step(action)[0], both.step(action)[0]) for _ in range(3)]
    for state, obs in pairs:
        assert set(obs) == {"image", "state"} and obs["image"].dtype == np.uint8 and obs["image"].shape == (3, 16, 16)
        assert obs["state"].dtype == np.float32 and np.array_equal(obs["state"], state)
    spec = both.spec
    assert (spec.obs_type, spec.obs_shape, spec.state_shape) == ("pixels_state", (3, 16, 16), plain.spec.obs_shape)
    assert spec.model_obs_shape() == {"image": [3, 16, 16], "state": plain.spec.obs_shape[0]}


def test_restored_envs_render_the_same_frames_as_the_original() -> None:
    manager = make_env_manager({"type": "cartpole", "obs_type": "pixels_state", "image_size": 16}, {}, 3)
    manager.seed(0)
    manager.reset()
    for _ in range(20):
        manager.step(np.array([0, 1, 1]))
    state = manager.state_dict()
    assert state["obs"]["image"].dtype == torch.uint8 and isinstance(state["obs"]["state"], list)
    copy = make_env_manager({"type": "cartpole", "obs_type": "pixels_state", "image_size": 16}, {}, 3)
    copy.load_state_dict(state)
    for t in range(40):  # across episode ends and auto-resets
        a, b = manager.step(np.array([t % 2, 1, 0])), copy.step(np.array([t % 2, 1, 0]))
        for key in ("image", "state"):
            assert np.array_equal(a.obs[key], b.obs[key]) and np.array_equal(a.next_obs[key], b.next_obs[key])
            assert a.obs[key].dtype == b.obs[key].dtype


def test_checkpoint_form_keeps_frames_uint8_and_states_as_float_lists() -> None:
    obs = {"image": np.arange(12, dtype=np.uint8).reshape(1, 3, 2, 2), "state": np.array([[0.1, 2.5]], np.float32)}
    state = obs_to_state(obs)
    assert state["image"].dtype == torch.uint8 and state["state"] == obs["state"].tolist()
    back = obs_from_state(state)
    assert back["image"].dtype == np.uint8 and np.array_equal(back["image"], obs["image"])
    assert back["state"].dtype == np.float32 and np.array_equal(back["state"], obs["state"])


def test_resize_averages_areas_and_keeps_flat_colours() -> None:
    frame = np.zeros((4, 6, 3), dtype=np.uint8)
    frame[:2, :3] = 200  # top-left quarter
    out = resize_rgb(frame, 2)
    assert out.shape == (3, 2, 2) and out.dtype == np.uint8
    assert out[:, 0, 0].tolist() == [200] * 3 and out[:, 1, 1].tolist() == [0] * 3
    assert np.array_equal(resize_rgb(np.full((50, 70, 4), 37, np.uint8), 16), np.full((3, 16, 16), 37, np.uint8))
    assert np.array_equal(resize_rgb(frame[:2, :2], 4)[0], np.full((4, 4), 200))  # enlarging repeats pixels


class _Blocks(gymnasium.Env[np.ndarray, int]):
    """A Gymnasium env whose rgb_array frame (30 x 45) shows its position as a grey level."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = gymnasium.spaces.Box(-10.0, 10.0, (1,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.position = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.position = int(self.np_random.integers(0, 5))
        return np.array([self.position], np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.position += 1 if action else -1
        return np.array([self.position], np.float32), 1.0, abs(self.position) >= 10, False, {}

    def render(self) -> np.ndarray:
        return np.full((30, 45, 3), 100 + 10 * self.position, dtype=np.uint8)


def test_gymnasium_envs_render_rgb_array_frames_resized_to_image_size() -> None:
    gymnasium.register("DingLitePixelBlocks-v0", entry_point=_Blocks, max_episode_steps=50)
    env = make_env({"type": "gymnasium", "env_id": "DingLitePixelBlocks-v0", "obs_type": "pixels", "image_size": 8})
    env.seed(1)
    first = env.reset()
    nxt = env.step(1)[0]
    assert first.shape == (3, 8, 8) and first.dtype == np.uint8 and env.spec.obs_shape == (3, 8, 8)
    assert np.all(nxt.astype(int) - first.astype(int) == 10)  # one step right: ten grey levels lighter


# --- config --------------------------------------------------------------------------------------------
def dqn_config(**env: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    main, create = read_config(CONFIGS / "cartpole_dqn_config.py")
    main["env"].update(env)
    return main, create


def test_obs_type_and_image_size_default_to_state_and_64_and_are_checked() -> None:
    cfg = compile_config(dqn_config(), save_cfg=False)
    assert (cfg.env.obs_type, cfg.env.image_size) == ("state", 64)
    with pytest.raises(ConfigError) as caught:
        compile_config(dqn_config(obs_type="rgb"), save_cfg=False, source="'x.py'")
    message = "config key 'env.obs_type' is 'rgb' in 'x.py'; it must be one of 'state', 'pixels', 'pixels_state'"
    assert str(caught.value) == message
    with pytest.raises(ConfigError) as caught:
        compile_config(dqn_config(obs_type="pixels", image_size=4), save_cfg=False, source="'x.py'")
    assert str(caught.value) == "config key 'env.image_size' is 4 in 'x.py'; it must be an integer >= 8"


def test_a_model_obs_shape_that_does_not_fit_the_frames_names_the_value_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        serial_pipeline(dqn_config(obs_type="pixels_state", image_size=16), 0, max_train_iter=0, quiet=True)
    assert str(caught.value) == (
        "policy.model.obs_shape is 4 but env 'cartpole' with obs_type 'pixels_state' observes uint8 frames of "
        "shape (3, 16, 16) and float32 states of shape (4,); set policy.model.obs_shape={'image': [3, 16, 16], "
        "'state': 4}"
    )


# --- pipelines: models learn and act in torch ----------------------------------------------------------
def small_run(base: str, obs_type: str, state: int, **policy: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    main, create = read_config(CONFIGS / f"{base}_config.py")
    main["exp_name"] = f"{base}_{obs_type}"
    main["env"].update(obs_type=obs_type, image_size=16, collector_env_num=2, evaluator_env_num=1,
                       n_evaluator_episode=1, stop_value=1e9)  # fmt: skip
    shape: Any = [3, 16, 16] if obs_type == "pixels" else {"image": [3, 16, 16], "state": state}
    main["policy"]["model"]["obs_shape"] = shape
    main["policy"]["learn"].update(policy.pop("learn", {}), learner=dict(hook=dict(save_ckpt_after_iter=10)))
    main["policy"].update(policy)
    main["policy"]["eval"] = dict(evaluator=dict(eval_freq=10))
    return main, create


def test_pixels_state_sac_trains_with_uint8_frames_in_the_buffer_and_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = small_run("pendulum_sac", "pixels_state", 3, random_collect_size=64, learn=dict(batch_size=32))
    policy = serial_pipeline(cfg, 0, max_train_iter=20, quiet=True)
    assert policy._numpy is None, "a conv encoder learns with torch"  # type: ignore[attr-defined]
    state = torch.load(tmp_path / "pendulum_sac_pixels_state" / "ckpt" / "iteration_20.pth.tar", weights_only=True)
    for encoder in ("actor.0.conv.0.weight", "critic.0.conv.0.weight"):  # trained: ahead of the soft-updated target
        assert not torch.equal(state["model"][encoder], state["target_model"][encoder]), encoder
    data = state["ding_lite"]["buffer"]["data"]
    for key in ("obs", "next_obs"):
        assert data[key]["image"].dtype == torch.uint8 and data[key]["image"].shape[1:] == (3, 16, 16)
        assert data[key]["state"].dtype == torch.float32 and data[key]["state"].shape[1:] == (3,)
    action = policy.eval_mode.forward({"image": np.zeros((2, 3, 16, 16), np.uint8), "state": np.zeros((2, 3), "f4")})
    assert action.shape == (2, 1) and np.all(np.abs(action) <= 1)


@pytest.mark.parametrize("obs_type", ["pixels", "pixels_state"])
def test_ppo_trains_on_frames_with_its_rollout_kept_uint8(
    obs_type: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = small_run("cartpole_ppo", obs_type, 4, collect=dict(n_sample=32), learn=dict(batch_size=16))
    policy = serial_pipeline_onpolicy(cfg, 0, max_train_iter=12, quiet=True)
    assert policy._numpy is None  # type: ignore[attr-defined]
    assert not isinstance(policy.model.numpy_actor(), LinearChain), "the NumPy acting path handles FC models only"
    state = torch.load(tmp_path / f"cartpole_ppo_{obs_type}" / "ckpt" / "iteration_12.pth.tar", weights_only=True)
    rollout = state["ding_lite"]["loop"]["cycle"]["rollout"]["obs"]
    image = rollout if obs_type == "pixels" else rollout["image"]
    assert image.dtype == torch.uint8 and image.shape[2:] == (3, 16, 16)


def test_dqn_on_frames_acts_in_torch_and_refuses_the_numpy_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    policy = serial_pipeline(small_run("cartpole_dqn", "pixels", 4, nstep=3), 0, max_train_iter=10, quiet=True)
    q = policy.model.numpy_q(ranking_only=True)
    assert not isinstance(q, (LinearChain, DuelingChain))
    frames_in = np.random.default_rng(0).integers(0, 256, (4, 3, 16, 16), dtype=np.uint8)
    with torch.no_grad():
        expected = policy.model(torch.from_numpy(frames_in))
    assert np.array_equal(q(frames_in), expected.numpy())
    with pytest.raises(ConfigError, match="convolutional image encoder"):
        serial_pipeline(small_run("cartpole_dqn", "pixels", 4, learn=dict(backend="numpy")), 0, max_train_iter=0)
