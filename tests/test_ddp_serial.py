"""``ding -m serial`` (DQN, SAC) under ``torchrun`` (:mod:`ding_lite.ddp.serial_run`), on 2 gloo processes.

Specifications:

* Every rank ends with rank 0's weights, bit for bit (``weight_divergence`` in result.json: the largest
  difference between a rank's weights and rank 0's, measured by the ranks over the process group). The ranks
  train on different batches from their own envs and buffers, so without averaged gradients they drift
  apart at the first update (measured: 0.28 after 200 DQN updates with the averaging switched off).
* ``env_step`` counts both ranks: each rank collects what one process collects in as many train iterations,
  so the 2-process run's count is twice the 1-process run's, in result.json and in the checkpoint.
* Rank 0 alone writes: the experiment holds the files of the 1-process run, one TensorBoard events file,
  and a learner log without a line twice; nothing else appears in the working directory.
* SAC (three optimizers, one backward through the critics into the actor) trains under 2 processes.
* A 2-process run stopped at an iteration inside a collect's updates and resumed with ``--resume`` ends
  identical to the uninterrupted 2-process run (DQN and SAC): checkpoints bit for bit (with rank 1's
  training state in them), TensorBoard scalars, text logs, result.json.
* A resume with another number of processes is refused in one sentence, either way round; so is
  ``policy.distributed.engine='ray'`` under torchrun.
* SAC with demonstrations pretrains on them (``offline_dataset.pretrain_updates``, TD3+BC's actor loss) under
  2 processes with averaged gradients, and a run stopped inside pretraining resumes identical.

All runs start in one module fixture, two torchrun jobs at a time (about 40 s on 2 busy cores).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from resume_helpers import assert_identical, load, text_logs
from swing_demos import record_swing
from test_ddp import DING, TIMEOUT_S, TORCHRUN, Proc, assert_world_size_refused, experiment, ok

from ding_lite.ddp.state_transfer import pack, unpack

DQN_ITERATIONS, DQN_STOP_AT = 200, 98  # 98: two of a collect's four updates are left at the stop
SAC_ITERATIONS, SAC_STOP_AT = 40, 17
SAC_PRETRAIN, SAC_PRETRAIN_STOP_AT = 10, 6  # pretraining updates; a stop inside them

DQN_MAIN = """
main_config = dict(
    exp_name='exp',
    env=dict(collector_env_num=2, evaluator_env_num=1, n_evaluator_episode=1, stop_value=1e9),
    policy=dict(
        model=dict(obs_shape=4, action_shape=2, encoder_hidden_size_list=[32, 32], dueling=True),
        nstep=2, discount_factor=0.97,
        learn=dict(update_per_collect=4, batch_size=16, learning_rate=1e-3, target_update_freq=20,
                   learner=dict(hook=dict(save_ckpt_after_iter=50, log_show_after_iter=25))),
        collect=dict(n_sample=8),
        eval=dict(evaluator=dict(eval_freq=60)),
        other=dict(eps=dict(type='exp', start=0.95, end=0.1, decay=1000),
                   replay_buffer=dict(replay_buffer_size=2000)),
        {extra}
    ),
)
create_config = dict(env=dict(type='cartpole'), env_manager=dict(type='base'), policy=dict(type='dqn'))
"""
SAC_MAIN = """
main_config = dict(
    exp_name='exp',
    env=dict(collector_env_num=2, evaluator_env_num=1, n_evaluator_episode=1, act_scale=True, stop_value=1e9),
    policy=dict(
        random_collect_size=64,
        model=dict(obs_shape=3, action_shape=1, twin_critic=True, actor_head_hidden_size=32,
                   critic_head_hidden_size=32),
        learn=dict(update_per_collect=2, batch_size=32, ignore_done=True,
                   learner=dict(hook=dict(save_ckpt_after_iter=10, log_show_after_iter=5))),
        collect=dict(n_sample=4),
        eval=dict(evaluator=dict(eval_freq=20)),
    ),
)
create_config = dict(env=dict(type='pendulum'), env_manager=dict(type='base'), policy=dict(type='sac'))
"""


def serial(command: Sequence[str], cwd: Path, *args: str) -> Proc:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    return subprocess.run([*command, "-m", "serial", "-c", "config.py", "-s", "0", "-q", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | Proc]:
    """Every run of this module: name -> its experiment folder, or (refusals) the finished process."""
    base = tmp_path_factory.mktemp("ddp_serial")
    dqn = DQN_MAIN.format(extra="")
    folders = {name: experiment(base, name, dqn) for name in ("dqn1", "dqn2", "dqn_resumed")}
    folders |= {name: experiment(base, name, SAC_MAIN) for name in ("sac2", "sac_resumed")}
    demos = record_swing(base / "demos", episodes=1, envs=1)
    pretraining = SAC_MAIN.replace("random_collect_size=64,", f"random_collect_size=64, offline_dataset=dict("
                                   f"root={str(demos)!r}, pretrain_updates={SAC_PRETRAIN}, "
                                   "pretrain_actor_loss='td3_bc'),")  # fmt: skip
    folders |= {name: experiment(base, name, pretraining) for name in ("sac_pre2", "sac_pre_resumed")}
    ray = experiment(base, "ray", DQN_MAIN.format(extra="distributed=dict(engine='ray'),"))
    found: dict[str, Path | Proc] = {}

    def straight(name: str, command: Sequence[str], iterations: int) -> None:
        found[name] = ok(serial(command, folders[name], "--train-iter", str(iterations))) and folders[name] / "exp"

    def stopped_and_resumed(name: str, stop_at: int, iterations: int) -> None:
        ok(serial(TORCHRUN, folders[name], "--train-iter", str(stop_at)))
        straight(name, [*TORCHRUN, "--resume"], iterations)

    def refused(name: str, source: str, command: Sequence[str]) -> None:
        folder = base / name
        shutil.copytree(folders[source], folder)
        found[name] = serial(command, folder, "--resume")

    def then_refused(name: str, command: Sequence[str], refusal: str, other_command: Sequence[str]) -> None:
        straight(name, command, DQN_ITERATIONS)
        refused(refusal, name, other_command)

    jobs: list[Callable[[], object]] = [
        lambda: stopped_and_resumed("dqn_resumed", DQN_STOP_AT, DQN_ITERATIONS),
        lambda: then_refused("dqn2", TORCHRUN, "refused_by_1", DING),
        lambda: stopped_and_resumed("sac_resumed", SAC_STOP_AT, SAC_ITERATIONS),
        lambda: straight("sac2", TORCHRUN, SAC_ITERATIONS),
        lambda: stopped_and_resumed("sac_pre_resumed", SAC_PRETRAIN_STOP_AT, SAC_ITERATIONS),
        lambda: straight("sac_pre2", TORCHRUN, SAC_ITERATIONS),
        lambda: then_refused("dqn1", DING, "refused_by_2", TORCHRUN),
        lambda: found.update(ray=serial(TORCHRUN, ray)),
    ]  # longest first
    with ThreadPoolExecutor(max_workers=2) as pool:  # at most two torchrun jobs (4 processes) at once
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    return found


def exp(runs: dict[str, Path | Proc], name: str) -> Path:
    folder = runs[name]
    assert isinstance(folder, Path)
    return folder


def result(folder: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((folder / "result.json").read_text())
    return loaded


@pytest.mark.parametrize("name", ["dqn2", "sac2", "sac_pre2"])
def test_every_rank_ends_with_the_same_weights(runs: dict[str, Path | Proc], name: str) -> None:
    done = result(exp(runs, name))
    assert done["world_size"] == 2 and done["train_iter"] == (DQN_ITERATIONS if name == "dqn2" else SAC_ITERATIONS)
    assert done["weight_divergence"] == 0.0  # bit for bit; without averaged gradients about 0.3
    config = (exp(runs, name) / "formatted_total_config.py").read_text()
    assert "backend='torch'" in config or '"backend": "torch"' in config  # NumPy learning would not be averaged


def test_env_step_counts_the_steps_of_both_ranks(runs: dict[str, Path | Proc]) -> None:
    one, two = result(exp(runs, "dqn1")), result(exp(runs, "dqn2"))
    per_rank = one["env_step"]
    assert isinstance(per_rank, int) and per_rank > 0
    assert two["rank_env_steps"] == [per_rank, per_rank]
    assert two["env_step"] == 2 * per_rank
    checkpoint = load(exp(runs, "dqn2") / "ckpt" / f"iteration_{DQN_ITERATIONS}.pth.tar")
    assert checkpoint["last_step"] == 2 * per_rank
    assert checkpoint["ding_lite"]["world_size"] == 2
    assert checkpoint["ding_lite"]["rank_env_steps"] == [per_rank, per_rank]


def test_only_rank_0_writes(runs: dict[str, Path | Proc]) -> None:
    one, two = exp(runs, "dqn1"), exp(runs, "dqn2")

    def files(folder: Path) -> list[str]:
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and "tfevents" not in p.name)

    assert files(two) == files(one)
    assert len(list((two / "log" / "serial").iterdir())) == 1  # one events file: rank 1 opened no writer
    assert sorted(p.name for p in two.parent.iterdir()) == ["config.py", "exp"]
    averages = [[line for line in text_logs(e)["learner_logger.txt"] if line.startswith("train_iter")] for e in
                (one, two)]  # fmt: skip
    assert len(set(averages[1])) == len(averages[1]) == len(averages[0]) > 0  # logged once, not once per rank


@pytest.mark.parametrize(("name", "straight", "iterations"), [("dqn_resumed", "dqn2", DQN_ITERATIONS),
                                                              ("sac_resumed", "sac2", SAC_ITERATIONS)])  # fmt: skip
def test_a_stopped_and_resumed_2_process_run_ends_identical_to_an_uninterrupted_one(
    runs: dict[str, Path | Proc], name: str, straight: str, iterations: int
) -> None:
    resumed = exp(runs, name)
    stop_at = DQN_STOP_AT if name == "dqn_resumed" else SAC_STOP_AT
    stopped = load(resumed / "ckpt" / f"iteration_{stop_at}.pth.tar")
    assert stopped["last_iter"] == stop_at
    assert len(stopped["ding_lite"]["rank_states"]) == 1  # rank 1's buffer, envs, n-step windows, generators
    assert len(stopped["ding_lite"]["rank_states"][0]["buffer"]["data"]["obs"]) > 0
    assert_identical(exp(runs, straight), resumed, iterations)


@pytest.mark.parametrize(("name", "saved", "now"), [("refused_by_2", 1, 2), ("refused_by_1", 2, 1)])
def test_a_resume_with_another_number_of_processes_is_refused(
    runs: dict[str, Path | Proc], name: str, saved: int, now: int
) -> None:
    assert_world_size_refused(runs[name], f"exp/ckpt/iteration_{DQN_ITERATIONS}.pth.tar", saved, now)


def test_ray_actors_are_refused_under_torchrun(runs: dict[str, Path | Proc]) -> None:
    proc = runs["ray"]
    assert isinstance(proc, subprocess.CompletedProcess) and proc.returncode != 0
    message = (
        "ding: error: policy.distributed.engine='ray' in 'config.py' does not run under torchrun; unset it, or run "
        "without torchrun"
    )
    # each process refuses before they connect; torchrun may stop the slower one before it prints its line
    assert 1 <= proc.stderr.count(message) <= 2, proc.stderr[-3000:]


# --- the parts, in one process ------------------------------------------------------------------------------
def test_a_rank_state_survives_packing_with_its_types() -> None:
    import numpy as np
    import torch

    state = {
        "buffer": {"obs": torch.arange(6, dtype=torch.float32).reshape(2, 3), "flags": torch.tensor([True, False])},
        "pending": [[(np.ones(3, dtype=np.float32), [1, 0], 0.5, False)]],
        "rng": {"state": {"state": 2**100 + 7, "inc": 3}, "bit_generator": "PCG64"},
        "keys": np.arange(4, dtype=np.uint32),
        "scalar": np.float64(1.25),
        "by_index": {0: "a", 1: None},
        "nan": float("nan"),
        "empty": torch.zeros(0, 4),
    }
    again = unpack(*pack(state))
    assert torch.equal(again["buffer"]["obs"], state["buffer"]["obs"])
    assert again["buffer"]["flags"].dtype == torch.bool and again["buffer"]["flags"].tolist() == [True, False]
    step = again["pending"][0][0]
    assert isinstance(step, tuple) and step[0].dtype == np.float32 and step[1:] == ([1, 0], 0.5, False)
    assert again["rng"] == state["rng"] and again["by_index"] == {0: "a", 1: None}
    assert again["keys"].dtype == np.uint32 and again["keys"].tolist() == [0, 1, 2, 3]
    assert isinstance(again["scalar"], np.float64) and again["scalar"] == 1.25
    assert again["nan"] != again["nan"] and again["empty"].shape == (0, 4)
    with pytest.raises(TypeError, match=r"state\['bad'\]: a set cannot be sent between ranks"):
        pack({"bad": {1, 2}})


def test_a_2_process_run_stopped_inside_pretraining_resumes_identical(runs: dict[str, Path | Proc]) -> None:
    resumed = exp(runs, "sac_pre_resumed")
    stopped = load(resumed / "ckpt" / f"iteration_{SAC_PRETRAIN_STOP_AT}.pth.tar")
    assert stopped["last_iter"] == SAC_PRETRAIN_STOP_AT and stopped["last_step"] == 0  # no env step yet
    assert_identical(exp(runs, "sac_pre2"), resumed, SAC_ITERATIONS)
    offline = load(resumed / "ckpt" / f"iteration_{SAC_ITERATIONS}.pth.tar")["ding_lite"]["offline_buffer"]
    assert offline["size"] == 199  # the episode's 200 frames but the last, a time limit with no successor
