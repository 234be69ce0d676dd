"""Demonstrations in an offline buffer (``policy.offline_dataset``): transitions built from a LeRobot
dataset, terminal vs truncated episode ends, native -> policy action units, the exact batch split, the
offline buffer in checkpoints with exact resume, the TensorBoard tags, and each configuration error.

Small synthetic datasets are written with ``DatasetWriter``: every value follows from (episode, frame), so
a transition's ``next_obs`` tells exactly which frame it came from.
"""

from __future__ import annotations

import copy
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import RunDing
from resume_helpers import checkpoint_differences, load, scalar_series
from swing_demos import record_swing

from ding_lite.config import compile_config
from ding_lite.data import ReplayBuffer
from ding_lite.data.mixing import MixedReplay, OfflineBuffer, split_batch
from ding_lite.data.offline import load_offline_transitions, policy_actions
from ding_lite.datasets.writer import DatasetWriter
from ding_lite.entry import serial_pipeline
from ding_lite.entry.record import record
from ding_lite.envs.cartpole import CartPoleEnv
from ding_lite.envs.gymnasium_env import GymnasiumEnv
from ding_lite.envs.pendulum import PendulumEnv
from ding_lite.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SAC_CONFIG = REPO / "dizoo_configs" / "pendulum_sac_config.py"
REACHER = REPO / "tests" / "fixtures" / "lerobot" / "reacher_expert"
GAMMA = 0.99


# --- synthetic datasets ----------------------------------------------------------------------------------
def state_of(episode: int, frame: int) -> list[float]:
    """Frame ``frame`` of episode ``episode``: its identity is readable back from the observation."""
    return [float(episode), float(frame), episode * 100.0 + frame]


def write_dataset(root: Path, lengths: list[int], done_at_end: list[bool] | None) -> Path:
    """Episodes of pendulum-shaped frames (state (3,), torque in [-2, 2]); ``done_at_end[e]`` sets
    ``next.done`` on the last frame of episode ``e``; ``None`` writes no ``next.done`` feature at all."""
    features: dict[str, dict[str, Any]] = {
        "observation.state": {"dtype": "float32", "shape": [3], "names": None},
        "action": {"dtype": "float32", "shape": [1], "names": None},
        "next.reward": {"dtype": "float32", "shape": [1], "names": None},
    }
    if done_at_end is not None:
        features["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    writer = DatasetWriter.create(root, fps=20, features=features)
    for episode, length in enumerate(lengths):
        t = np.arange(length)
        values = {
            "observation.state": np.array([state_of(episode, f) for f in t], dtype=np.float32),
            "action": np.linspace(-2, 2, length, dtype=np.float32).reshape(length, 1),
            "next.reward": (episode * 10.0 + t).astype(np.float32).reshape(length, 1),
        }
        if done_at_end is not None:
            values["next.done"] = ((t == length - 1) & done_at_end[episode]).reshape(length, 1)
        writer.save_episode_arrays(values, "demo")
    writer.finalize()
    return root


def policy_cfg(root: Path, ignore_done: bool = False, **offline: Any) -> dict[str, Any]:
    return {
        "offline_dataset": {"root": str(root), "episodes": None, "ratio": 0.5, "obs_features": ["observation.state"],
                            **offline},
        "model": {"obs_shape": 3, "action_shape": 1},
        "learn": {"ignore_done": ignore_done},
    }  # fmt: skip


def transitions_of(root: Path, ignore_done: bool = False, act_scale: bool = True, **offline: Any) -> dict[str, Any]:
    env = PendulumEnv({"act_scale": act_scale})
    found = load_offline_transitions(policy_cfg(root, ignore_done, **offline), env, GAMMA)
    assert found is not None
    return found


def frames(obs: np.ndarray) -> list[tuple[int, int]]:
    return [(int(o[0]), int(o[1])) for o in obs]


# --- transitions -----------------------------------------------------------------------------------------
def test_next_obs_is_the_following_frame_of_the_same_episode_never_across_episodes(tmp_path: Path) -> None:
    t = transitions_of(write_dataset(tmp_path / "ds", [4, 3, 5], [False, False, False]))
    pairs = list(zip(frames(t["obs"]), frames(t["next_obs"])))
    assert pairs == [((e, f), (e, f + 1)) for e, n in enumerate([4, 3, 5]) for f in range(n - 1)]
    assert all(a[0] == b[0] for a, b in pairs), "a transition pairs frames of two episodes"
    assert np.array_equal(t["reward"], np.array([e * 10.0 + f for e, f in frames(t["obs"])], dtype=np.float32))
    assert t["gamma_n"].dtype == np.float32 and np.all(t["gamma_n"] == np.float32(GAMMA))


def test_terminal_last_frame_is_kept_with_done_and_truncated_last_frame_is_dropped(tmp_path: Path) -> None:
    t = transitions_of(write_dataset(tmp_path / "ds", [4, 3], [True, False]))  # episode 0 terminal, 1 truncated
    kept = frames(t["obs"])
    assert kept == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]  # (1, 2) is gone
    assert t["done"].tolist() == [False, False, False, True, False, False]
    assert t["done"].dtype == np.bool_
    # the terminal's placeholder next_obs is its own frame: the TD target multiplies it by 1 - done = 0
    assert frames(t["next_obs"])[3] == (0, 3)


