"""``ding -m bc``: behaviour cloning on a recorded dataset with the RL learner, checkpoints and logs.

A scripted pendulum controller records the demonstrations. BC then learns its actions (the validation
loss falls far below the variance of the actions), the best validation loss picks ``ckpt_best`` and
``checkpoints/best``, the final model is exported to ``checkpoints/last/pretrained_model``, both play in
``ding -m eval``, and a run stopped half way and resumed ends identical to an uninterrupted one: every
checkpoint tensor, the sampler position, TensorBoard curves and text logs.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import RunDing
from resume_helpers import assert_identical, load

from ding_lite.config import read_config
from ding_lite.entry.record import record
from ding_lite.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "dizoo_configs"
ITERATIONS = 120


def controller(obs: np.ndarray) -> np.ndarray:
    """Pushes the pendulum up: a torque against sin(theta) and the angular velocity, in [-1, 1]."""
    return np.clip(-obs[:, 1:2] - 0.25 * obs[:, 2:3], -1.0, 1.0).astype(np.float32)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bc")
    record(CONFIGS / "pendulum_sac_config.py", folder / "demos", 10, controller=controller, task="up", quiet=True)
    main, create = read_config(CONFIGS / "pendulum_bc_config.py")
    main = copy.deepcopy(main)
    main["dataset"]["root"] = "demos"
    main["exp_name"] = "bc"
    main["policy"]["learn"].update(batch_size=64, val_freq=30)
    main["policy"]["learn"]["learner"] = {"train_iterations": ITERATIONS, "hook": {"save_ckpt_after_iter": 40}}
    main["policy"]["model"]["hidden_size_list"] = [64, 64]
    (folder / "bc_config.py").write_text(f"main_config = {main!r}\ncreate_config = {create!r}\n")
    return folder


def bc(run_ding: RunDing, cwd: Path, *args: str) -> Any:
    proc = run_ding("-m", "bc", "-c", "bc_config.py", "-s", "0", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def straight(work: Path, run_ding: RunDing) -> Path:
    bc(run_ding, work)
    return work / "bc"


def test_bc_learns_the_demonstrated_actions(straight: Path) -> None:
    result = json.loads((straight / "result.json").read_text())
    assert result["train_iter"] == ITERATIONS
    # normalised targets have unit variance: a loss of 0.05 means 95 % of the action variance is explained
    assert result["best_validation_loss"] < 0.05


def test_the_best_validation_loss_picks_ckpt_best_and_checkpoints_best(straight: Path) -> None:
    lines = (straight / "log/evaluator/evaluator_logger.txt").read_text().splitlines()
    losses = {int(line.split("train_iter ")[1].split()[0]): float(line.rsplit(" ", 1)[1]) for line in lines}
    assert sorted(losses) == [0, 30, 60, 90, 120]
    best_iter = min(losses, key=losses.__getitem__)
    best = load(straight / "ckpt/ckpt_best.pth.tar")
    assert best["last_iter"] == best_iter
    assert best["ding_lite"]["validation"]["best"] == pytest.approx(losses[best_iter], rel=1e-5)  # printed to 6 digits
    from safetensors.torch import load_file

    exported = load_file(str(straight / "checkpoints/best/pretrained_model/model.safetensors"))
    for name, tensor in exported.items():
        torch.testing.assert_close(tensor, best["model"][name], rtol=0, atol=0, msg=name)


def test_exported_models_play_in_eval(straight: Path, run_ding: RunDing) -> None:
    for path in ("bc/checkpoints/last/pretrained_model", "bc/ckpt/ckpt_best.pth.tar"):
        proc = run_ding("-m", "eval", "-c", "bc_config.py", "-s", "0", "--load-path", path, cwd=straight.parent)
        assert proc.returncode == 0, proc.stderr
        assert "mean return" in proc.stdout


def test_stopped_and_resumed_bc_equals_the_straight_run(straight: Path, run_ding: RunDing, tmp_path: Path) -> None:
    shutil.copytree(straight.parent / "demos", tmp_path / "demos")
    shutil.copy(straight.parent / "bc_config.py", tmp_path / "bc_config.py")
    bc(run_ding, tmp_path, "--train-iter", "50")  # between two validations and two checkpoints
    resumed = bc(run_ding, tmp_path, "--resume")
    assert "resumed exactly from" in resumed.stderr
    assert load(tmp_path / "bc/ckpt/iteration_120.pth.tar")["ding_lite"]["sampler"]["position"] > 0
    assert_identical(straight, tmp_path / "bc", ITERATIONS)


def test_a_feature_the_dataset_lacks_is_named(work: Path) -> None:
    from ding_lite.entry.serial_entry_bc import serial_pipeline_bc

    main, create = read_config(work / "bc_config.py")
    main["policy"]["model"]["obs_features"] = ["observation.images.top"]
    main["dataset"]["root"] = str(work / "demos")
    with pytest.raises(ConfigError, match=r"'observation.images.top'.*does not have \(it has observation.state"):
        serial_pipeline_bc((main, create), 0, quiet=True)


def test_eval_return_can_pick_the_best_and_the_run_still_resumes_exactly(
    work: Path, run_ding: RunDing, tmp_path: Path
) -> None:
    """``best_by='eval_return'``: the env plays every ``eval_freq`` updates, the best mean return writes
    ckpt_best and checkpoints/best, and a run stopped and resumed still equals the straight one."""
    main, create = read_config(work / "bc_config.py")
    main["exp_name"] = "by_return"
    main["policy"]["learn"]["best_by"] = "eval_return"
    main["policy"]["eval"] = {"evaluator": {"eval_freq": 40}}
    main["env"].update(evaluator_env_num=2, n_evaluator_episode=2)
    for folder in (tmp_path / "straight", tmp_path / "resumed"):
        folder.mkdir()
        shutil.copytree(work / "demos", folder / "demos")
        (folder / "bc_config.py").write_text(f"main_config = {main!r}\ncreate_config = {create!r}\n")
    bc(run_ding, tmp_path / "straight")
    bc(run_ding, tmp_path / "resumed", "--train-iter", "50")
    bc(run_ding, tmp_path / "resumed", "--resume")
    straight = tmp_path / "straight" / "by_return"
    lines = [line for line in (straight / "log/evaluator/evaluator_logger.txt").read_text().splitlines()
             if "reward_mean" in line]  # fmt: skip
    returns = {int(line.split("train_iter ")[1].split()[0]): float(line.split("reward_mean ")[1].split()[0])
               for line in lines}  # fmt: skip
    assert sorted(returns) == [0, 40, 80, 120]
    best = load(straight / "ckpt/ckpt_best.pth.tar")
    best_iter = max(returns, key=returns.__getitem__)  # returns printed to 2 decimals: ties keep the first
    assert best["last_iter"] == best_iter
    assert best["ding_lite"]["evaluator"]["best_value"] == pytest.approx(returns[best_iter], abs=0.005)
    from safetensors.torch import load_file

    exported = load_file(str(straight / "checkpoints/best/pretrained_model/model.safetensors"))
    for name, tensor in exported.items():
        torch.testing.assert_close(tensor, best["model"][name], rtol=0, atol=0, msg=name)
    assert_identical(straight, tmp_path / "resumed" / "by_return", ITERATIONS)
