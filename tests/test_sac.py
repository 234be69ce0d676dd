"""SAC and continuous control on pendulum (issue 4), as specifications.

* DI-engine compatibility: the committed DI-engine 0.5.3 SAC checkpoint loads into the policy built from
  ``dizoo_configs/pendulum_sac_config.py`` (every learn-mode key, ``train_iter`` from ``last_iter``) and plays.
* Exact resume: N iterations straight equal the same N with a stop in the middle, or with a SIGTERM during
  the random warm-up, then ``--resume`` (final checkpoints, ``result.json``, every TensorBoard series).
* ``log_alpha`` lives in the checkpoint's ``ding_lite`` extras; ``act_scale`` maps [-1, 1] onto the torque.
* Learning: SAC reaches a lowered stop value; continuous PPO's greedy return improves over a short run.

The CLI runs in subprocesses in pytest's temporary directories, on configs that ``runpy``-load the repo's
dizoo configs and override only what keeps the runs short.
"""

from __future__ import annotations

import json
import logging
import math
import os
import runpy
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ding_lite.config import compile_config
from ding_lite.envs import make_env_manager
from ding_lite.envs.pendulum import PendulumEnv
from ding_lite.learner import BaseLearner
from ding_lite.policy import POLICY_REGISTRY, Policy
from ding_lite.utils.log import ExperimentLogger
from ding_lite.worker.evaluator import run_episodes

REPO = Path(__file__).resolve().parents[1]
SAC_CONFIG = REPO / "dizoo_configs" / "pendulum_sac_config.py"
PPO_CONFIG = REPO / "dizoo_configs" / "pendulum_ppo_config.py"
FIXTURE = REPO / "tests" / "fixtures" / "di-engine" / "pendulum_sac_seed0_best.pth.tar"
_SCRIPT = Path(sys.executable).with_name("ding")
DING = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "ding_lite.entry.cli"]
EXP = "exp"  # the experiment name of every config written here
TIMEOUT_S = 300  # turns a hang into a failure; every run here takes seconds

# The resume specification: N iterations, a stop value never reached, checkpoints and evaluations every 50
# iterations, and a random warm-up long enough to be interrupted (not a multiple of the 10 collector envs).
N_ITER, SPLIT_ITER = 120, 70
WARMUP = 20005
WARMUP_DONE = math.ceil(WARMUP / 10) * 10  # all 10 envs step together: 20010
RESUME_EDITS = f"""
main_config.env.stop_value = 1e9
main_config.policy.random_collect_size = {WARMUP}
main_config.policy.learn.learner = dict(hook=dict(save_ckpt_after_iter=50, log_show_after_iter=20))
main_config.policy.eval.evaluator.eval_freq = 50
"""


# --- helpers ---------------------------------------------------------------------------------------------
def write_config(run_dir: Path, base: Path, edits: str = "") -> Path:
    """``run_dir/config.py``: ``base`` with exp_name ``exp`` and ``edits`` (Python lines) applied."""
    lines = [
        "import runpy",
        f"ns = runpy.run_path({str(base)!r})",
        "main_config, create_config = ns['main_config'], ns['create_config']",
        f"main_config.exp_name = {EXP!r}",
        edits,
    ]
    path = run_dir / "config.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def ding(*args: str | int | os.PathLike[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [*DING, *(str(a) for a in args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def load(path: Path) -> dict[str, Any]:
    state: dict[str, Any] = torch.load(path, weights_only=True)
    return state


def final_checkpoint(exp_dir: Path) -> dict[str, Any]:
    """The checkpoint ``ckpt/latest`` names, which must be the one after the last iteration."""
    name = (exp_dir / "ckpt" / "latest").read_text().strip()
    assert name == f"iteration_{N_ITER}.pth.tar"
    return load(exp_dir / "ckpt" / name)