def test_dataset_without_next_done_treats_every_episode_end_as_a_truncation(tmp_path: Path) -> None:
    t = transitions_of(write_dataset(tmp_path / "ds", [4, 3], None))
    assert frames(t["obs"]) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert not t["done"].any()


def test_ignore_done_drops_final_frames_even_when_terminal(tmp_path: Path) -> None:
    # with ignore_done the TD target bootstraps from next_obs, which a final frame does not have
    t = transitions_of(write_dataset(tmp_path / "ds", [4, 3], [True, True]), ignore_done=True)
    assert frames(t["obs"]) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert not t["done"].any()


def test_episodes_selects_a_subset_of_the_dataset(tmp_path: Path) -> None:
    t = transitions_of(write_dataset(tmp_path / "ds", [3, 4, 5], [True, True, True]), episodes=[2])
    assert {e for e, _ in frames(t["obs"])} == {2} and len(t["obs"]) == 5


# --- action units ----------------------------------------------------------------------------------------
def test_pendulum_native_torques_map_back_to_the_policy_actions_exactly() -> None:
    env = PendulumEnv({"act_scale": True})  # the policy's [-1, 1] becomes [-2, 2] N*m
    policy = np.linspace(-1, 1, 201, dtype=np.float32).reshape(-1, 1)
    native = env.native_action(policy)
    assert native.min() == -2.0 and native.max() == 2.0
    back = policy_actions(native, env, "ds", 1)
    assert back.dtype == np.float32 and np.array_equal(back, policy)  # the exact inverse, bit for bit


def test_recorded_pendulum_actions_come_back_as_the_controllers_actions(tmp_path: Path) -> None:
    main, create = sac_pair()
    main["env"].update(collector_env_num=2, act_scale=True)
    controller_actions: list[np.ndarray] = []

    def controller(obs: np.ndarray) -> np.ndarray:
        action = np.clip(-1.5 * obs[:, 1:2] - 0.4 * obs[:, 2:3], -1, 1).astype(np.float32)  # saturates often
        controller_actions.append(action)
        return action

    record((main, create), tmp_path / "demos", 2, controller=controller, quiet=True)
    t = transitions_of(tmp_path / "demos", ignore_done=False, act_scale=True)
    played = np.concatenate(controller_actions, axis=0).reshape(-1, 2, 1).transpose(1, 0, 2)  # per env
    # both envs end together at the 200-step limit; ding record marks those last frames next.truncated, so
    # they have no successor and are dropped: every other frame is a transition
    assert np.array_equal(t["action"], np.concatenate([played[0][:-1], played[1][:-1]]))
    assert np.abs(t["action"]).max() == 1.0


