"""Specifications of envs in worker processes (``env_manager.type='subprocess'``).

Same seed and actions, same transitions as in-process, pixel observations included; a worker whose env
raises, that hangs past ``step_timeout`` or that is killed with SIGKILL is replaced, its episode dropped and
counted, and training goes on; ``max_retry`` failures in a row stop the run with a one-sentence error;
state round trips and ``--resume`` stay exact; nothing is left behind by ``close()`` or by a parent that raises.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import runpy
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import faulty_envs  # noqa: F401  (registers faulty_cartpole)
import numpy as np
import pytest
import torch
from resume_helpers import (
    DI_ENGINE_FIXTURES,
    DQN_BASE,
    EXP,
    REPO,
    assert_identical,
    check_ok,
    ding,
    ding_many,
    load,
    write_config,
)

from ding_lite.config import compile_config
from ding_lite.data.nstep import NStepTransitions
from ding_lite.datasets import LeRobotDataset
from ding_lite.entry import eval_pipeline, serial_pipeline
from ding_lite.entry.record import record
from ding_lite.envs import (
    ENV_MANAGER_REGISTRY,
    CartPoleEnv,
    SubprocessEnvManager,
    VecStep,
    VectorEnvManager,
    make_env_manager,
)
from ding_lite.errors import ConfigError, EnvWorkerError
from ding_lite.policy import POLICY_REGISTRY
from ding_lite.utils.log import ExperimentLogger
from ding_lite.utils.obs import take
from ding_lite.worker import InteractionEvaluator, SampleCollector

FIELDS = ("obs", "next_obs", "reward", "done", "truncated", "episode_return", "episode_length", "dropped")
FAST_RETRY = {"retry_waiting_time": 0.0}
DQN_FIXTURE = DI_ENGINE_FIXTURES / "cartpole_dqn_seed0_best.pth.tar"


def same(a: Any, b: Any) -> bool:
    """Equal dtype, shape and bytes (key by key for dict observations)."""
    if isinstance(a, Mapping):
        return set(a) == set(b) and all(same(a[key], b[key]) for key in a)
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def assert_same_rows(got: VecStep, want: VecStep, rows: list[int]) -> None:
    for field in FIELDS:
        x, y = take(getattr(got, field), rows), take(getattr(want, field), rows)
        assert same(x, y), f"{field} differs in rows {rows}: {x} vs {y}"


def gone(pid: int | None) -> bool:
    assert pid is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# --- identical transitions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env_cfg", "manager_cfg", "steps"),
    [
        ({"type": "cartpole"}, {"workers": 2}, 400),  # 5 envs over 2 processes; many episode ends
        ({"type": "pendulum", "act_scale": True, "obs_type": "pixels_state", "image_size": 16}, {}, 205),
    ],
    ids=["cartpole_grouped", "pendulum_pixels_state"],
)
def test_transitions_equal_the_in_process_managers(env_cfg: dict[str, Any], manager_cfg: dict[str, Any], steps: int):
    n = 5
    base = make_env_manager(env_cfg, {"type": "base"}, n)
    workers = make_env_manager(env_cfg, {"type": "subprocess", **manager_cfg}, n)
    assert isinstance(workers, SubprocessEnvManager) and workers.spec == base.spec
    rng = np.random.default_rng(7)
    try:
        for manager in (base, workers):
            manager.seed(11)
        assert same(workers.reset(), base.reset())
        ends = 0
        for _ in range(steps):
            if base.spec.action_kind == "discrete":
                actions = rng.integers(0, 2, n)
            else:
                actions = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
            got, want = workers.step(actions), base.step(actions)
            assert_same_rows(got, want, list(range(n)))
            ends += int(want.done.sum())
        assert ends >= n  # auto-resets were compared too
        if isinstance(got.obs, dict):
            assert got.obs["image"].dtype == np.uint8 and got.obs["state"].dtype == np.float32
        assert workers.failure_counts() == {"env_restarts": 0.0, "env_dropped_episodes": 0.0}
    finally:
        workers.close()
        base.close()


# --- failures --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["raise", "hang", "sigkill"])
def test_a_failed_worker_is_replaced_and_only_its_episode_dropped(fault: str) -> None:
    n, seed, k = 3, 0, 5
    faults = [] if fault == "sigkill" else [[1, fault]]  # env 1 is seeded 1
    env_cfg = {"type": "faulty_cartpole", "faults": faults, "fault_step": k}
    manager_cfg = {"type": "subprocess", "step_timeout": 1.0, "max_retry": 2, **FAST_RETRY}
    workers = make_env_manager(env_cfg, manager_cfg, n)
    base = make_env_manager({"type": "cartpole"}, {"type": "base"}, n)
    assert isinstance(workers, SubprocessEnvManager)
    rng = np.random.default_rng(3)
    try:
        for manager in (base, workers):
            manager.seed(seed)
        workers.reset(), base.reset()
        for _ in range(k - 1):
            actions = rng.integers(0, 2, n)
            before = workers.step(actions).obs
            base.step(actions)
        if fault == "sigkill":
            os.kill(workers.worker_pids[1], signal.SIGKILL)
        actions = rng.integers(0, 2, n)
        got, want = workers.step(actions), base.step(actions)
        assert_same_rows(got, want, [0, 2])  # the others go on untouched
        assert got.dropped.tolist() == [False, True, False] and not got.done[1] and not got.truncated[1]
        assert got.reward[1] == 0.0 and math.isnan(got.episode_return[1]) and got.episode_length[1] == 0
        assert same(got.next_obs[1], before[1])  # no successor: the observation acted on
        replacement = CartPoleEnv()
        replacement.seed(seed + 1 + n)  # env 1's first replacement
        assert same(got.obs[1], replacement.reset())
        assert workers.failure_counts() == {"env_restarts": 1.0, "env_dropped_episodes": 1.0}
        for _ in range(30):  # env 1 goes on as its replacement, the others as before
            actions = rng.integers(0, 2, n)
            got, want = workers.step(actions), base.step(actions)
            assert_same_rows(got, want, [0, 2])
            obs, _, terminated, truncated = replacement.step(int(actions[1]))
            assert same(got.next_obs[1], obs) and not got.dropped.any()
            if terminated or truncated:
                assert same(got.obs[1], replacement.reset())
        assert workers.restarts == 1
    finally:
        workers.close()
        base.close()


def test_max_retry_failures_in_a_row_stop_the_run_naming_the_env_and_its_last_error() -> None:
    n = 3  # env 1 is seeded 1, its replacements 1 + 3 and 1 + 6: each fails at its first step
    env_cfg = {"type": "faulty_cartpole", "faults": [[1, "raise"], [4, "raise"], [7, "raise"]], "fault_step": 1}
    workers = make_env_manager(env_cfg, {"type": "subprocess", "max_retry": 3, **FAST_RETRY}, n)
    assert isinstance(workers, SubprocessEnvManager)
    workers.seed(0)
    workers.reset()
    for _ in range(2):
        assert workers.step(np.zeros(n, dtype=np.int64)).dropped.tolist() == [False, True, False]
    pids = workers.worker_pids
    segment = Path("/dev/shm") / workers.shared_memory_name
    with pytest.raises(EnvWorkerError) as raised:
        workers.step(np.zeros(n, dtype=np.int64))
    assert str(raised.value) == (
        "env 1 failed 3 times in a row (env.manager.max_retry=3); the last time step raised "
        "RuntimeError: faulty_cartpole fails at step 1"
    )
    assert all(gone(pid) for pid in pids) and not segment.exists()  # the error shut everything down


@pytest.mark.parametrize("nstep", [1, 3])
def test_the_collector_stores_nothing_of_a_dropped_step_and_does_not_count_it(nstep: int, tmp_path: Path) -> None:
    n, k = 4, 5  # env 1 raises at its 5th step

    def collector(faults: list[Any]) -> tuple[SampleCollector, NStepTransitions]:
        config = runpy.run_path(str(DQN_BASE))
        main, create = copy.deepcopy(config["main_config"]), copy.deepcopy(config["create_config"])
        main.env.update(faults=faults, fault_step=k)
        main.policy.nstep = nstep
        create.env.type = "faulty_cartpole"
        cfg = compile_config((main, create), 0, save_cfg=False)
        env = make_env_manager(cfg.env, {"type": "subprocess", "max_retry": 2, **FAST_RETRY}, n)
        env.seed(0)
        policy = POLICY_REGISTRY.get("dqn")(cfg.policy)
        policy.seed(0)
        logger = ExperimentLogger(tmp_path / str(len(faults)), tensorboard=False)
        return SampleCollector(cfg.policy.collect.collector, env, policy, logger), NStepTransitions(n, nstep, 0.97)

    (faulty, faulty_nstep), (plain, plain_nstep) = collector([[1, "raise"]]), collector([])
    try:
        for _ in range(k):  # one vector step per call, the same random actions in both
            got = faulty.collect_transitions(n, 0, faulty_nstep, random_actions=True)
            want = plain.collect_transitions(n, 0, plain_nstep, random_actions=True)
        assert (faulty.env_step, plain.env_step) == (n * k - 1, n * k)
        assert len(got) == len(want) == 1 and len(want[0]["reward"]) == n  # one transition per env, no episode end
        kept = {bytes(row) for row in got[0]["obs"]}
        assert len(got[0]["reward"]) == n - 1 and kept <= {bytes(row) for row in want[0]["obs"]}
        assert bytes(want[0]["obs"][1]) not in kept  # env 1's transition (the oldest of its window) is gone
    finally:
        faulty.env.close()
        plain.env.close()


def test_ding_record_leaves_a_dropped_episode_out_of_the_dataset(tmp_path: Path) -> None:
    config = runpy.run_path(str(DQN_BASE))
    main, create = copy.deepcopy(config["main_config"]), copy.deepcopy(config["create_config"])
    main.env.update(collector_env_num=3, faults=[[1, "raise"]], fault_step=4)  # env 1 fails mid-episode
    create.env.type = "faulty_cartpole"
    create.env_manager = {"type": "subprocess", "max_retry": 2, **FAST_RETRY}
    record((main, create), tmp_path / "data", 6, controller=lambda obs: np.zeros(len(obs), dtype=np.int64), quiet=True)
    ds = LeRobotDataset(tmp_path / "data")
    frames = [ds[i] for i in range(len(ds))]
    assert ds.num_episodes == 6
    for before, after in zip(frames, frames[1:]):  # within an episode, x follows cartpole's Euler step exactly
        if int(before["episode_index"]) == int(after["episode_index"]):
            x, x_dot = (float(v) for v in np.asarray(before["observation.state"])[:2])
            assert float(np.asarray(after["observation.state"])[0]) == pytest.approx(x + 0.02 * x_dot, abs=1e-6)


def test_dqn_trains_through_a_worker_that_raises_one_that_hangs_and_one_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = runpy.run_path(str(DQN_BASE))
    main, create = copy.deepcopy(config["main_config"]), copy.deepcopy(config["create_config"])
    main.exp_name = "faulty"
    main.env.update(faults=[[1, "raise"], [2, "hang"], [3, "kill"]], fault_step=12)  # collector envs 1, 2, 3
    main.policy.learn.learner = {"hook": {"save_ckpt_after_iter": 1000}}
    main.policy.eval.evaluator.eval_freq = 1000
    create.env.type = "faulty_cartpole"
    create.env_manager = {"type": "subprocess", "step_timeout": 1.0, "max_retry": 2, **FAST_RETRY}
    serial_pipeline((main, create), seed=0, max_train_iter=100, quiet=True)
    assert json.loads((tmp_path / "faulty" / "result.json").read_text())["train_iter"] == 100
    env_state = load(tmp_path / "faulty" / "ckpt" / "iteration_100.pth.tar")["ding_lite"]["collector"]["env"]
    assert (env_state["restarts"], env_state["dropped_episodes"]) == (3, 3)


def test_evaluating_a_checkpoint_with_env_workers_gives_the_in_process_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = runpy.run_path(str(DQN_BASE))
    returns = {}
    for kind in ("base", "subprocess"):
        main, create = copy.deepcopy(config["main_config"]), copy.deepcopy(config["create_config"])
        main.exp_name, create.env_manager = f"eval_{kind}", {"type": kind}
        result = eval_pipeline((main, create), 0, load_path=DQN_FIXTURE, n_episode=5)
        returns[kind] = result["episode_returns"]
    assert returns["subprocess"] == returns["base"] and len(returns["base"]) == 5


class Recorder:
    """The logger an evaluator writes to, keeping the scalars."""

    def __init__(self) -> None:
        self.scalars: dict[str, float] = {}

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.scalars[tag] = value

    def text(self, name: str, line: str) -> None:
        pass


def test_an_evaluation_through_a_failed_worker_finishes_its_episodes_restarts_the_envs_memory_and_logs_it() -> None:
    n, k = 2, 5
    env_cfg = {"type": "faulty_cartpole", "faults": [[8, "raise"]], "fault_step": k}  # env 1, seeded 7 + 1
    workers = make_env_manager(env_cfg, {"type": "subprocess", "max_retry": 2, **FAST_RETRY}, n)
    began: list[list[int]] = []

    class Memory:  # a policy with per-episode memory: hears which envs began a new episode
        eval_mode = type("Mode", (), {"forward": staticmethod(lambda obs: np.zeros(len(obs), np.int64))})
        reset_eval = staticmethod(began.append)

    recorder = Recorder()
    evaluator = InteractionEvaluator({"eval_freq": 1}, workers, Memory(), recorder,  # type: ignore[arg-type]
                                     n_episode=4, stop_value=1e9, seed=7)  # fmt: skip
    try:
        evaluator.eval(0, 0)
    finally:
        workers.close()
    assert began[0] == [1]  # env 1's episode was dropped at its 5th step: the first new episode is its
    assert recorder.scalars["evaluator_step/env_restarts"] == 1.0
    assert recorder.scalars["evaluator_step/env_dropped_episodes"] == 1.0
    assert math.isfinite(recorder.scalars["evaluator_step/reward_mean"])  # 4 whole episodes, none dropped


# --- state and resume --------------------------------------------------------------------------------------
def test_state_dict_loads_into_fresh_managers_of_either_kind_and_the_future_is_identical() -> None:
    n, cfg = 4, {"type": "cartpole"}
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 2, n) for _ in range(300)]
    saved = make_env_manager(cfg, {"type": "subprocess", "workers": 2}, n)
    saved.seed(123)
    saved.reset()
    for a in actions[:37]:
        saved.step(a)
    buffer = io.BytesIO()
    torch.save(saved.state_dict(), buffer)
    expected = [saved.step(a) for a in actions[37:]]
    saved.close()
    for kind in ("subprocess", "base"):
        buffer.seek(0)
        restored = make_env_manager(cfg, {"type": kind}, n)
        restored.seed(999)
        restored.reset()
        restored.load_state_dict(torch.load(buffer, weights_only=True))
        for a, want in zip(actions[37:], expected, strict=True):
            assert_same_rows(restored.step(a), want, list(range(n)))
        restored.close()


def test_a_worker_lost_while_saving_the_env_states_is_a_clear_error() -> None:
    manager = make_env_manager({"type": "cartpole"}, {"type": "subprocess"}, 2)
    assert isinstance(manager, SubprocessEnvManager)
    manager.reset()
    os.kill(manager.worker_pids[1], signal.SIGKILL)
    with pytest.raises(EnvWorkerError) as raised:
        manager.state_dict()
    assert str(raised.value) == (
        "env 1 failed where its worker cannot be replaced: its worker was killed by SIGKILL during saving its state"
    )


def test_dqn_stopped_and_resumed_with_env_workers_equals_the_straight_run(tmp_path: Path) -> None:
    n, half = 60, 28  # 28: in the middle of a collect/train cycle of 5 updates
    edits = "create_config.env_manager = dict(type='subprocess', workers=2)"
    runs = {}
    for name in ("straight", "resumed"):
        cwd = tmp_path / name
        cwd.mkdir()
        config = write_config(cwd / "cfg.py", DQN_BASE, save_every=20, eval_freq=20, log_every=5, edits=edits)
        runs[name] = (["-m", "serial", "-c", str(config), "-s", "0", "--train-iter"], cwd, config)
    straight, first = ding_many([(runs["straight"][0] + [str(n)], runs["straight"][1]),
                                 (runs["resumed"][0] + [str(half)], runs["resumed"][1])])  # fmt: skip
    check_ok(straight), check_ok(first)
    check_ok(ding(*runs["resumed"][0], str(n), "--resume", cwd=runs["resumed"][1]))
    assert_identical(tmp_path / "straight" / EXP, tmp_path / "resumed" / EXP, n)


# --- shutting down -------------------------------------------------------------------------------------------
def test_close_stops_every_worker_and_removes_the_shared_memory() -> None:
    manager = make_env_manager({"type": "cartpole"}, {"type": "subprocess", "workers": 2}, 4)
    assert isinstance(manager, SubprocessEnvManager)
    manager.reset()
    manager.step(np.ones(4, dtype=np.int64))
    pids, segment = manager.worker_pids, Path("/dev/shm") / manager.shared_memory_name
    assert segment.exists() and not any(gone(pid) for pid in pids)
    manager.close()
    manager.close()  # idempotent
    assert all(gone(pid) for pid in pids) and not segment.exists()
    with pytest.raises(RuntimeError, match="closed"):
        manager.reset()


PARENT_RAISES = """
import json
from ding_lite.envs import make_env_manager

