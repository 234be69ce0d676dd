"""Actor/learner on Ray (``policy.distributed.engine='ray'``, docs/ray.md), on cartpole DQN.

One local Ray cluster (2 CPUs, no dashboard) serves the module; the in-process runs reuse it, as a user's
own ``ray.init`` would be reused. ``ding`` itself starts (and shuts down) a local Ray in the stop-value
run, and joins this module's cluster through ``--ray-address`` in the resume run.

What is specified: the run reaches the stop value with 2 actors; every env step is counted once
(``env_step`` == the actors' counters added up == the replay buffer's length, with ``nstep=1`` and a
buffer that never fills); a killed actor is restarted and counted while the run completes; a resume
continues the counters, the buffer and ``train_iter``; actors collect with exactly the learner's weights;
without Ray the key is a one-sentence error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from resume_helpers import DQN_BASE, EXP, check_ok, ding, load, read_result, scalar_series, write_config

from ding_lite.actors.collect_actor import actor_seed
from ding_lite.config import compile_config, read_config
from ding_lite.entry.build import build_experiment
from ding_lite.errors import ConfigError

ray = pytest.importorskip("ray")

RAY_EDITS = "main_config.policy.distributed = dict(engine='ray', n_actors=2, weight_push_every_s=0.2)\n"


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray cluster for this module; its address lets a ``ding`` subprocess join it."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield str(ray.get_runtime_context().gcs_address)
    ray.shutdown()


def ray_config(tmp_path: Path, name: str = "train.py", *, stop_value: float | None = None) -> Path:
    """Cartpole DQN with 2 Ray actors; a stop value never reached unless ``stop_value``."""
    edits = RAY_EDITS + (f"main_config.env.stop_value = {stop_value}\n" if stop_value is not None else "")
    return write_config(tmp_path / name, DQN_BASE, save_every=50, eval_freq=40, edits=edits)


def final_checkpoint(exp_dir: Path) -> dict[str, Any]:
    return load(exp_dir / "ckpt" / (exp_dir / "ckpt" / "latest").read_text().strip())


def assert_counted_once(ckpt: dict[str, Any], n_actors: int = 2) -> dict[str, Any]:
    """env_step == what the actors reported, added up == transitions in the buffer; the actors' state."""
    state = ckpt["ding_lite"]["distributed"]
    actors = state["actors"]
    assert len(actors) == n_actors
    reported = state["base_env_step"] + sum(actor["env_steps"] for actor in actors)
    assert ckpt["last_step"] == ckpt["ding_lite"]["collector"]["env_step"] == reported
    assert ckpt["ding_lite"]["buffer"]["size"] == reported  # nstep=1, no step dropped, a buffer that never fills
    assert ckpt["ding_lite"]["collector"]["episode_count"] == sum(actor["episodes"] for actor in actors)
    return state