def test_reacher_fixture_actions_are_already_in_the_policy_space() -> None:
    env = GymnasiumEnv({"env_id": "Reacher-v5"})
    try:
        from ding_lite.datasets import LeRobotDataset

        native = LeRobotDataset(REACHER).arrays("action")
        assert env.input_action_bounds() == (-1.0, 1.0)
        assert np.array_equal(policy_actions(native, env, str(REACHER), 2), native)  # the identity
    finally:
        env.close()


def test_discrete_actions_are_indices() -> None:
    native = np.array([[0], [1], [1], [0]], dtype=np.int64)
    assert policy_actions(native, CartPoleEnv(), "ds", 2).tolist() == [0, 1, 1, 0]


# --- the batch split -------------------------------------------------------------------------------------
def filled(buffer: ReplayBuffer, reward: float, count: int) -> ReplayBuffer:
    """``count`` transitions of reward ``reward``; ``obs[:, 1]`` numbers them, so samples show their indices."""
    obs = np.stack([np.full(count, reward), np.arange(count), np.zeros(count)], axis=1).astype(np.float32)
    buffer.push({"obs": obs, "action": np.zeros((count, 1), np.float32),
                 "reward": np.full(count, reward, np.float32), "gamma_n": np.full(count, GAMMA, np.float32),
                 "done": np.zeros(count, bool), "next_obs": np.zeros((count, 3), np.float32)})  # fmt: skip
    return buffer


def mixed(ratio: float, seed: int = 0) -> MixedReplay:
    online = filled(ReplayBuffer({"replay_buffer_size": 1000}, seed=seed), 1.0, 500)
    offline = filled(OfflineBuffer(seed), -1.0, 500)
    assert isinstance(offline, OfflineBuffer)
    return MixedReplay(online, offline, ratio)


@pytest.mark.parametrize(("ratio", "online", "offline"), [(0.5, 64, 64), (0.25, 96, 32), (1.0, 0, 128), (0.0, 128, 0)])
def test_batch_split_is_exact_and_online_comes_first(ratio: float, online: int, offline: int) -> None:
    assert split_batch(128, ratio) == (online, offline)
    batch = mixed(ratio).sample(128)
    assert batch["reward"].tolist() == [1.0] * online + [-1.0] * offline
    assert batch["obs"].shape == (128, 3) and batch["done"].dtype == torch.bool


def test_batches_are_deterministic_under_the_seed_and_differ_across_seeds() -> None:
    a, b, c = mixed(0.5, seed=3), mixed(0.5, seed=3), mixed(0.5, seed=4)
    for _ in range(3):
        x, y, z = a.sample(128), b.sample(128), c.sample(128)
        assert all(torch.equal(x[k], y[k]) for k in x)
    assert not torch.equal(x["obs"], z["obs"])
    # the two buffers draw from independent generators: same seed and size, other indices
    assert not torch.equal(x["obs"][:64, 1], x["obs"][64:, 1])


def test_offline_buffer_add_grows_and_a_restored_buffer_samples_the_same() -> None:
    buffer = OfflineBuffer(seed=1)
    filled(buffer, -1.0, 3)
    filled(buffer, 2.0, 5)  # interventions appended later: nothing is overwritten
    assert len(buffer) == 8
    state = buffer.state_dict()
    assert state["data"]["reward"].tolist() == [-1.0] * 3 + [2.0] * 5
    copy_ = OfflineBuffer(seed=99)
    copy_.load_state_dict(state)
    assert torch.equal(buffer.sample(16)["reward"], copy_.sample(16)["reward"])
    filled(copy_, 3.0, 2)  # a restored buffer grows again
    assert len(copy_) == 10 and copy_.state_dict()["data"]["reward"][-2:].tolist() == [3.0, 3.0]


# --- training, checkpoints, exact resume, logs -----------------------------------------------------------
N, HALF = 60, 35  # train iterations of the straight run; where the interrupted one stops


def sac_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    ns = runpy.run_path(str(SAC_CONFIG))
    return copy.deepcopy(dict(ns["main_config"])), dict(ns["create_config"])