def result_json(exp_dir: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((exp_dir / "result.json").read_text())
    return result


def scalars(exp_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every TensorBoard scalar series as written, with no out-of-order purging (so duplicates show)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(exp_dir / "log" / "serial"), size_guidance={"scalars": 0}, purge_orphaned_data=False)
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def assert_same(a: Any, b: Any, where: str) -> None:
    """Equal structure, bit-equal tensors and arrays, equal everything else."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        assert isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor), f"{where}: not both tensors"
        same = a.dtype == b.dtype and torch.equal(a, b)
        assert same, f"{where}: tensors differ"
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        same = np.array_equal(np.asarray(a), np.asarray(b))
        assert same, f"{where}: arrays differ"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {sorted(a)} vs {sorted(b)}"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def assert_same_experiment(straight: Path, resumed: Path) -> None:
    """Final checkpoints, ``result.json`` and TensorBoard logs of two runs are identical."""
    a, b = final_checkpoint(straight), final_checkpoint(resumed)
    for key in ("model", "target_model", "optimizer_q", "optimizer_policy", "optimizer_alpha", "last_iter",
                "last_step"):  # fmt: skip
        assert_same(a[key], b[key], key)
    for key in ("log_alpha", "collector", "evaluator", "buffer"):
        assert_same(a["ding_lite"][key], b["ding_lite"][key], f"ding_lite.{key}")
    ra, rb = result_json(straight), result_json(resumed)
    for result in (ra, rb):
        del result["wall_time_s"], result["interrupted"]
    assert ra == rb
    sa, sb = scalars(straight), scalars(resumed)
    assert sorted(sa) == sorted(sb)
    for tag, series in sa.items():
        if "per_sec" in tag:  # wall-clock throughput: only where it was logged must match
            assert [s for s, _ in series] == [s for s, _ in sb[tag]], tag
        else:
            assert series == sb[tag], tag


def sac_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Policy]:
    """The compiled dizoo SAC config (seed 0) and a fresh SAC policy built from it."""
    monkeypatch.chdir(tmp_path)
    cfg = compile_config(read_pair(SAC_CONFIG), 0, save_cfg=False)
    return cfg, POLICY_REGISTRY.get("sac")(cfg.policy)


def read_pair(path: Path) -> tuple[Any, Any]:
    ns = runpy.run_path(str(path))
    return ns["main_config"], ns["create_config"]


def play(cfg: Any, act: Any, n_episode: int) -> list[float]:
    """Greedy returns on the config's evaluator envs, seeded as the evaluator seeds them (seed 0)."""
    env = make_env_manager(cfg.env, cfg.env.manager, int(cfg.env.evaluator_env_num), None)
    try:
        return run_episodes(env, act, n_episode, 0)
    finally:
        env.close()


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted SAC run (experiment directory) every interrupted one is compared with."""
    run_dir = tmp_path_factory.mktemp("straight")
    proc = ding("-m", "serial", "-c", write_config(run_dir, SAC_CONFIG, RESUME_EDITS), "-s", 0,
                "--train-iter", N_ITER, cwd=run_dir)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return run_dir / EXP


# --- DI-engine compatibility -------------------------------------------------------------------------------
def test_di_engine_fixture_loads_every_learn_key_and_plays_to_minus_250(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fixture = load(FIXTURE)
    cfg, policy = sac_policy(tmp_path, monkeypatch)
    # the same parameter tree, including DI-engine's actor.1.* / critic.1.* aliases of the heads
    assert list(policy.model.state_dict()) == list(fixture["model"])
    assert {"actor.1.2.mu.weight", "critic.1.1.2.last.weight"} <= set(fixture["model"])
    logger = ExperimentLogger(tmp_path / EXP, tensorboard=False)
    learner = BaseLearner(cfg.policy.learn.learner, policy, tmp_path / EXP, logger, policy_type="sac")
    with caplog.at_level(logging.WARNING, logger="ding_lite"):
        learner.load_checkpoint(FIXTURE)
    logger.close()
    assert learner.train_iter == fixture["last_iter"] == 3300
    assert "log_alpha" in caplog.text  # DI-engine does not save it: the temperature restarts
    state = policy.learn_mode.state_dict()
    for key in ("model", "target_model", "optimizer_q", "optimizer_policy", "optimizer_alpha"):
        assert_same(state[key], fixture[key], key)
    returns = play(cfg, policy.eval_mode.forward, 10)
    assert len(returns) == 10
    assert np.mean(returns) >= -250, returns


# --- learning ------------------------------------------------------------------------------------------------
def test_sac_reaches_a_lowered_stop_value(tmp_path: Path) -> None:
    # The dizoo config needs ~2400 iterations for -700 (~3200 for -250): too slow for the suite. Faster target
    # updates (target_theta 0.02) reach -800 in ~800 iterations for seed 0, from -1215 at iteration 0.
    edits = "main_config.env.stop_value = -800\nmain_config.policy.learn.target_theta = 0.02"
    proc = ding("-m", "serial", "-c", write_config(tmp_path, SAC_CONFIG, edits), "-s", 0, "--train-iter", 1500,
                cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = result_json(tmp_path / EXP)
    assert result["stop"] is True, result
    assert result["eval_value"] >= -800 and result["train_iter"] < 1500
    first = scalars(tmp_path / EXP)["evaluator_iter/reward_mean"][0]
    assert first[0] == 0 and first[1] < -1000  # it started from a policy that cannot swing up


def test_continuous_ppo_greedy_return_improves(tmp_path: Path) -> None:
    # The dizoo config (learning_rate 3e-5, 200 samples per collect) barely moves in 3000 iterations; with
    # 3200-sample collects of 320-sample minibatches at 1e-3
    # seed 0 goes from about -1200 at iteration 0 to about -250 at 800 (evaluated when iteration 801 starts).
    # A PPO whose gradients did not reach the actor would return the iteration-0 value at every evaluation.
    edits = (
        "main_config.env.stop_value = 1e9\nmain_config.policy.learn.learning_rate = 1e-3\n"
        "main_config.env.collector_env_num = 8\nmain_config.policy.collect.n_sample = 3200\n"
        "main_config.policy.learn.batch_size = 320"
    )
    proc = ding("-m", "serial_onpolicy", "-c", write_config(tmp_path, PPO_CONFIG, edits), "-s", 0,
                "--train-iter", 801, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    evals = scalars(tmp_path / EXP)["evaluator_iter/reward_mean"]
    assert [step for step, _ in evals] == [0, 200, 400, 600, 800]
    first, last = evals[0][1], evals[-1][1]
    assert last >= first + 400, evals
    assert result_json(tmp_path / EXP)["best_eval_value"] == pytest.approx(max(v for _, v in evals), rel=1e-6)


# --- exact resume ----------------------------------------------------------------------------------------------
def test_sac_stopped_mid_run_then_resumed_equals_straight_run(tmp_path: Path, straight: Path) -> None:
    config = write_config(tmp_path, SAC_CONFIG, RESUME_EDITS)
    first = ding("-m", "serial", "-c", config, "-s", 0, "--train-iter", SPLIT_ITER, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / EXP / "ckpt" / "latest").read_text().strip() == f"iteration_{SPLIT_ITER}.pth.tar"
    second = ding("-m", "serial", "-c", config, "-s", 0, "--train-iter", N_ITER, "--resume", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert_same_experiment(straight, tmp_path / EXP)


def catches_sigterm(pid: int) -> bool:
    """Whether the process has its own SIGTERM handler (Linux ``/proc``: bit 15 of ``SigCgt``).

    ding_lite installs it at the end of start-up, right before the random warm-up begins; the experiment
    directory exists earlier, and a SIGTERM before the handler simply kills the process (status -15).
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def wait_for(condition: Any, proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert proc.poll() is None, f"ding exited ({proc.returncode}) before {what}: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc to see the signal handler")
def test_sac_sigterm_during_warmup_finishes_it_and_resume_does_not_repeat_it(tmp_path: Path, straight: Path) -> None:
    config = write_config(tmp_path, SAC_CONFIG, RESUME_EDITS)
    command = [*DING, "-m", "serial", "-c", str(config), "-s", "0", "--train-iter", str(N_ITER)]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for((tmp_path / EXP).is_dir, proc, "creating the experiment directory")
        wait_for(lambda: catches_sigterm(proc.pid), proc, "installing its SIGTERM handler")
        assert not (tmp_path / EXP / "log" / "evaluator").exists()  # no evaluation yet: still warming up
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "--resume" in stderr
    ckpt_dir = tmp_path / EXP / "ckpt"
    assert (ckpt_dir / "latest").read_text().strip() == "iteration_0.pth.tar"
    saved = load(ckpt_dir / "iteration_0.pth.tar")
    assert saved["last_iter"] == 0 and saved["last_step"] == WARMUP_DONE
    assert saved["ding_lite"]["collector"]["env_step"] == WARMUP_DONE  # the whole warm-up, nothing more
    assert saved["ding_lite"]["buffer"]["size"] == WARMUP_DONE
    assert saved["ding_lite"]["evaluator"]["last_eval_iter"] is None
    assert result_json(tmp_path / EXP)["interrupted"] == "SIGTERM"
    resumed = ding("-m", "serial", "-c", config, "-s", 0, "--train-iter", N_ITER, "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_experiment(straight, tmp_path / EXP)  # a repeated warm-up would shift env_step and the data


# --- log_alpha, act_scale ---------------------------------------------------------------------------------------
def test_log_alpha_is_saved_in_extras_and_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, straight: Path
) -> None:
    saved = load(straight / "ckpt" / f"iteration_{N_ITER}.pth.tar")
    log_alpha = saved["ding_lite"]["log_alpha"]
    assert log_alpha.shape == (1,) and log_alpha.item() != pytest.approx(math.log(0.2))  # it was learned
    _, policy = sac_policy(tmp_path, monkeypatch)
    assert policy.alpha.item() == pytest.approx(0.2)
    policy.learn_mode.load_state_dict(saved)
    assert torch.equal(policy.alpha, log_alpha.exp())
    assert torch.equal(policy.learn_mode.state_dict()["ding_lite"]["log_alpha"], log_alpha)
    # A DI-engine file has no extras: it still loads, with a warning, and alpha restarts at learn.alpha.
    di_engine_style = {key: value for key, value in saved.items() if key != "ding_lite"}
    _, fresh = sac_policy(tmp_path, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="ding_lite"):
        fresh.learn_mode.load_state_dict(di_engine_style)
    assert "log_alpha" in caplog.text
    assert fresh.alpha.item() == pytest.approx(0.2)
    assert_same(fresh.model.state_dict(), saved["model"], "model")


@pytest.mark.parametrize(("unit", "torque"), [(1.0, 2.0), (-0.5, -1.0), (0.25, 0.5), (-1.0, -2.0)])
def test_act_scale_maps_unit_actions_onto_the_torque_range(unit: float, torque: float) -> None:
    scaled, raw, unscaled = PendulumEnv({"act_scale": True}), PendulumEnv({}), PendulumEnv({"act_scale": False})
    for env in (scaled, raw, unscaled):
        env.seed(7)
        env.reset()
    for _ in range(20):
        obs, reward, _, _ = scaled.step(np.array([unit], dtype=np.float32))
        expected_obs, expected_reward, _, _ = raw.step(np.array([torque], dtype=np.float32))
        assert np.array_equal(obs, expected_obs) and reward == expected_reward
        other_obs, _, _, _ = unscaled.step(np.array([unit], dtype=np.float32))
    assert not np.array_equal(obs, other_obs)  # without act_scale the same action is a different torque


def test_greedy_actions_stay_in_unit_range_and_reach_the_env_scaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, policy = sac_policy(tmp_path, monkeypatch)
    assert cfg.env.act_scale is True
    head = policy.model.actor_head[2]
    with torch.no_grad():  # an actor whose greedy action is the constant tanh(atanh(0.5)) = 0.5
        head.mu.weight.zero_()
        head.mu.bias.fill_(math.atanh(0.5))
    returns = play(cfg, policy.eval_mode.forward, 5)
    expected = []
    for i in range(5):  # the evaluator seeds env i with seed + i; torque 1.0 is action 0.5 scaled by 2
        env = PendulumEnv({})
        env.seed(i)
        env.reset()
        expected.append(sum(env.step(np.array([1.0]))[1] for _ in range(200)))
    assert returns == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():  # however large mu gets, the greedy action is squashed into [-1, 1]
        head.mu.bias.fill_(50.0)
    obs = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 8.0]], dtype=np.float32)
    assert np.array_equal(policy.eval_mode.forward(obs), np.ones((2, 1), dtype=np.float32))
    # the trained DI-engine actor uses nearly the whole range, and stays inside it
    policy.learn_mode.load_state_dict(load(FIXTURE))
    actions: list[np.ndarray] = []

    def act(obs: np.ndarray) -> np.ndarray:
        actions.append(policy.eval_mode.forward(obs))
        return actions[-1]

    play(cfg, act, 5)
    stacked = np.concatenate(actions)
    assert stacked.shape[1] == 1 and np.abs(stacked).max() <= 1.0
    assert np.abs(stacked).max() > 0.9  # near the bound, so the check above is not vacuous


