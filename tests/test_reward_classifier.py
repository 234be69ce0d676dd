"""The reward classifier (``policy.type='reward_classifier'``, ``ding -m bc``) and ``env.reward_classifier``.

The toy dataset: episodes of i.i.d. 2-D states, each frame's ``next.success`` being whether the NEXT frame's
``state[0] > 0.5``. A classifier that judges the frame its label is paired with learns it perfectly; one
that judged the label's own frame could do no better than chance. States keep 0.05 away from the boundary,
so any boundary inside that gap separates the classes exactly: the > 95 % accuracy asked of the classifier
leaves room for a boundary that has not settled yet, not for one that learnt the wrong pairing (~50 %).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from conftest import RunDing
from resume_helpers import assert_identical

from ding_lite.config import read_config
from ding_lite.datasets import DatasetError
from ding_lite.datasets.balanced import BalancedBatchSampler
from ding_lite.datasets.writer import DatasetWriter
from ding_lite.envs import VectorEnvManager, make_env
from ding_lite.errors import ConfigError
from ding_lite.reward.classifier import ClassifierSpec, RewardClassifierModel, save_folder
from ding_lite.worker.collector import SampleCollector

REPO = Path(__file__).resolve().parents[1]
REACHER = REPO / "tests" / "fixtures" / "lerobot" / "reacher_expert"
ACT_FOLDER = REPO / "tests" / "fixtures" / "lerobot" / "act_reacher" / "pretrained_model"
EPISODES, LENGTH, ITERATIONS = 30, 20, 300
TOY_FEATURES = {
    "observation.state": {"dtype": "float32", "shape": [2], "names": None},
    "next.success": {"dtype": "bool", "shape": [1], "names": None},
}


def toy_episode(rng: np.random.Generator) -> dict[str, np.ndarray]:
    first = rng.uniform(0.0, 0.45, LENGTH) + 0.55 * rng.integers(0, 2, LENGTH)  # [0, .45] or [.55, 1]
    state = np.stack([first, rng.uniform(0, 1, LENGTH)], axis=1).astype(np.float32)
    success = np.append(state[1:, 0] > 0.5, rng.integers(0, 2) == 1)  # the last label has nothing to judge
    return {"observation.state": state, "next.success": success.reshape(LENGTH, 1)}


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rc")
    writer = DatasetWriter.create(folder / "toy", fps=10, features=TOY_FEATURES)
    rng = np.random.default_rng(0)
    writer.save_episodes([(toy_episode(rng), "judge") for _ in range(EPISODES)])
    main = dict(
        exp_name="rc",
        dataset=dict(root="toy", val_ratio=0.2),
        env=dict(collector_env_num=1, evaluator_env_num=1),
        policy=dict(
            model=dict(obs_features=["observation.state"], hidden_dim=32),
            learn=dict(batch_size=32, learning_rate=3e-3, label=dict(feature="next.success"), val_freq=100,
                       learner=dict(train_iterations=ITERATIONS, hook=dict(save_ckpt_after_iter=100))),
        ),
    )  # fmt: skip
    create = dict(env=dict(type="pendulum"), env_manager=dict(type="base"), policy=dict(type="reward_classifier"))
    (folder / "rc_config.py").write_text(f"main_config = {main!r}\ncreate_config = {create!r}\n")
    return folder


def ding_ok(run_ding: RunDing, cwd: Path, *args: str) -> Any:
    proc = run_ding(*args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def straight(toy: Path, run_ding: RunDing) -> Path:
    ding_ok(run_ding, toy, "-m", "bc", "-c", "rc_config.py", "-s", "0")
    return toy / "rc"


def test_the_classifier_learns_a_separable_toy_set(straight: Path) -> None:
    result = json.loads((straight / "result.json").read_text())
    assert result["best_validation_metrics"]["accuracy"] > 0.95
    assert result["best_validation_metrics"]["balanced_accuracy"] > 0.95
    log = (straight / "log/learner/learner_logger.txt").read_text()
    assert "accuracy=" in log and "positive_fraction=" in log  # the training monitor logs the batch accuracy


def test_straight_and_interrupted_training_are_identical(straight: Path, run_ding: RunDing, tmp_path: Path) -> None:
    os.symlink(straight.parent / "toy", tmp_path / "toy")
    (tmp_path / "rc_config.py").write_bytes((straight.parent / "rc_config.py").read_bytes())
    ding_ok(run_ding, tmp_path, "-m", "bc", "-c", "rc_config.py", "-s", "0", "--train-iter", "150")
    ding_ok(run_ding, tmp_path, "-m", "bc", "-c", "rc_config.py", "-s", "0", "--resume")
    assert_identical(straight, tmp_path / "rc", ITERATIONS)


def test_labels_are_paired_with_the_next_frame_and_episode_ends_are_dropped(
    toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ding_lite.entry.serial_entry_bc import build_bc

    os.symlink(toy / "toy", tmp_path / "toy")
    monkeypatch.chdir(tmp_path)
    run = build_bc(str(toy / "rc_config.py"), 0, True, None)
    try:
        policy, train = run.policy, run.train_set
        starts, stops = train.episode_start, train.episode_stop
        assert isinstance(run.sampler, BalancedBatchSampler)
        drawn = np.concatenate([run.sampler.next_batch() for _ in range(100)])
        assert not np.isin(drawn, stops - 1).any()  # an episode's last frame has no next observation
        indices = np.array([starts[0], stops[0] - 2, stops[0] - 1])
        batch = train.batch(indices, policy.dataset_windows(), policy.dataset_keys())
        states = train.arrays("observation.state")
        np.testing.assert_array_equal(batch["observation.state"][:2, 0].numpy(), states[indices[:2] + 1])
        assert batch["observation.state_is_pad"][:, 0].tolist() == [False, False, True]
        _, labels, valid = policy._outputs(batch)
        assert valid.tolist() == [True, True, False]
        assert labels[:2].tolist() == [float(s) for s in states[indices[:2] + 1, 0] > 0.5]
    finally:
        run.close()


def test_the_balanced_sampler_gives_each_class_half_of_every_batch() -> None:
    labels = np.zeros(100, dtype=bool)
    labels[::10] = True  # 10 successes among 100 frames
    sampler = BalancedBatchSampler(np.arange(100) + 1000, labels, batch_size=8, seed=3)
    batches = [sampler.next_batch() for _ in range(10)]
    assert all(labels[b - 1000].sum() == 4 and len(b) == 8 for b in batches)
    positives, negatives = np.concatenate([b[:4] for b in batches]), np.concatenate([b[4:] for b in batches])
    assert np.bincount(positives - 1000, minlength=100)[labels].tolist() == [4] * 10  # 40 draws: 4 epochs of 10
    assert np.bincount(negatives - 1000, minlength=100).max() == 1  # 40 of the 90 failures, none twice
    odd = BalancedBatchSampler(np.arange(100), labels, batch_size=7, seed=3).next_batch()
    assert labels[odd].sum() == 3 and len(odd) == 7


def test_the_balanced_sampler_resumes_exactly() -> None:
    labels = np.random.default_rng(0).random(300) < 0.07
    straight = BalancedBatchSampler(np.arange(300), labels, batch_size=16, seed=5)
    expected = [straight.next_batch() for _ in range(40)]
    stopped = BalancedBatchSampler(np.arange(300), labels, batch_size=16, seed=5)
    for _ in range(13):
        stopped.next_batch()
    resumed = BalancedBatchSampler(np.arange(300), labels, batch_size=16, seed=5)
    resumed.load_state_dict(json.loads(json.dumps(stopped.state_dict())))
    for want in expected[13:]:
        np.testing.assert_array_equal(resumed.next_batch(), want)
    with pytest.raises(DatasetError, match="batch_size=16 but this sampler has 8"):
        BalancedBatchSampler(np.arange(300), labels, batch_size=8, seed=5).load_state_dict(stopped.state_dict())


# --- the env wrapper -------------------------------------------------------------------------------------------
def stub_folder(root: Path, logit: float, state_dim: int = 3, image: bool = False) -> Path:
    """A classifier folder whose P(success) is sigmoid(logit) for every observation (zero weights, one bias)."""
    spec = ClassifierSpec({"observation.state": state_dim}, "observation.image" if image else None,
                          (3, 16, 16) if image else None, hidden_dim=4, dropout_rate=0.0)  # fmt: skip
    model = RewardClassifierModel(spec)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        model.classifier_head[4].bias.fill_(logit)
    cfg = {"model": {"features": {"observation.state": {"type": "STATE", "shape": [state_dim]}}},
           "learn": {"label": {"feature": "next.success", "threshold": None}}}  # fmt: skip
    return save_folder(model, spec, cfg, root)


def pendulum(folder: Path | None, **settings: Any) -> Any:
    cfg: dict[str, Any] = {"type": "pendulum"}
    if folder is not None:
        cfg["reward_classifier"] = {"pretrained_path": str(folder), **settings}
    env = make_env(cfg)
    env.seed(0)
    env.reset()
    return env


@pytest.mark.parametrize(
    ("logit", "success"),
    [(0.0, False), (-0.25, False), (0.25, True)],  # P(success) exactly at, below and above the threshold 0.5
)
def test_the_threshold_sets_reward_and_termination(tmp_path: Path, logit: float, success: bool) -> None:
    env = pendulum(stub_folder(tmp_path, logit), success_threshold=0.5, success_reward=2.5)
    assert env.success_probability(np.zeros(3, np.float32)) == pytest.approx(torch.sigmoid(torch.tensor(logit)))
    _, reward, terminated, truncated = env.step(np.zeros(1, np.float32))
    assert (reward, terminated, truncated) == ((2.5, True, False) if success else (0.0, False, False))
    if success:
        assert env.last_episode_extras["classifier_success"] == 1.0


def test_terminate_on_success_false_keeps_the_episode_going(tmp_path: Path) -> None:
    env = pendulum(stub_folder(tmp_path, 3.0), terminate_on_success=False)
    steps = [env.step(np.zeros(1, np.float32)) for _ in range(200)]
    assert all(reward == 1.0 for _, reward, _, _ in steps)
    assert not any(terminated for _, _, terminated, _ in steps)
    assert steps[-1][3] and not any(truncated for _, _, _, truncated in steps[:-1])  # pendulum's 200-step limit
    assert env.last_episode_extras["classifier_success_steps"] == 200.0


def test_the_env_own_return_is_reported_beside_the_classifier_return(tmp_path: Path) -> None:
    folder = stub_folder(tmp_path, -3.0)  # never a success: the classifier's return is 0, the env's is not
    plain = pendulum(None)
    own = sum(plain.step([0.5])[1] for _ in range(200))  # the action as the manager passes it
    envs = [make_env({"type": "pendulum", "reward_classifier": {"pretrained_path": str(folder)}}) for _ in range(2)]
    manager = VectorEnvManager(envs)
    manager.seed(0)
    logged: dict[str, float] = {}
    logger = SimpleNamespace(scalar=lambda tag, value, step: logged.__setitem__(tag, value), text=lambda *a: None)
    policy = SimpleNamespace(collect_mode=SimpleNamespace(forward=lambda obs, **_: {"action": np.full((2, 1), 0.5)}))
    collector = SampleCollector({}, manager, policy, logger)  # type: ignore[arg-type]
    collector.collect_rollout(400, train_iter=0)  # 200 steps of each env: one whole episode each
    collector.maybe_log(0, force=True)
    assert logged["collector_iter/reward_mean"] == 0.0
    assert envs[0].last_episode_extras["env_reward"] == own  # env 0 has seed 0, as the plain env: same episode
    second = pendulum(None)
    second.seed(1)
    second.reset()
    own_1 = sum(second.step([0.5])[1] for _ in range(200))
    assert logged["collector_iter/env_reward_mean"] == pytest.approx((own + own_1) / 2, rel=1e-12)


def test_the_wrapped_env_saves_and_restores_its_state(tmp_path: Path) -> None:
    folder = stub_folder(tmp_path, 3.0)
    env = pendulum(folder, terminate_on_success=False)
    for _ in range(50):
        env.step(np.full(1, 0.3, np.float32))
    state = json.loads(json.dumps(env.state_dict()))
    later = [env.step(np.full(1, -0.7, np.float32)) for _ in range(150)]
    restored = pendulum(folder, terminate_on_success=False)
    restored.load_state_dict(state)
    again = [restored.step(np.full(1, -0.7, np.float32)) for _ in range(150)]
    for (obs_a, *rest_a), (obs_b, *rest_b) in zip(later, again):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert rest_a == rest_b
    assert restored.last_episode_extras == env.last_episode_extras  # the env's own return over the whole episode


def test_a_missing_folder_is_named_at_env_build_time(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"env.reward_classifier.pretrained_path '.*nowhere' does not exist"):
        make_env({"type": "pendulum", "reward_classifier": {"pretrained_path": str(tmp_path / "nowhere")}})


def test_a_classifier_whose_inputs_do_not_fit_the_env_is_refused(tmp_path: Path) -> None:
    wide = stub_folder(tmp_path / "wide", 0.0, state_dim=10)
    with pytest.raises(
        ConfigError, match=r"takes 'observation.state' of size 10 but the env's state observation gives"
    ):
        make_env({"type": "pendulum", "reward_classifier": {"pretrained_path": str(wide)}})
    camera = stub_folder(tmp_path / "camera", 0.0, image=True)
    with pytest.raises(ConfigError, match="observes the camera feature 'observation.image' but env.obs_type is"):
        make_env({"type": "pendulum", "reward_classifier": {"pretrained_path": str(camera)}})
    config = json.loads((wide / "config.json").read_text())
    (wide / "config.json").write_text(json.dumps({**config, "type": "bc"}))
    with pytest.raises(ConfigError, match="is a 'bc' model, not a reward classifier"):
        make_env({"type": "pendulum", "reward_classifier": {"pretrained_path": str(wide)}})


def test_env_frames_are_scaled_like_the_dataset_frames(tmp_path: Path) -> None:
    from ding_lite.reward.classifier import load_folder
    from ding_lite.reward.wrapper import ObservationReader

    folder = stub_folder(tmp_path, 0.0, image=True)
    env = make_env({"type": "pendulum", "obs_type": "pixels_state", "image_size": 16,
                    "reward_classifier": {"pretrained_path": str(folder)}})  # fmt: skip
    env.seed(0)
    obs = env.reset()
    state, frame = ObservationReader(load_folder(folder, "key")[1], env.spec, str(folder))(obs)
    np.testing.assert_array_equal(state[0].numpy(), obs["state"])
    assert frame is not None and frame.dtype == torch.float32
    np.testing.assert_array_equal(frame[0].numpy(), obs["image"].astype(np.float32) / np.float32(255))
    with pytest.raises(ConfigError, match=r"takes frames of shape \[3, 16, 16\] .* set env.image_size to 16"):
        make_env({"type": "pendulum", "obs_type": "pixels_state", "image_size": 32,
                  "reward_classifier": {"pretrained_path": str(folder)}})  # fmt: skip


# --- end to end ---------------------------------------------------------------------------------------------
def test_reacher_trains_a_classifier_that_rewards_an_act_policy_in_eval(run_ding: RunDing, tmp_path: Path) -> None:
    (tmp_path / "datasets").mkdir()
    os.symlink(REACHER, tmp_path / "datasets" / "reacher_expert")
    main, create = read_config(REPO / "dizoo_configs" / "reacher_reward_classifier_config.py")
    main = copy.deepcopy(main)
    main["policy"]["learn"].update(val_freq=20, learner={"train_iterations": 40, "hook": {"save_ckpt_after_iter": 20}})
    (tmp_path / "rc.py").write_text(f"main_config = {main!r}\ncreate_config = {create!r}\n")
    ding_ok(run_ding, tmp_path, "-m", "bc", "-c", "rc.py", "-s", "0")
    export = tmp_path / "reacher_reward_classifier_seed0/checkpoints/best/pretrained_model"
    assert json.loads((export / "config.json").read_text())["type"] == "reward_classifier"

    act_main, act_create = read_config(REPO / "dizoo_configs" / "reacher_act_config.py")
    act_main = copy.deepcopy(act_main)
    act_main["exp_name"] = "judged"
    act_main["env"].update(evaluator_env_num=2, n_evaluator_episode=3,
                           reward_classifier={"pretrained_path": str(export), "success_reward": 1.0})  # fmt: skip
    (tmp_path / "judged.py").write_text(f"main_config = {act_main!r}\ncreate_config = {act_create!r}\n")
    proc = ding_ok(run_ding, tmp_path, "-m", "eval", "-c", "judged.py", "-s", "0", "--load-path", str(ACT_FOLDER))
    assert "the env's own return: mean" in proc.stderr
    result = json.loads((tmp_path / "judged/eval_result.json").read_text())
    extras = result["episode_extras"]
    assert len(extras) == len(result["episode_returns"]) == 3
    # terminate_on_success: an episode's classifier return is 1.0 exactly when it ended on a success
    assert result["episode_returns"] == [e["classifier_success"] for e in extras]
    assert all(e["env_reward"] < 0 for e in extras)  # Reacher's own reward: minus the distance, never positive


@pytest.mark.parametrize(("logit", "terminate"), [(3.0, True), (3.0, False), (-3.0, True)])
def test_demonstrations_are_relabelled_with_the_classifier_reward(
    tmp_path: Path, logit: float, terminate: bool
) -> None:
    env = pendulum(stub_folder(tmp_path, logit), success_reward=2.0, terminate_on_success=terminate)
    transitions = {"obs": np.zeros((3, 3), np.float32), "next_obs": np.ones((3, 3), np.float32),
                   "reward": np.array([-5.0, -1.0, -3.0], np.float32),
                   "done": np.array([False, False, True])}  # fmt: skip
    out = env.relabel(transitions)
    success = logit > 0
    assert out["reward"].tolist() == [2.0 if success else 0.0] * 3 and out["reward"].dtype == np.float32
    assert out["done"].tolist() == ([True] * 3 if success and terminate else [False, False, True])
    assert transitions["reward"].tolist() == [-5.0, -1.0, -3.0]  # the input is left as it was


@pytest.mark.parametrize("logit", [3.0, -3.0])
def test_keep_env_reward_gives_the_env_own_reward_where_there_is_no_success(tmp_path: Path, logit: float) -> None:
    env = pendulum(stub_folder(tmp_path, logit), success_reward=2.0, terminate_on_success=False, keep_env_reward=True)
    plain = pendulum(None)  # the same pendulum, seeded alike, without a classifier
    for torque in (0.5, -1.0, 2.0):
        _, reward, _, _ = env.step(np.array([torque], np.float32))
        _, own, _, _ = plain.step(np.array([torque], np.float32))
        assert own < 0 and reward == (2.0 if logit > 0 else own)
    transitions = {"obs": np.zeros((2, 3), np.float32), "next_obs": np.ones((2, 3), np.float32),
                   "reward": np.array([-5.0, -1.0], np.float32), "done": np.array([False, False])}  # fmt: skip
    assert env.relabel(transitions)["reward"].tolist() == ([2.0, 2.0] if logit > 0 else [-5.0, -1.0])


def test_the_evaluator_logs_the_env_own_return_beside_the_classifier_return(tmp_path: Path) -> None:
    from ding_lite.worker.evaluator import InteractionEvaluator

    folder = stub_folder(tmp_path, -3.0)  # never a success: the classifier's return is 0, the env's is not
    envs = [make_env({"type": "pendulum", "reward_classifier": {"pretrained_path": str(folder)}}) for _ in range(2)]
    logged: dict[str, float] = {}
    logger = SimpleNamespace(scalar=lambda tag, value, step: logged.__setitem__(tag, value), text=lambda *a: None)
    policy = SimpleNamespace(eval_mode=SimpleNamespace(forward=lambda obs: np.full((2, 1), 0.5)))
    evaluator = InteractionEvaluator({"eval_freq": 1}, VectorEnvManager(envs), policy, logger,  # type: ignore[arg-type]
                                     n_episode=2, stop_value=1.0, seed=0)  # fmt: skip
    evaluator.eval(train_iter=0, env_step=0)
    own = [env.last_episode_extras["env_reward"] for env in envs]
    assert logged["evaluator_step/reward_mean"] == 0.0
    assert logged["evaluator_step/env_reward_mean"] == pytest.approx(np.mean(own), rel=1e-12) and own[0] < -100
    assert logged["evaluator_step/classifier_success_mean"] == 0.0
