"""``ding`` runs with pixel observations: DQN on cartpole frames trains and checkpoints uint8 frames (replay
buffer, envs mid-episode, n-step windows), a stopped run resumed with ``--resume`` ends bit-identical to an
uninterrupted one (:func:`resume_helpers.assert_identical`), and a bad ``obs_type`` is one sentence with exit
status 2 before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import RunDing
from resume_helpers import (
    DQN_BASE,
    EXP,
    assert_identical,
    check_ok,
    ckpt_dir,
    ding,
    ding_many,
    iteration_numbers,
    load,
    write_config,
)

N, HALF = 60, 33  # HALF stops in the middle of a collect (update_per_collect=5)
PIXELS = """
main_config.env.update(obs_type={obs_type!r}, image_size=16, collector_env_num=4, evaluator_env_num=2,
                       n_evaluator_episode=2)
main_config.policy.model.obs_shape = {obs_shape!r}
main_config.policy.model.encoder_hidden_size_list = [64]
main_config.policy.nstep = {nstep}
main_config.policy.learn.batch_size = 16
main_config.policy.other.replay_buffer.replay_buffer_size = 500
"""
RUNS = {
    "pixels": ("pixels", [3, 16, 16], 1),
    "pixels_state_nstep3": ("pixels_state", {"image": [3, 16, 16], "state": 4}, 3),
}


def config(folder: Path, run: str) -> Path:
    obs_type, obs_shape, nstep = RUNS[run]
    edits = PIXELS.format(obs_type=obs_type, obs_shape=obs_shape, nstep=nstep)
    return write_config(folder / "pixels.py", DQN_BASE, save_every=20, eval_freq=20, edits=edits)


def args(folder: Path, run: str, train_iter: int) -> list[str]:
    return ["-m", "serial", "-c", str(config(folder, run)), "-s", "0", "--train-iter", str(train_iter)]


def frames_of(tree: object) -> torch.Tensor:
    return tree["image"] if isinstance(tree, dict) else tree  # type: ignore[return-value]


@pytest.mark.parametrize("run", list(RUNS))
def test_stopped_and_resumed_pixel_run_equals_the_straight_run_with_uint8_frames_in_its_checkpoints(
    run: str, tmp_path: Path
) -> None:
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    straight.mkdir()
    stopped.mkdir()
    for proc in ding_many([(args(straight, run, N), straight), (args(stopped, run, HALF), stopped)]):
        check_ok(proc)

    assert iteration_numbers(stopped / EXP) == [20, HALF]
    state = load(ckpt_dir(stopped / EXP) / f"iteration_{HALF}.pth.tar")
    conv = "encoder.conv.0.weight"  # trained (the target network is copied only every 100 iterations)
    assert not torch.equal(state["model"][conv], state["target_model"][conv])
    extras = state["ding_lite"]
    buffer = extras["buffer"]["data"]
    for key in ("obs", "next_obs"):
        assert frames_of(buffer[key]).dtype == torch.uint8 and frames_of(buffer[key]).shape[1:] == (3, 16, 16)
    env_obs = frames_of(extras["collector"]["env"]["obs"])
    assert env_obs.dtype == torch.uint8 and env_obs.shape == (4, 3, 16, 16)
    assert any(k.startswith("encoder.conv.") for k in state["model"])
    if RUNS[run][2] > 1:
        pending = [step for queue in extras["nstep"]["pending"] for step in queue]
        assert pending and all(frames_of(obs).dtype == torch.uint8 for obs, _, _ in pending)

    check_ok(ding(*args(stopped, run, N), "--resume", cwd=stopped))
    assert_identical(straight / EXP, stopped / EXP, N)


def test_a_bad_obs_type_is_one_sentence_with_exit_2_before_anything_is_written(
    tmp_path: Path, run_ding: RunDing
) -> None:
    text = DQN_BASE.read_text()
    assert text.count("stop_value=195,") == 1
    (tmp_path / "user.py").write_text(text.replace("stop_value=195,", "stop_value=195, obs_type='rgb',"))
    proc = run_ding("-m", "serial", "-c", "user.py", "-s", "0", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    message = "config key 'env.obs_type' is 'rgb' in 'user.py'; it must be one of 'state', 'pixels', 'pixels_state'"
    assert proc.stderr.strip().splitlines()[-1] == f"ding: error: {message}", proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("error") == 1, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user.py"], "a rejected config must write nothing"