def run_in_process(config: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> dict[str, Any]:
    from ding_lite.entry import serial_pipeline

    monkeypatch.chdir(cwd)
    serial_pipeline(config, 0, quiet=True, source=f"'{config.name}'", **kwargs)
    return read_result(cwd / EXP)


# --- 1. two actors reach the stop value; ding starts and stops its own local Ray --------------------------
def test_two_actors_reach_cartpole_stop_value(tmp_path: Path) -> None:
    config = ray_config(tmp_path, stop_value=195)
    check_ok(ding("-m", "serial", "-c", config, "-s", "0", "-q", cwd=tmp_path))
    result = read_result(tmp_path / EXP)
    assert result["stop"] is True and result["best_eval_value"] >= 195
    state = assert_counted_once(final_checkpoint(tmp_path / EXP))
    assert all(actor["env_steps"] > 0 and actor["restarts"] == 0 for actor in state["actors"])
    assert state["weight_push_count"] >= 1
    series = scalar_series(tmp_path / EXP)
    assert {"collector_step/reward_mean", "distributed/weight_push_count", "distributed/policy_lag"} <= set(series)


# --- 2. an actor killed mid-run is restarted by Ray; the run completes -----------------------------------
def test_killed_actor_is_restarted_and_run_completes(
    ray_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ding_lite.actors.pool import ActorPool
    from ding_lite.entry import serial_entry_ray

    killed: list[int] = []

    class KillingPool(ActorPool):
        """Kills actor 0's process (Ray may restart it) once the learner has received 3 reports."""

        def next_report(self, train_iter: int) -> Any:
            received = super().next_report(train_iter)
            if sum(c.collects for c in self.counters) == 3 and not killed:
                ray.kill(self.actors[0], no_restart=False)
                killed.append(train_iter)
            return received

    monkeypatch.setattr(serial_entry_ray, "ActorPool", KillingPool)
    result = run_in_process(ray_config(tmp_path), tmp_path, monkeypatch, max_train_iter=300)
    assert killed and result["train_iter"] == 300
    state = assert_counted_once(final_checkpoint(tmp_path / EXP))
    assert [actor["restarts"] for actor in state["actors"]] == [1, 0]
    learner_log = (tmp_path / EXP / "log" / "learner" / "learner_logger.txt").read_text()
    assert "collect actor 0 restarted by Ray" in learner_log


# --- 3. resume: counters, buffer and train_iter continue; no step counted twice ---------------------------
def test_resume_continues_counters_buffer_and_train_iter(
    ray_address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ray_config(tmp_path)
    first = run_in_process(config, tmp_path, monkeypatch, max_train_iter=100)
    assert first["train_iter"] == 100
    before = final_checkpoint(tmp_path / EXP)
    saved = assert_counted_once(before)

    # the second half through the CLI, joining this module's cluster
    check_ok(ding("-m", "serial", "-c", config, "-s", "0", "-q", "--train-iter", "200", "--resume",
                  "--ray-address", ray_address, cwd=tmp_path))  # fmt: skip
    after = final_checkpoint(tmp_path / EXP)
    assert after["last_iter"] == 200 and read_result(tmp_path / EXP)["train_iter"] == 200
    state = assert_counted_once(after)  # the buffer held the first run's transitions: it was restored
    assert after["last_step"] > before["last_step"]
    for old, new in zip(saved["actors"], state["actors"]):
        assert new["env_steps"] > old["env_steps"] and new["collects"] > old["collects"]
    assert state["weight_push_count"] > saved["weight_push_count"]


def test_a_restarted_actor_process_takes_a_fresh_seed(ray_address: str, tmp_path: Path) -> None:
    from ding_lite.actors.pool import ActorPool
    from ding_lite.actors.weights import WeightPublisher
    from ding_lite.config.loader import to_plain
    from ding_lite.utils.log import ExperimentLogger

    main, create = read_config(ray_config(tmp_path))
    cfg = compile_config((main, create), 0, save_cfg=False)
    pool = ActorPool(to_plain(cfg), 1, 0, WeightPublisher(every_s=0.0), ExperimentLogger(tmp_path, tensorboard=False))
    from ray.exceptions import GetTimeoutError, RayActorError

    try:
        first = again = ray.get(pool.actors[0].ready.remote())
        os.kill(int(first["pid"]), signal.SIGKILL)  # the process dies now; Ray starts another
        # calls fail until the new process is up; on a loaded machine that can take a minute, so the loop
        # waits for the new incarnation itself, with a deadline instead of a number of calls
        deadline = time.monotonic() + 300
        while again["incarnation"] == first["incarnation"] and time.monotonic() < deadline:
            with contextlib.suppress(RayActorError, GetTimeoutError):
                again = ray.get(pool.actors[0].ready.remote(), timeout=120)
    finally:
        pool.close()
    assert first["seed"] == actor_seed(0, 0) and again["incarnation"] != first["incarnation"]
    assert again["seed"] != first["seed"]  # with the first seed it would replay the first process's episodes


# --- 4. the weights actors collect with are exactly the learner's -----------------------------------------
def test_actors_collect_with_exactly_the_learners_weights(ray_address: str, tmp_path: Path) -> None:
    from ding_lite.actors.pool import ActorPool
    from ding_lite.actors.weights import WeightPublisher
    from ding_lite.config.loader import to_plain
    from ding_lite.policy import POLICY_REGISTRY
    from ding_lite.utils.log import ExperimentLogger

    main, create = read_config(ray_config(tmp_path))
    cfg = compile_config((main, create), 0, save_cfg=False)
    learner_policy = POLICY_REGISTRY.get("dqn")(cfg.policy)
    with torch.no_grad():
        for param in learner_policy.model.parameters():
            param.add_(torch.randn_like(param))  # weights no fresh actor could start with

    publisher = WeightPublisher(every_s=0.0)
    pool = ActorPool(to_plain(cfg), 1, 0, publisher, ExperimentLogger(tmp_path, tensorboard=False))
    try:
        pool.wait_ready()
        fresh = ray.get(pool.actors[0].collect.remote(8, 0, False, None, 0))
        assert fresh.needs_weights and fresh.env_steps == 0  # no step without the learner's weights

        publisher.push(learner_policy, train_iter=7)
        published = ray.get(publisher.ref)
        assert all(type(array) is np.ndarray for array in published.values())  # arrays, not pickled modules
        pool.submit(0, 8, 0, random_actions=False)
        _, report = pool.next_report(train_iter=7)
        assert report is not None and report.weights_iter == 7 and report.env_steps >= 8
        actor_weights = ray.get(pool.actors[0].weights.remote())
        expected = learner_policy.model.state_dict()
        assert set(actor_weights) == set(expected)
        for name, tensor in expected.items():
            assert torch.equal(torch.from_numpy(actor_weights[name].copy()), tensor), name
    finally:
        pool.close()


# --- 5. without Ray, the key is a one-sentence error ------------------------------------------------------
def test_without_ray_the_key_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    monkeypatch.chdir(tmp_path)
    main, create = read_config(ray_config(tmp_path))
    compile_config((main, create), 0, save_cfg=False, source="'train.py'")  # ding -m eval compiles it without Ray
    with pytest.raises(ConfigError) as caught:
        build_experiment((main, create), 0, quiet=True, source="'train.py'", on_policy=False)
    assert str(caught.value) == (
        "policy.distributed.engine is 'ray' in 'train.py' but Ray is not installed; pip install 'ding_lite[ray]'"
    )
    assert not (tmp_path / str(main["exp_name"])).exists()  # refused before the experiment directory is made


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [("engine", "dask", "one of None, '', 'ray'"), ("n_actors", 0, "an integer >= 1")],
)
def test_distributed_values_are_checked(tmp_path: Path, key: str, value: Any, allowed: str) -> None:
    main, create = read_config(ray_config(tmp_path))
    main["policy"]["distributed"][key] = value
    with pytest.raises(ConfigError, match=f"'policy.distributed.{key}' is {value!r} in 'x.py'; it must be {allowed}"):
        compile_config((main, create), 0, save_cfg=False, source="'x.py'")