# --- TensorBoard and ding -m eval -------------------------------------------------------------------------------
def test_sac_tensorboard_tags_and_eval_of_both_checkpoint_kinds(tmp_path: Path, straight: Path) -> None:
    tags = scalars(straight)
    for var in ("q_value", "alpha", "critic_loss", "policy_loss"):
        assert [step for step, _ in tags[f"learner_iter/{var}_avg"]] == list(range(20, N_ITER + 1, 20)), var
        assert f"learner_step/{var}_avg" in tags
    evaluated = dict(tags["evaluator_iter/reward_mean"])
    assert sorted(evaluated) == [0, 50, 100] and "evaluator_step/reward_mean" in tags
    # a ding_lite checkpoint: `ding -m eval` reproduces what the training evaluator saw at iteration 100
    config = write_config(tmp_path, SAC_CONFIG)
    proc = ding("-m", "eval", "-c", config, "-s", 0, "--load-path", straight / "ckpt" / "iteration_100.pth.tar",
                cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / EXP / "eval_result.json").read_text())
    assert len(result["episode_returns"]) == 5
    assert result["episode_return_mean"] == pytest.approx(evaluated[100], rel=1e-6)
    # the DI-engine checkpoint, over 10 episodes
    config = write_config(tmp_path, SAC_CONFIG, "main_config.env.n_evaluator_episode = 10")
    proc = ding("-m", "eval", "-c", config, "-s", 0, "--load-path", FIXTURE, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / EXP / "eval_result.json").read_text())
    assert len(result["episode_returns"]) == 10 and result["episode_return_mean"] >= -250
    assert "mean return" in proc.stdout