def short_sac(exp: str, demos: Path, **learn: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pendulum SAC with the demonstrations at ``demos``: a short warm-up, checkpoints every 20 iterations."""
    main, create = sac_pair()
    main["exp_name"] = exp
    main["env"].update(stop_value=1e9, n_evaluator_episode=5)
    main["policy"]["random_collect_size"] = 200
    main["policy"]["eval"] = {"evaluator": {"eval_freq": 1000}}
    main["policy"]["learn"]["learner"] = {"hook": {"save_ckpt_after_iter": 20, "log_show_after_iter": 10}}
    main["policy"]["learn"].update(learn)
    main["policy"]["offline_dataset"] = {"root": str(demos), "ratio": 0.5}
    return main, create


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two recorded pendulum episodes (act_scale), from a scripted swing controller."""
    return record_swing(tmp_path_factory.mktemp("demos") / "pendulum", episodes=2, envs=2)


@pytest.fixture(scope="module")
def straight(demos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("straight")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        serial_pipeline(short_sac("straight", demos), seed=0, max_train_iter=N, quiet=True)
    return cwd / "straight"


def test_checkpoint_holds_the_offline_buffer_contents_and_its_sampler(straight: Path) -> None:
    extras = load(straight / "ckpt" / f"iteration_{N}.pth.tar")["ding_lite"]
    offline = extras["offline_buffer"]
    # two 200-frame episodes; pendulum SAC bootstraps through every end (ignore_done=True), so the two
    # final frames, which have no next observation, are dropped
    assert offline["size"] == 398 and offline["next"] == 398 and "rng" in offline
    assert set(offline["data"]) == set(extras["buffer"]["data"])  # the online buffer's layout
    assert all(int(column.shape[0]) == 398 for column in offline["data"].values())
    assert not offline["data"]["done"].any()


def test_added_transitions_are_saved_and_restored_with_the_offline_buffer(
    demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ding_lite.entry.build import build_experiment

    monkeypatch.chdir(tmp_path)
    exp = build_experiment(short_sac("added", demos), 0, quiet=True, on_policy=False)
    assert exp.replay is not None
    exp.start()
    filled(exp.replay.offline, 7.0, 5)  # what an intervention will copy in
    saved = exp.learner.save_checkpoint()
    exp.close()
    main, create = short_sac("added", demos)
    main["policy"]["learn"].update(resume_training=True, learner={"hook": {"load_ckpt_before_run": str(saved)}})
    again = build_experiment((main, create), 0, quiet=True, on_policy=False)
    assert again.replay is not None and len(again.replay.offline) == 398  # the dataset alone
    again.start()
    assert len(again.replay.offline) == 403
    assert again.replay.offline.state_dict()["data"]["reward"][-5:].tolist() == [7.0] * 5
    again.close()


def test_stopped_and_resumed_run_equals_the_straight_run(
    straight: Path, demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    serial_pipeline(short_sac("part", demos), seed=0, max_train_iter=HALF, quiet=True)
    main, create = short_sac("part", demos)
    main["policy"]["learn"].update(
        resume_training=True, learner={"hook": {"save_ckpt_after_iter": 20, "log_show_after_iter": 10,
                                                "load_ckpt_before_run": f"part/ckpt/iteration_{HALF}.pth.tar"}}
    )  # fmt: skip
    serial_pipeline((main, create), seed=0, max_train_iter=N, quiet=True)
    final = f"iteration_{N}.pth.tar"
    diffs = checkpoint_differences(straight / "ckpt" / final, tmp_path / "part" / "ckpt" / final, text_positions=False)
    assert not diffs, diffs
    assert comparable(scalar_series(straight)) == comparable(scalar_series(tmp_path / "part"))


def comparable(series: Mapping[str, list[tuple[int, float]]]) -> dict[str, list[Any]]:
    """TensorBoard series, with only the steps of wall-clock ``per_sec`` tags (their values cannot repeat)."""
    return {tag: [s for s, _ in points] if "per_sec" in tag else points for tag, points in series.items()}


def test_tensorboard_logs_the_offline_fraction_and_both_buffer_sizes(straight: Path) -> None:
    series = scalar_series(straight)
    steps = list(range(10, N + 1, 10))  # log_show_after_iter
    assert series["buffer_iter/offline_fraction"] == [(s, 0.5) for s in steps]
    assert series["buffer_iter/offline_size"] == [(s, 398.0) for s in steps]
    online = series["buffer_iter/online_size"]
    assert [s for s, _ in online] == steps and all(v >= 200 for _, v in online)  # the warm-up and more
    assert {"buffer_step/offline_fraction", "buffer_step/offline_size", "buffer_step/online_size"} <= set(series)


def test_dqn_trains_with_discrete_demonstrations_in_the_online_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ns = runpy.run_path(str(REPO / "dizoo_configs" / "cartpole_dqn_config.py"))
    main, create = copy.deepcopy(dict(ns["main_config"])), dict(ns["create_config"])
    main["env"]["collector_env_num"] = 2
    record((main, create), "demos", 2, quiet=True, controller=lambda obs: (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(int))
    main.update(exp_name="dqn")
    main["policy"]["offline_dataset"] = {"root": "demos"}
    serial_pipeline((main, create), seed=0, max_train_iter=20, quiet=True)
    extras = load(tmp_path / "dqn" / "ckpt" / "iteration_20.pth.tar")["ding_lite"]
    online, offline = extras["buffer"]["data"], extras["offline_buffer"]["data"]
    assert {k: (v.dtype, v.shape[1:]) for k, v in offline.items()} == {
        k: (v.dtype, v.shape[1:]) for k, v in online.items()
    }
    assert offline["action"].dtype == torch.int64 and set(offline["action"].tolist()) == {0, 1}


def test_checkpoints_from_before_offline_datasets_still_resume() -> None:
    from ding_lite.checkpoint.resume_guard import check_resume_config
    from ding_lite.errors import CheckpointError

    main, create = sac_pair()
    current = dict(compile_config((main, create), 0, save_cfg=False))
    saved = copy.deepcopy(current)
    del saved["policy"]["offline_dataset"]  # what a checkpoint of an earlier version holds
    assert check_resume_config(saved, current, "old.pth.tar") == []
    current["policy"]["offline_dataset"]["root"] = "datasets/demos"
    with pytest.raises(CheckpointError, match="'policy.offline_dataset.root' was '', now 'datasets/demos'"):
        check_resume_config(saved, current, "old.pth.tar")


# --- errors ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("small") / "ds", [4, 3], [True, False])


def error_of(root: Path, env: Any = None, **changes: Any) -> str:
    cfg = policy_cfg(root)
    for key, value in changes.items():
        section, name = key.split("__")
        cfg[section][name] = value
    with pytest.raises(ConfigError) as caught:
        load_offline_transitions(cfg, env or PendulumEnv({"act_scale": True}), GAMMA)
    return str(caught.value)


def test_error_names_a_missing_dataset_or_episode(small: Path, tmp_path: Path) -> None:
    assert error_of(tmp_path / "nowhere") == (
        f"policy.offline_dataset: dataset root '{tmp_path / 'nowhere'}' does not exist or is not a directory"
    )
    assert error_of(small, offline_dataset__episodes=[5]) == (
        f"policy.offline_dataset: episodes [5] are not in '{small}' (it has 2 episodes)"
    )


def test_error_names_a_missing_obs_feature(small: Path) -> None:
    assert error_of(small, offline_dataset__obs_features=["observation.nope"]) == (
        f"policy.offline_dataset '{small}' has no feature 'observation.nope'; its features are observation.state, "
        "action, next.reward, next.done, timestamp, frame_index, episode_index, index, task_index"
    )


def test_error_names_a_non_numeric_obs_feature(small: Path) -> None:
    assert error_of(small, offline_dataset__obs_features=["next.done"]) == (
        f"policy.offline_dataset '{small}': obs_features 'next.done' is a bool feature of shape [1]; only numeric "
        "state features can be concatenated into the observation"
    )


def test_error_names_an_empty_obs_feature_list(small: Path) -> None:
    assert "policy.offline_dataset.obs_features is empty" in error_of(small, offline_dataset__obs_features=[])


def test_error_names_the_observation_size_mismatch(small: Path) -> None:
    assert error_of(small, offline_dataset__obs_features=["observation.state", "action"]) == (
        f"policy.offline_dataset '{small}': obs_features ('observation.state' [3], 'action' [1]) give 4 "
        "values per frame but policy.model.obs_shape is 3"
    )
    assert error_of(small, model__obs_shape=5) == (
        f"policy.offline_dataset '{small}': obs_features ('observation.state' [3]) give 3 values per "
        "frame but policy.model.obs_shape is 5"
    )


def test_error_names_the_action_dimension_mismatch(small: Path) -> None:
    assert error_of(small, model__action_shape=2) == (
        f"policy.offline_dataset '{small}': 'action' has shape [1] but policy.model.action_shape is 2"
    )


def test_error_names_a_missing_reward_feature(tmp_path: Path) -> None:
    writer = DatasetWriter.create(tmp_path / "nr", fps=20, features={
        "observation.state": {"dtype": "float32", "shape": [3], "names": None},
        "action": {"dtype": "float32", "shape": [1], "names": None}})  # fmt: skip
    writer.save_episode_arrays({"observation.state": np.zeros((2, 3), np.float32),
                                "action": np.zeros((2, 1), np.float32)}, "t")  # fmt: skip
    writer.finalize()
    root = tmp_path / "nr"
    assert error_of(root).startswith(f"policy.offline_dataset '{root}' has no feature 'next.reward'")


def test_error_names_actions_the_policy_cannot_take(small: Path) -> None:
    # without act_scale the env takes torques directly, and the policy's [-1, 1] cannot reach +-2
    assert error_of(small, env=PendulumEnv({"act_scale": False})) == (
        f"policy.offline_dataset '{small}': 'action' spans [-2, 2] in env 'PendulumEnv' units, [-2, 2] in the "
        "policy's action space [-1, 1], which it cannot reach (the env takes (-2.0, 2.0)); make the env take "
        "[-1, 1] (pendulum: env.act_scale=True)"
    )


def test_error_names_a_camera_missing_for_pixel_observations(small: Path) -> None:
    from ding_lite.envs.pixels import with_obs_type

    cfg = {"act_scale": True, "obs_type": "pixels", "image_size": 16}
    env = with_obs_type(PendulumEnv(cfg), cfg)
    assert error_of(small, env=env) == (
        f"policy.offline_dataset '{small}': env.obs_type 'pixels' observes one camera and no state, but "
        "obs_features names 0 camera and 1 state features"
    )


def test_error_when_no_frame_yields_a_transition(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "ones", [1, 1], [False, False])
    assert error_of(root).startswith(f"policy.offline_dataset '{root}' yields no transitions")


def test_ratio_outside_zero_one_is_a_config_error(small: Path) -> None:
    main, create = short_sac("x", small)
    main["policy"]["offline_dataset"]["ratio"] = 1.5
    with pytest.raises(ConfigError, match=r"'policy.offline_dataset.ratio' is 1.5 .* in \[0, 1\]"):
        compile_config((main, create), 0, save_cfg=False)


def test_cli_reports_a_dataset_error_in_one_line_with_exit_code_2(
    small: Path, tmp_path: Path, run_ding: RunDing
) -> None:
    (tmp_path / "cfg.py").write_text(
        "import runpy\n"
        f"ns = runpy.run_path({str(SAC_CONFIG)!r})\n"
        "main_config, create_config = ns['main_config'], ns['create_config']\n"
        f"main_config.policy.offline_dataset = dict(root={str(small)!r}, obs_features=['observation.nope'])\n"
    )
    proc = run_ding("-m", "serial", "-c", "cfg.py", "-s", "0", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ding: error: policy.offline_dataset '{small}' has no feature 'observation.nope'")
    assert "Traceback" not in proc.stderr
