"""``ding -m bc`` under ``torchrun`` with DistributedDataParallel (:mod:`ding_lite.ddp`), on 2 gloo processes.

Specifications:

* 2 processes at batch B/2 train like 1 process at batch B: the logged training loss at every iteration, the
  validation losses and the final weights agree to float32 rounding. BC (an MLP, Adam) runs on a dataset of
  89 training frames, so every epoch ends with a batch of 9 split 5 + 4 (the unequal shares are weighted);
  ACT (FlatAdamW, whose flat gradient buffer must receive DDP's average) runs with dropout 0 and no CVAE,
  whose random draws differ per process by design. Were the gradients not averaged, each process would step
  on its own half batch and these comparisons fail from the first update on.
* Rank 0 alone writes: the experiment holds exactly the files of the 1-process run, one TensorBoard events
  file, and text logs with no line twice.
* A 2-process ACT run (dropout and CVAE on) stopped at an iteration and resumed with ``--resume`` ends
  identical to the uninterrupted 2-process run: checkpoints bit for bit, logs, result.json.
* A resume with another number of processes is refused in one sentence (exit status 2), either way round.

All runs start in one module fixture, three at a time (about 45 s on 2 busy cores, 55 s of CPU).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from resume_helpers import assert_identical, load, scalar_series, text_logs

from ding_lite.datasets.sampler import BatchSampler
from ding_lite.ddp.replica import rank_seed
from ding_lite.ddp.sampler import ShardedSampler
from ding_lite.ddp.world import World, check_resume_world_size, launcher_words
from ding_lite.errors import CheckpointError, ConfigError

REACHER = Path(__file__).resolve().parent / "fixtures" / "lerobot" / "reacher_expert"
DING = [sys.executable, "-m", "ding_lite.entry.cli"]
TORCHRUN = [
    sys.executable,
    "-m",
    "torch.distributed.run",
    "--standalone",
    "--nproc_per_node=2",
    "-m",
    "ding_lite.entry.cli",
]
TIMEOUT_S = 300.0  # turns a hang (a rank waiting for another forever) into a failure; runs take seconds
BC_ITERATIONS, ACT_ITERATIONS, STOP_AT = 30, 20, 7
# float32 tolerance. A 2-process update differs from a 1-process one only in summation order: each process
# sums its share's gradient, DDP adds the two (and the loss is weighted by share size), where one process
# sums all at once; that is a relative error of a few float32 epsilons (1.2e-7) per update, and Adam's
# normalised steps do not amplify it for parameters with a real gradient. Measured here: losses agree to
# 2e-7 relative and weights to 1e-6 absolute after 30 updates. rtol 1e-5 / atol 1e-5 leaves a margin of ten
# and more, while one update on the wrong gradient (half the batch) moves weights by about lr = 1e-3.
RTOL, ATOL = 1e-5, 1e-5
WORKERS = int(os.environ.get("W", 3))

BC_MAIN = """
main_config = dict(
    exp_name='exp',
    dataset=dict(root={root!r}, val_episodes=[3]),
    env=dict(env_id='Reacher-v5', collector_env_num=1, evaluator_env_num=1, n_evaluator_episode=1),
    policy=dict(
        model=dict(obs_features=['observation.state'], action_feature='action', hidden_size_list=[32, 32]),
        learn=dict(batch_size={batch}, learning_rate=1e-3, val_freq=10,
                   learner=dict(train_iterations={iterations}, hook=dict(save_ckpt_after_iter=10,
                                                                         log_show_after_iter=1))),
    ),
)
create_config = dict(env=dict(type='gymnasium'), env_manager=dict(type='base'), policy=dict(type='bc'))
"""
ACT_MAIN = """
main_config = dict(
    exp_name='exp',
    dataset=dict(root={root!r}, episodes=[0, 1, 2, 3], val_episodes=[3]),
    env=dict(env_id='Reacher-v5', collector_env_num=1, evaluator_env_num=1, n_evaluator_episode=1),
    policy=dict(
        model=dict(chunk_size=5, n_action_steps=5, dim_model=16, n_heads=2, dim_feedforward=32, n_encoder_layers=1,
                   n_decoder_layers=1, latent_dim=4, n_vae_encoder_layers=1, {randomness}),
        learn=dict(batch_size={batch}, learning_rate=1e-3, val_freq=5,
                   learner=dict(train_iterations={iterations}, hook=dict(save_ckpt_after_iter=5,
                                                                         log_show_after_iter=1))),
    ),
)
create_config = dict(env=dict(type='gymnasium'), env_manager=dict(type='base'), policy=dict(type='act'))
"""
DETERMINISTIC = "dropout=0.0, use_vae=False"
RANDOM = "dropout=0.1, use_vae=True"

Proc = subprocess.CompletedProcess[str]


def write_odd_dataset(root: Path) -> Path:
    """Episodes of 29, 30, 30 frames (89 for training, an odd number) and a validation episode of 20; the
    action is a smooth function of the state, so BC has something to learn."""
    from ding_lite.datasets.writer import DatasetWriter

    features = {
        "observation.state": {"dtype": "float32", "shape": [3], "names": None},
        "action": {"dtype": "float32", "shape": [2], "names": None},
    }
    writer = DatasetWriter.create(root, fps=20, features=features)
    for episode, length in enumerate((29, 30, 30, 20)):
        t = np.arange(length, dtype=np.float32) / length
        state = np.stack([np.sin(3 * t + episode), np.cos(2 * t - episode), t * (episode + 1)], axis=1)
        action = np.stack([np.tanh(state[:, 0] - state[:, 2]), state[:, 1] * state[:, 0]], axis=1)
        writer.save_episode_arrays({"observation.state": state, "action": action}, "reach")
    writer.finalize()
    return root


def run(command: Sequence[str], cwd: Path, *args: str) -> Proc:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    return subprocess.run([*command, "-m", "bc", "-c", "config.py", "-s", "0", "-q", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)  # fmt: skip


def ok(proc: Proc) -> Proc:
    assert proc.returncode == 0, f"exit status {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc


def experiment(base: Path, name: str, config: str) -> Path:
    """``base/name/config.py``; returns the folder the run works in."""
    folder = base / name
    folder.mkdir()
    (folder / "config.py").write_text(config)
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | Proc]:
    """Every run of this module: name -> its experiment folder, or (refusals) the finished process."""
    base = tmp_path_factory.mktemp("ddp")
    odd = str(write_odd_dataset(base / "odd"))
    bc = {n: experiment(base, f"bc{n}", BC_MAIN.format(root=odd, batch=16 // n, iterations=BC_ITERATIONS))
          for n in (1, 2)}  # fmt: skip
    act = {n: experiment(base, f"act{n}", ACT_MAIN.format(root=str(REACHER), batch=16 // n,
           iterations=ACT_ITERATIONS, randomness=DETERMINISTIC)) for n in (1, 2)}  # fmt: skip
    random_config = ACT_MAIN.format(root=str(REACHER), batch=8, iterations=ACT_ITERATIONS, randomness=RANDOM)
    straight, resumed = experiment(base, "straight", random_config), experiment(base, "resumed", random_config)
    found: dict[str, Path | Proc] = {}

    def then_refused(name: str, source: Path, command: Sequence[str], command_name: str) -> Path:
        """Run ``name``, then resume a copy of it with another number of processes (``command``)."""
        found[name] = ok(run((source == bc[1] and DING) or TORCHRUN, source)) and source / "exp"
        folder = base / command_name
        shutil.copytree(source, folder)
        found[command_name] = run(command, folder, "--resume")
        return source / "exp"

    jobs: list[Callable[[], object]] = [
        lambda: then_refused("bc1", bc[1], TORCHRUN, "refused_by_2"),
        lambda: then_refused("act2", act[2], DING, "refused_by_1"),
        lambda: found.update(
            resumed=ok(run(TORCHRUN, resumed, "--train-iter", str(STOP_AT)))
            and ok(run(TORCHRUN, resumed, "--resume"))
            and resumed / "exp"
        ),
        lambda: found.update(straight=ok(run(TORCHRUN, straight)) and straight / "exp"),
        lambda: found.update(bc2=ok(run(TORCHRUN, bc[2])) and bc[2] / "exp"),
        lambda: found.update(act1=ok(run(DING, act[1])) and act[1] / "exp"),
    ]  # longest first
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for future in [pool.submit(job) for job in jobs]:
            future.result()
    return found


def exp(runs: dict[str, Path | Proc], name: str) -> Path:
    folder = runs[name]
    assert isinstance(folder, Path)
    return folder


def assert_same_curves(one: Path, two: Path, iterations: int) -> None:
    a, b = scalar_series(one), scalar_series(two)
    assert sorted(a) == sorted(b)
    losses = [tag for tag in a if tag.startswith("learner_iter/") and tag.endswith("loss_avg")]
    assert "learner_iter/total_loss_avg" in losses and "validation/loss" in a
    for tag in [*losses, "validation/loss", "learner_step/total_loss_avg"]:
        steps = [step for step, _ in a[tag]]
        assert steps == [step for step, _ in b[tag]], tag  # learner_step: samples over both processes
        if tag.startswith("learner_iter/"):
            assert steps == list(range(1, iterations + 1)), tag  # logged at every iteration
        np.testing.assert_allclose([v for _, v in b[tag]], [v for _, v in a[tag]], rtol=RTOL, atol=0, err_msg=tag)


def final_weights(exp_dir: Path, iterations: int) -> dict[str, torch.Tensor]:
    return dict(load(exp_dir / "ckpt" / f"iteration_{iterations}.pth.tar")["model"])


def test_two_bc_processes_at_half_the_batch_train_like_one_at_the_whole(runs: dict[str, Path | Proc]) -> None:
    one, two = exp(runs, "bc1"), exp(runs, "bc2")
    assert_same_curves(one, two, BC_ITERATIONS)
    a, b = final_weights(one, BC_ITERATIONS), final_weights(two, BC_ITERATIONS)
    assert sorted(a) == sorted(b)
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=RTOL, atol=ATOL, msg=name)
    assert load(two / "ckpt" / f"iteration_{BC_ITERATIONS}.pth.tar")["ding_lite"]["world_size"] == 2
    assert json.loads((two / "result.json").read_text())["best_validation_loss"] == pytest.approx(
        json.loads((one / "result.json").read_text())["best_validation_loss"], rel=RTOL
    )


def test_two_act_processes_train_like_one_through_flat_adamw(runs: dict[str, Path | Proc]) -> None:
    one, two = exp(runs, "act1"), exp(runs, "act2")
    assert_same_curves(one, two, ACT_ITERATIONS)
    a, b = final_weights(one, ACT_ITERATIONS), final_weights(two, ACT_ITERATIONS)
    for name in a:
        # Parameters whose gradient is zero in exact arithmetic move by Adam steps on rounding noise (about lr
        # per step, in either direction) and do not change any output: attention key biases (a constant added
        # to every score of a query) and the decoder's first self-attention (its input is zeros, so it attends
        # over identical values). The predictions below show they do not matter.
        if name.startswith("model.decoder.layers.0.self_attn."):
            continue
        expected, actual = a[name], b[name]
        if name.endswith("in_proj_bias"):
            third = len(expected) // 3
            expected, actual = (
                torch.cat([expected[:third], expected[2 * third :]]),
                torch.cat([actual[:third], actual[2 * third :]]),
            )
        torch.testing.assert_close(actual, expected, rtol=RTOL, atol=ATOL, msg=name)
    from ding_lite.act.policy import ACTPolicy
    from ding_lite.datasets import LeRobotDataset

    frames = LeRobotDataset(REACHER, episodes=[3]).batch(
        np.arange(50), keys=["observation.state", "observation.environment_state"]
    )
    chunks = [ACTPolicy.from_pretrained(e / "checkpoints/last/pretrained_model").predict_action_chunk(frames) for e in
              (one, two)]  # fmt: skip
    torch.testing.assert_close(chunks[1], chunks[0], rtol=RTOL, atol=ATOL)


def test_only_rank_0_writes(runs: dict[str, Path | Proc]) -> None:
    one, two = exp(runs, "bc1"), exp(runs, "bc2")

    def files(folder: Path) -> list[str]:
        return sorted(re.sub(r"events\.out\.tfevents\..*", "events", str(p.relative_to(folder)))
                      for p in folder.rglob("*") if p.is_file())  # fmt: skip

    assert files(two) == files(one)
    assert len(list((two / "log" / "serial").iterdir())) == 1  # one events file: rank 1 opened no writer
    assert len(list(two.parent.iterdir())) == 2  # config.py and exp: nothing else in the working directory
    logs_one, logs_two = text_logs(one), text_logs(two)
    assert {name: len(lines) for name, lines in logs_two.items()} == {n: len(lines) for n, lines in logs_one.items()}


def test_a_stopped_and_resumed_2_process_run_ends_identical_to_an_uninterrupted_one(
    runs: dict[str, Path | Proc],
) -> None:
    resumed = exp(runs, "resumed")
    assert load(resumed / "ckpt" / f"iteration_{STOP_AT}.pth.tar")["last_iter"] == STOP_AT
    assert_identical(exp(runs, "straight"), resumed, ACT_ITERATIONS)


@pytest.mark.parametrize(("name", "saved", "now"), [("refused_by_2", 1, 2), ("refused_by_1", 2, 1)])
def test_a_resume_with_another_number_of_processes_is_refused(
    runs: dict[str, Path | Proc], name: str, saved: int, now: int
) -> None:
    checkpoint = f"exp/ckpt/iteration_{BC_ITERATIONS if saved == 1 else ACT_ITERATIONS}.pth.tar"
    assert_world_size_refused(runs[name], checkpoint, saved, now)


def assert_world_size_refused(proc: Proc | Path, checkpoint: str, saved: int, now: int) -> None:
    """``proc``, resuming a run of ``saved`` processes from ``checkpoint`` with ``now``, was refused by every
    process with the one sentence that says what to do."""
    assert isinstance(proc, subprocess.CompletedProcess)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ding: error:")]
    assert errors and proc.returncode != 0, proc.stderr[-3000:]
    # Every process refuses (none waits for another: the run's timeout would catch that), but torchrun ends
    # the others as soon as one has failed, so a slower process may be stopped before it prints its line.
    assert 1 <= len(errors) <= now
    what = {1: "1 process", 2: "2 processes"}
    expected = (
        f"ding: error: checkpoint '{checkpoint}' was written by a run of {what[saved]} and cannot resume with "
        f"{what[now]}; resume it with "
        + ("plain ding (no torchrun)" if saved == 1 else "torchrun --nproc_per_node=2 (WORLD_SIZE=2)")
        + ", or start a new run from its weights with --load-path instead of --resume"
    )
    assert all(error == expected for error in errors), errors
    if now == 1:
        assert proc.returncode == 2


# --- the parts, in one process ------------------------------------------------------------------------------
def test_the_world_comes_from_torchruns_environment() -> None:
    assert World.from_environment({}) is None
    assert World.from_environment({"WORLD_SIZE": "1", "RANK": "0", "LOCAL_RANK": "0"}) is None
    world = World.from_environment({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"})
    assert world is not None and (world.rank, world.size, world.local_rank, world.lead) == (3, 4, 1, False)
    with pytest.raises(ConfigError, match="RANK=4 is outside WORLD_SIZE=4"):
        World.from_environment({"WORLD_SIZE": "4", "RANK": "4"})
    assert launcher_words({}) == ["ding"]
    environ = {"WORLD_SIZE": "4", "RANK": "0", "LOCAL_WORLD_SIZE": "2"}
    assert launcher_words(environ) == ["torchrun", "--nproc_per_node=2", "--nnodes=2", "-m", "ding_lite.entry.cli"]


def test_shards_split_each_global_batch_and_pad_an_empty_share() -> None:
    ranks = [ShardedSampler(BatchSampler(11, 6, seed=3), rank, 2) for rank in range(2)]
    reference = BatchSampler(11, 6, seed=3)
    for _ in range(4):  # batches of 6, 5, 6, 5: the shares of a short batch are 3 and 2
        whole, shares = reference.next_batch(), [sampler.next_batch() for sampler in ranks]
        assert sorted(np.concatenate(shares).tolist()) == sorted(whole.tolist())
        assert not any(sampler.padding for sampler in ranks)
    assert ranks[0].state_dict() == ranks[1].state_dict() == reference.state_dict()
    lonely = [ShardedSampler(BatchSampler(3, 3, seed=0), rank, 4) for rank in range(4)]
    shares = [sampler.next_batch() for sampler in lonely]
    assert [sampler.padding for sampler in lonely] == [False, False, False, True]
    assert len(shares[3]) == 1  # a placeholder sample, whose loss counts for nothing


def test_each_rank_and_iteration_has_its_own_random_stream() -> None:
    seeds = {rank_seed(0, rank, step) for rank in range(4) for step in range(100)}
    assert len(seeds) == 400
    assert rank_seed(5, 1, 7) == rank_seed(5, 1, 7)


def test_the_refusal_names_the_checkpoint_both_sizes_and_what_to_do() -> None:
    with pytest.raises(CheckpointError) as caught:
        check_resume_world_size(4, 2, "exp/ckpt/iteration_10.pth.tar")
    assert str(caught.value) == (
        "checkpoint 'exp/ckpt/iteration_10.pth.tar' was written by a run of 4 processes and cannot resume with 2 "
        "processes; resume it with torchrun --nproc_per_node=4 (WORLD_SIZE=4), or start a new run from its weights "
        "with --load-path instead of --resume"
    )
    check_resume_world_size(2, 2, "same")


def test_other_modes_are_refused_under_torchrun(tmp_path: Path) -> None:
    environ = {**os.environ, "WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}
    config = Path(__file__).resolve().parents[1] / "dizoo_configs" / "cartpole_dqn_config.py"
    proc = subprocess.run([*DING, "-m", "serial_onpolicy", "-c", str(config)], cwd=tmp_path, env=environ,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "ding: error: ding -m serial_onpolicy does not run under torchrun (only -m bc and -m serial do, see "
        "docs/ddp.md); run it without torchrun"
    )
    assert not any(tmp_path.iterdir())
