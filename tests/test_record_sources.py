"""``ding record`` plays a ``pretrained_model/`` folder as it plays the checkpoint it was exported from, and
``--noise`` makes demonstrations differ while actions stay within the env's range."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import RunDing

from ding_lite.datasets import LeRobotDataset

PENDULUM = Path(__file__).resolve().parents[1] / "dizoo_configs" / "pendulum_sac_config.py"


@pytest.fixture(scope="module")
def trained(run_ding: RunDing, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("sources")
    shutil.copy(PENDULUM, work / PENDULUM.name)
    proc = run_ding("-m", "serial", "-c", PENDULUM.name, "-s", "0", "--train-iter", "30", "-q", cwd=work)
    assert proc.returncode == 0, proc.stderr
    proc = run_ding("export", "pendulum_sac_seed0/ckpt/ckpt_best.pth.tar", "--out", "exported", cwd=work)
    assert proc.returncode == 0, proc.stderr
    return work


def record(run_ding: RunDing, work: Path, load_path: str, out: str, *extra: str) -> LeRobotDataset:
    args = ["record", "-c", PENDULUM.name, "--load-path", load_path, "--episodes", "2", "--out", out, "-q"]
    proc = run_ding(*args, *extra, cwd=work)
    assert proc.returncode == 0, proc.stderr
    return LeRobotDataset(work / out)


def test_a_pretrained_model_folder_records_what_its_checkpoint_records(trained: Path, run_ding: RunDing) -> None:
    from_checkpoint = record(run_ding, trained, "pendulum_sac_seed0/ckpt/ckpt_best.pth.tar", "ckpt_ds")
    from_folder = record(run_ding, trained, "exported", "folder_ds")
    for name in ("observation.state", "action", "next.reward"):
        np.testing.assert_array_equal(from_checkpoint.arrays(name), from_folder.arrays(name), err_msg=name)


def test_noise_changes_the_actions_and_keeps_them_in_the_torque_range(trained: Path, run_ding: RunDing) -> None:
    greedy = record(run_ding, trained, "exported", "greedy_ds")
    noisy = record(run_ding, trained, "exported", "noisy_ds", "--noise", "0.3")
    actions = noisy.arrays("action")
    assert not np.array_equal(actions, greedy.arrays("action"))
    assert actions.min() >= -2.0 and actions.max() <= 2.0  # pendulum's torque bounds (act_scale input in [-1, 1])
    assert actions.std() > greedy.arrays("action").std()