if __name__ == "__main__":  # workers import the main module: a script that starts them needs this guard
    manager = make_env_manager({"type": "cartpole"}, {"type": "subprocess"}, 3)
    manager.reset()
    print(json.dumps({"pids": manager.worker_pids, "segment": manager.shared_memory_name}), flush=True)
    raise RuntimeError("the training loop failed")
"""


def test_a_parent_that_raises_leaves_no_worker_and_no_shared_memory(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT_RAISES)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1 and "the training loop failed" in proc.stderr
    assert "leaked" not in proc.stderr, proc.stderr  # no resource_tracker warning: the segment was unlinked
    info = json.loads(proc.stdout)
    assert all(gone(pid) for pid in info["pids"]) and not (Path("/dev/shm") / info["segment"]).exists()


@pytest.mark.parametrize(
    ("manager", "message"),
    [
        ({"type": "subprocess", "workers": 0}, "config key 'env.manager.workers' is 0 in x.py; it must be None or an "
         "integer >= 1"),
        ({"type": "subprocess", "context": "thread"}, "config key 'env.manager.context' is 'thread' in x.py; it must "
         "be one of 'fork', 'forkserver', 'spawn'"),
        ({"type": "base", "workers": 2}, "unknown config key 'env.manager.workers' in x.py"),
    ],
)  # fmt: skip
def test_manager_keys_are_checked(manager: dict[str, Any], message: str) -> None:
    config = runpy.run_path(str(DQN_BASE))
    main, create = copy.deepcopy(config["main_config"]), copy.deepcopy(config["create_config"])
    create.env_manager = manager
    with pytest.raises(ConfigError) as raised:
        compile_config((main, create), 0, save_cfg=False, source="x.py")
    assert str(raised.value).startswith(message)


def test_demonstrations_are_relabelled_by_the_classifier_with_envs_in_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The classifier judges the demonstrations in the training process (the manager's shadow env): with a
    classifier that calls every step a success, every offline reward is success_reward, not pendulum's."""
    from test_offline_buffer import write_dataset
    from test_reward_classifier import stub_folder

    monkeypatch.chdir(tmp_path)
    demos = write_dataset(tmp_path / "demos", [20, 20], [False, False])
    folder = stub_folder(tmp_path / "always", 3.0)
    config = runpy.run_path(str(REPO / "dizoo_configs" / "pendulum_sac_config.py"))
    main, create = copy.deepcopy(config["main_config"]), copy.deepcopy(config["create_config"])
    main.exp_name = "relabel"
    main.env.update(collector_env_num=2, evaluator_env_num=1, n_evaluator_episode=1, stop_value=1e9,
                    reward_classifier=dict(pretrained_path=str(folder), success_reward=2.0))  # fmt: skip
    main.policy.update(random_collect_size=32, offline_dataset=dict(root=str(demos)))
    main.policy.learn.update(batch_size=16)
    create.env_manager = {"type": "subprocess"}
    serial_pipeline((main, create), 0, max_train_iter=2, quiet=True)
    state = torch.load(tmp_path / "relabel" / "ckpt" / "iteration_2.pth.tar", weights_only=True)
    rewards = state["ding_lite"]["offline_buffer"]["data"]["reward"]
    assert len(rewards) == 38 and bool((rewards == 2.0).all())


def test_in_process_stays_the_default_and_async_subprocess_runs_like_subprocess() -> None:
    config = runpy.run_path(str(DQN_BASE))
    main, create = copy.deepcopy(config["main_config"]), copy.deepcopy(config["create_config"])
    del create["env_manager"]
    assert compile_config((main, create), 0, save_cfg=False).env.manager.type == "base"
    assert type(make_env_manager({"type": "cartpole"}, {}, 1)) is VectorEnvManager
    assert ENV_MANAGER_REGISTRY.get("async_subprocess") is SubprocessEnvManager
