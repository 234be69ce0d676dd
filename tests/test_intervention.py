"""Interventions (``policy.intervention``): each rule on hand-made inputs, the per-episode counters, what the
collector executes and stores, the copy into the offline buffer, the logged rate, the controller sources (the
Reacher SAC expert fixture, a scripted ``module:function``, a checkpoint), exact resume, ``ding record``'s
``is_intervention`` column, and each error.

Scripted controllers live in ``tests/scripted_controllers.py`` (importable as ``scripted_controllers``).
"""

from __future__ import annotations

import copy
import json
import re
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from resume_helpers import checkpoint_differences, load, scalar_series
from scripted_controllers import pendulum_pd

from ding_lite.checkpoint.io import save_checkpoint
from ding_lite.config import compile_config
from ding_lite.data.nstep import NStepTransitions
from ding_lite.datasets import DatasetError, LeRobotDataset
from ding_lite.datasets.verify import verify
from ding_lite.entry import serial_pipeline
from ding_lite.entry.build import build_experiment
from ding_lite.entry.record import record
from ding_lite.envs import make_env_manager
from ding_lite.envs.base import EnvSpec
from ding_lite.errors import CheckpointError, ConfigError
from ding_lite.intervention.controller import import_controller
from ding_lite.intervention.rules import action_distance, build_rule, when_default_config
from ding_lite.intervention.session import Intervention, build_intervention
from ding_lite.policy import POLICY_REGISTRY
from ding_lite.policy.base import Policy

REPO = Path(__file__).resolve().parents[1]
PENDULUM = REPO / "dizoo_configs" / "pendulum_sac_config.py"
REACHER = REPO / "dizoo_configs" / "reacher_sac_config.py"
EXPERT = REPO / "tests" / "fixtures" / "ding_lite" / "reacher_sac_expert" / "pretrained_model"
SCRIPTED = "scripted_controllers:pendulum_pd"
CONTINUOUS = EnvSpec(obs_shape=(3,), action_kind="continuous", action_shape=2)
DISCRETE = EnvSpec(obs_shape=(3,), action_kind="discrete", action_shape=3)


def when(**keys: Any) -> dict[str, Any]:
    return {**when_default_config(), **keys}


def config_pair(path: Path = PENDULUM) -> tuple[dict[str, Any], dict[str, Any]]:
    ns = runpy.run_path(str(path))
    return copy.deepcopy(dict(ns["main_config"])), dict(ns["create_config"])


def pendulum(exp: str, **intervention: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pendulum SAC, 4 envs, a 200-step warm-up, checkpoints every 20 iterations, 2 updates per collect."""
    main, create = config_pair()
    main["exp_name"] = exp
    main["env"].update(stop_value=1e9, collector_env_num=4)
    main["policy"]["random_collect_size"] = 200
    main["policy"]["eval"] = {"evaluator": {"eval_freq": 1000}}
    main["policy"]["learn"]["update_per_collect"] = 2
    main["policy"]["learn"]["learner"] = {"hook": {"save_ckpt_after_iter": 20, "log_show_after_iter": 10}}
    if intervention:
        main["policy"]["intervention"] = intervention
    return main, create


# --- rules on hand-made inputs ---------------------------------------------------------------------------
def test_action_distance_intervenes_strictly_above_the_threshold_in_l2_and_max_norm() -> None:
    agent = np.zeros((3, 2), dtype=np.float32)
    controller = np.array([[0.5, 0.0], [0.25, 0.25], [0.5, 0.5]], dtype=np.float32)  # at, below, above (L2)
    l2 = build_rule(when(threshold=0.5, norm="l2"), CONTINUOUS)
    assert l2(agent, agent, controller, np.zeros(3)).tolist() == [False, False, True]
    assert action_distance(agent, controller, "max", False).tolist() == [0.5, 0.25, 0.5]
    below, above = build_rule(when(threshold=0.5, norm="max"), CONTINUOUS), build_rule(when(threshold=0.4), CONTINUOUS)
    assert below(agent, agent, controller, np.zeros(3)).tolist() == [False, False, False]
    assert above(agent, agent, controller, np.zeros(3)).tolist() == [True, False, True]


def test_discrete_actions_are_at_distance_one_where_the_indices_differ() -> None:
    rule = build_rule(when(threshold=0.5), DISCRETE)
    assert rule(None, np.array([0, 1, 2]), np.array([0, 2, 2]), np.zeros(3)).tolist() == [False, True, False]


def test_state_bounds_intervene_only_outside_the_bounds_and_read_the_state_of_dict_observations() -> None:
    rule = build_rule(when(rule="state_bounds", indices=[0, 2], low=[-1.0, 0.0], high=1.0), CONTINUOUS)
    obs = np.array([[0.0, 9.0, 0.5], [-1.0, 9.0, 1.0], [-1.5, 0.0, 0.5], [0.0, 0.0, -0.1]], dtype=np.float32)
    assert rule(obs, None, None, np.zeros(4)).tolist() == [False, False, True, True]  # on a bound is inside
    spec = EnvSpec(obs_shape=(3, 8, 8), action_kind="continuous", action_shape=1, obs_type="pixels_state",
                   state_shape=(3,))  # fmt: skip
    on_state = build_rule(when(rule="state_bounds", indices=[1], low=-0.5, high=0.5), spec)
    frames = {"image": np.zeros((2, 3, 8, 8), np.uint8), "state": np.array([[0, 0.6, 0], [0, 0.4, 0]], np.float32)}
    assert on_state(frames, None, None, np.zeros(2)).tolist() == [True, False]


def scripted_session(rule: dict[str, Any], env_num: int = 2) -> Intervention:
    return Intervention(lambda obs: np.ones((len(obs), 2), np.float32), build_rule(rule, CONTINUOUS), CONTINUOUS, 2,
                        env_num, max_per_episode=rule["max_per_episode"], hold_steps=rule["hold_steps"])  # fmt: skip


def run_steps(session: Intervention, dones: list[list[bool]]) -> list[list[bool]]:
    """The intervened mask of each step (agent action 0, controller 1 in both envs), then the episode ends."""
    flags = []
    for done in dones:
        _, flagged = session.decide(np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32))
        session.advance(flagged, np.array(done))
        flags.append(flagged.tolist())
    return flags


def test_budget_takes_the_first_steps_of_every_episode_and_restarts_at_each_episode_end() -> None:
    session = scripted_session(when(rule="budget", steps=2))
    dones = [[False, False], [False, True], [False, False], [True, False], [False, False], [False, False]]
    assert run_steps(session, dones) == [
        [True, True], [True, True], [False, True], [False, True], [True, False], [True, False]
    ]  # fmt: skip
    assert session.episode_step.tolist() == [2, 4] and session.total == 8


def test_max_per_episode_caps_any_rule_and_the_count_restarts_at_the_episode_end() -> None:
    session = scripted_session(when(threshold=0.5, max_per_episode=2))  # the controller is always far away
    dones = [[False, False], [False, False], [True, False], [False, False]]
    assert run_steps(session, dones) == [[True, True], [True, True], [False, False], [True, False]]
    assert session.episode_intervened.tolist() == [1, 2]


def test_a_hold_keeps_the_controller_in_control_for_hold_steps_and_ends_with_the_episode() -> None:
    session = scripted_session(when(rule="budget", steps=1, hold_steps=3))  # the rule fires at each episode start
    dones = [[False, False], [False, True], [False, False], [False, False], [False, False]]
    assert run_steps(session, dones) == [
        [True, True], [True, True], [True, True], [False, True], [False, True]
    ]  # fmt: skip
    capped = scripted_session(when(rule="budget", steps=1, hold_steps=3, max_per_episode=2))
    assert run_steps(capped, [[False, False]] * 4) == [[True, True], [True, True], [False, False], [False, False]]
    assert capped.hold_left.tolist() == [0, 0]  # a step the agent took ended the hold


def test_a_hold_survives_a_state_dict_round_trip_mid_hold() -> None:
    session = scripted_session(when(rule="budget", steps=1, hold_steps=4))
    run_steps(session, [[False, False]])
    fresh = scripted_session(when(rule="budget", steps=1, hold_steps=4))
    fresh.load_state_dict(json.loads(json.dumps(session.state_dict())))
    assert run_steps(fresh, [[False, False]] * 4) == run_steps(session, [[False, False]] * 4) == [
        [True, True], [True, True], [True, True], [False, False]
    ]  # fmt: skip


def test_counters_survive_a_state_dict_round_trip_into_a_fresh_session() -> None:
    session = scripted_session(when(rule="budget", steps=3))
    run_steps(session, [[False, False], [True, False]])
    fresh = scripted_session(when(rule="budget", steps=3))
    fresh.load_state_dict(json.loads(json.dumps(session.state_dict())))  # plain values only
    assert run_steps(fresh, [[False, False]] * 3) == run_steps(session, [[False, False]] * 3)
    assert fresh.state_dict() == session.state_dict()


# --- collection, the offline buffer, logs ------------------------------------------------------------------
@pytest.fixture
def pendulum_exp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A built pendulum SAC experiment without warm-up, the scripted controller taking over beyond 0.5."""
    monkeypatch.chdir(tmp_path)
    main, create = pendulum("collect", controller=SCRIPTED, when={"threshold": 0.5})
    main["policy"]["random_collect_size"] = 0
    exp = build_experiment((main, create), 0, quiet=True, on_policy=False)
    yield exp
    exp.close()


def test_intervened_steps_execute_the_controllers_action_and_are_flagged(pendulum_exp: Any) -> None:
    exp = pendulum_exp
    executed: list[np.ndarray] = []
    step = exp.collector_env.step
    exp.collector_env.step = lambda actions: executed.append(np.array(actions)) or step(actions)
    assert exp.nstep is not None
    transitions = exp.collector.collect_transitions(40, 0, exp.nstep)
    batch = {key: np.concatenate([t[key] for t in transitions]) for key in transitions[0]}
    flags = batch["is_intervention"]
    assert flags.dtype == bool and 0 < flags.sum() < len(flags)  # the rule split the steps
    np.testing.assert_array_equal(batch["action"], np.concatenate(executed))  # stored = executed
    np.testing.assert_array_equal(batch["action"][flags], pendulum_pd(batch["obs"][flags]))
    distance = np.abs(batch["action"][~flags] - pendulum_pd(batch["obs"][~flags]))[:, 0]
    assert (distance <= 0.5).all()  # where the agent acted it was close enough to the controller
    assert exp.collector.intervention.total == int(flags.sum())


def test_intervened_transitions_land_in_the_offline_buffer_and_the_others_do_not(pendulum_exp: Any) -> None:
    exp = pendulum_exp
    assert exp.replay is not None and len(exp.replay.offline) == 0  # no dataset: it starts empty
    for transitions in exp.collector.collect_transitions(200, 0, exp.nstep):
        exp.store(transitions)
    online, offline = exp.buffer.state_dict(), exp.replay.offline.state_dict()
    flags = online["data"]["is_intervention"]
    assert offline["size"] == int(flags.sum()) > 0 and online["size"] == 200
    for key in ("obs", "action", "reward", "next_obs"):
        assert torch.equal(offline["data"][key], online["data"][key][flags]), key
    assert offline["data"]["is_intervention"].all()


def test_an_offline_buffer_made_for_interventions_joins_batches_once_it_holds_their_offline_part(
    pendulum_exp: Any,
) -> None:
    exp = pendulum_exp
    assert exp.replay.min_offline == 64  # round(128 * 0.5): offline_dataset.ratio's default
    for transitions in exp.collector.collect_transitions(400, 0, exp.nstep):
        exp.buffer.push(transitions)
    stored = {key: value.numpy() for key, value in exp.buffer.state_dict()["data"].items()}
    exp.replay.offline.add({key: value[:63] for key, value in stored.items()})
    assert exp.sample(128)["reward"].shape == (128,) and exp.replay.last_offline_fraction == 0.0
    exp.replay.offline.add({key: value[63:64] for key, value in stored.items()})
    assert exp.sample(128)["reward"].shape == (128,) and exp.replay.last_offline_fraction == 0.5


N, HALF = 120, 47  # train iterations of the straight run; where the interrupted one stops (mid-cycle)
CAPPED = {"rule": "action_distance", "threshold": 0.5, "max_per_episode": 8}


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scripted controller passed from Python, capped at 8 steps per episode; 200-step episodes end mid-run."""
    cwd = tmp_path_factory.mktemp("straight")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        serial_pipeline(pendulum("straight", when=CAPPED), 0, max_train_iter=N, quiet=True, intervention=pendulum_pd)
    return cwd / "straight"


def test_the_intervention_rate_and_count_are_logged_at_every_collect_after_the_warmup(straight: Path) -> None:
    series = scalar_series(straight)
    rate, count = series["collector_step/intervention_rate"], series["collector_step/intervention_count"]
    steps = [s for s, _ in rate]
    assert steps == list(range(212, 200 + 12 * len(steps) + 1, 12))  # 4 envs x 3 steps per collect (n_sample 10)
    assert all(0.0 <= r <= 1.0 for _, r in rate) and any(r > 0 for _, r in rate)
    total = np.cumsum([round(r * 12) for _, r in rate])
    assert [c for _, c in count] == total.tolist()
    extras = load(straight / "ckpt" / f"iteration_{N}.pth.tar")["ding_lite"]
    assert extras["offline_buffer"]["size"] == extras["collector"]["intervention"]["total"] == total[-1]


def test_the_cap_held_within_each_episode_and_restarted_after_its_end(straight: Path) -> None:
    extras = load(straight / "ckpt" / f"iteration_{N}.pth.tar")["ding_lite"]
    counters = extras["collector"]["intervention"]
    assert extras["collector"]["env_step"] == 200 + 4 * 3 * N // 2  # a collect per 2 updates, 3 steps each
    assert all(0 < s < 200 for s in counters["episode_step"])  # every env is in its second episode
    assert all(0 < n <= 8 for n in counters["episode_intervened"])
    assert counters["total"] == 4 * 8 + sum(counters["episode_intervened"])  # each first episode: exactly the cap


def test_stopped_and_resumed_run_with_a_python_controller_equals_the_straight_run(
    straight: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    serial_pipeline(pendulum("part", when=CAPPED), 0, max_train_iter=HALF, quiet=True, intervention=pendulum_pd)
    main, create = pendulum("part", when=CAPPED)
    main["policy"]["learn"].update(
        resume_training=True, learner={"hook": {"save_ckpt_after_iter": 20, "log_show_after_iter": 10,
                                                "load_ckpt_before_run": f"part/ckpt/iteration_{HALF}.pth.tar"}}
    )  # fmt: skip
    serial_pipeline((main, create), 0, max_train_iter=N, quiet=True, intervention=pendulum_pd)
    final = f"iteration_{N}.pth.tar"
    diffs = checkpoint_differences(straight / "ckpt" / final, tmp_path / "part" / "ckpt" / final, text_positions=False)
    assert not diffs, diffs
    assert (
        scalar_series(straight)["collector_step/intervention_rate"]
        == scalar_series(tmp_path / "part")["collector_step/intervention_rate"]
    )


@pytest.mark.parametrize("first", [pendulum_pd, None], ids=["with-then-without", "without-then-with"])
def test_resuming_with_a_python_controller_that_the_checkpoint_did_not_have_or_vice_versa_is_refused(
    first: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    serial_pipeline(pendulum("run"), 0, max_train_iter=2, quiet=True, intervention=first)
    main, create = pendulum("run")
    main["policy"]["learn"].update(
        resume_training=True, learner={"hook": {"load_ckpt_before_run": "run/ckpt/iteration_2.pth.tar"}}
    )
    then = None if first is not None else pendulum_pd
    written, now = ("with", "none") if first is not None else ("without", "one")
    refusal = f"written by a run {written} an intervention controller and this run has {now}"
    with pytest.raises(CheckpointError, match=refusal):
        serial_pipeline((main, create), 0, max_train_iter=4, quiet=True, intervention=then)


def test_checkpoints_from_before_interventions_still_resume() -> None:
    from ding_lite.checkpoint.resume_guard import check_resume_config

    current = dict(compile_config(config_pair(), 0, save_cfg=False))
    saved = copy.deepcopy(current)
    del saved["policy"]["intervention"]  # what a checkpoint of an earlier version holds
    assert check_resume_config(saved, current, "old.pth.tar") == []
    current["policy"]["intervention"]["controller"] = SCRIPTED
    with pytest.raises(CheckpointError, match="'policy.intervention.controller' was '', now"):
        check_resume_config(saved, current, "old.pth.tar")


# --- controller sources ----------------------------------------------------------------------------------
def test_the_reacher_sac_expert_fixture_acts_as_its_policy_and_beats_doing_nothing() -> None:
    main, create = config_pair(REACHER)
    main["policy"]["intervention"] = {"pretrained_path": str(EXPERT), "when": {"rule": "budget", "steps": 50}}
    cfg = compile_config((main, create), 0, save_cfg=False)
    env = make_env_manager(cfg.env, cfg.env.manager, 3)
    session = build_intervention(cfg.policy, env.spec, 3)
    assert session is not None
    expert = Policy.from_pretrained(EXPERT)
    returns = {}
    for who in ("expert", "nothing"):
        env.seed(0)
        obs, total = env.reset(), np.zeros(3)
        for _ in range(50):  # Reacher-v5's episode
            action, flags = session.decide(obs, np.zeros((3, 2), np.float32))
            if who == "expert":
                assert flags.all()
                np.testing.assert_array_equal(action, expert.eval_mode.forward(obs))
            step = env.step(action if who == "expert" else np.zeros((3, 2), np.float32))
            session.advance(flags if who == "expert" else None, step.done)
            obs, total = step.obs, total + step.reward
        assert step.done.all()
        returns[who] = total
    env.close()
    assert (returns["expert"] > returns["nothing"]).all() and returns["expert"].mean() > -8.0, returns


def test_a_module_function_string_imports_that_function_and_its_actions_are_clipped() -> None:
    controller = import_controller(SCRIPTED)
    assert controller is pendulum_pd
    session = Intervention(controller, build_rule(when(rule="budget", steps=1), CONTINUOUS), CONTINUOUS, 1, 2)
    obs = np.array([[1.0, 0.2, 0.1], [0.0, -3.0, 0.0]], np.float32)
    action, flags = session.decide(obs, np.zeros((2, 1), np.float32))
    assert flags.all() and action.tolist() == [[pytest.approx(-0.23)], [1.0]]


def test_a_checkpoint_source_acts_like_the_policy_whose_weights_it_holds(tmp_path: Path) -> None:
    cfg = compile_config(pendulum("ckpt", pretrained_path=str(tmp_path / "expert.pth.tar")), 0, save_cfg=False)
    trained = POLICY_REGISTRY.get("sac")(cfg.policy)
    with torch.no_grad():
        for param in trained.model.parameters():  # weights no fresh initialisation would have
            param.normal_(0.0, 0.3)
    save_checkpoint({"model": trained.model.state_dict()}, tmp_path / "expert.pth.tar")
    env = make_env_manager(cfg.env, cfg.env.manager, 2)
    session = build_intervention(cfg.policy, env.spec, 2)
    assert session is not None and session.name == str(tmp_path / "expert.pth.tar")
    obs = env.reset()
    np.testing.assert_array_equal(session.controller(obs), trained.eval_mode.forward(obs))
    env.close()


# --- ding record -----------------------------------------------------------------------------------------
def no_torque(obs: np.ndarray) -> np.ndarray:
    return np.zeros((len(obs), 1), np.float32)


def test_ding_record_writes_the_executed_actions_and_an_is_intervention_column(tmp_path: Path) -> None:
    main, create = config_pair()
    main["env"]["collector_env_num"] = 2
    main["policy"]["intervention"] = {
        "controller": SCRIPTED, "when": {"rule": "state_bounds", "indices": [2], "low": -1.0, "high": 1.0}
    }  # fmt: skip
    record((main, create), tmp_path / "ds", 2, quiet=True, controller=no_torque)
    ds = LeRobotDataset(tmp_path / "ds")
    feature = ds.features["is_intervention"]
    assert (feature.dtype, list(feature.shape)) == ("bool", [1])
    flags = ds.arrays("is_intervention").reshape(-1)
    obs, action = ds.arrays("observation.state"), ds.arrays("action")
    assert 0 < flags.sum() < len(flags)
    assert ((np.abs(obs[:, 2]) > 1.0) == flags).all()  # exactly where the angular velocity left [-1, 1]
    np.testing.assert_allclose(action[flags], 2.0 * pendulum_pd(obs[flags]), rtol=0, atol=1e-6)  # N*m
    assert (action[~flags] == 0).all()
    assert verify(tmp_path / "ds") == []
    session = json.loads((tmp_path / "ds" / "meta" / "recording.json").read_text())[-1]
    assert session["intervention"] == SCRIPTED


def test_appending_keeps_the_column_false_without_a_controller_and_refuses_a_dataset_without_it(
    tmp_path: Path,
) -> None:
    with_controller = config_pair()
    with_controller[0]["env"]["collector_env_num"] = 1
    with_controller[0]["policy"]["intervention"] = {"controller": SCRIPTED, "when": {"rule": "budget", "steps": 5}}
    without = config_pair()
    without[0]["env"]["collector_env_num"] = 1
    record(with_controller, tmp_path / "hil", 1, quiet=True, controller=no_torque)
    record(without, tmp_path / "hil", 1, quiet=True, controller=no_torque, resume=True)
    flags = LeRobotDataset(tmp_path / "hil").arrays("is_intervention").reshape(-1)
    assert flags.tolist() == [True] * 5 + [False] * 195 + [False] * 200  # budget: the first 5 steps
    record(without, tmp_path / "plain", 1, quiet=True, controller=no_torque)
    with pytest.raises(DatasetError, match="records 'is_intervention' as missing .* record into a new folder"):
        record(with_controller, tmp_path / "plain", 1, quiet=True, controller=no_torque, resume=True)


# --- errors ----------------------------------------------------------------------------------------------
def build_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **intervention: Any) -> str:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        build_experiment(pendulum("err", **intervention), 0, quiet=True, on_policy=False).close()
    return str(caught.value)


@pytest.mark.parametrize(
    ("intervention", "message"),
    [
        ({"controller": SCRIPTED, "when": {"rule": "sometimes"}},
         "config key 'policy.intervention.when.rule' is 'sometimes'"),
        ({"controller": SCRIPTED, "when": {"threshold": 0.0}},
         "config key 'policy.intervention.when.threshold' is 0.0 .* it must be a number > 0"),
        ({"controller": "no_such_module:act"},
         "policy.intervention.controller 'no_such_module:act': cannot import 'no_such_module'"),
        ({"controller": "scripted_controllers"}, "write it as 'package.module:function'"),
        ({"controller": "scripted_controllers:missing"}, "module 'scripted_controllers' has no function 'missing'"),
        ({"pretrained_path": str(EXPERT)},
         r"policy.intervention.pretrained_path '.*' does not act in this env: .*action: pretrained \(2,\)"),
        ({"pretrained_path": "nowhere/pretrained_model"}, "pretrained_path 'nowhere/pretrained_model' does not exist"),
        ({"controller": SCRIPTED, "pretrained_path": str(EXPERT)}, "sets both pretrained_path and controller"),
        ({"controller": SCRIPTED, "when": {"rule": "budget", "threshold": 0.2}},
         "when.threshold is set but rule 'budget' does not read it"),
        ({"controller": SCRIPTED, "when": {"rule": "budget"}}, "rule 'budget' needs the steps"),
        ({"controller": SCRIPTED, "when": {"hold_steps": 0}},
         "config key 'policy.intervention.when.hold_steps' is 0 .* it must be"),
        ({"controller": SCRIPTED, "when": {"rule": "state_bounds", "indices": [3]}},
         r"when.indices is \[3\]; .* in \[0, 3\)"),
        ({"when": {"rule": "budget", "steps": 3}}, "policy.intervention.when is set but no controller is"),
    ],
    ids=["unknown-rule", "threshold", "import", "format", "function", "action-size", "missing-path", "both",
         "other-rules-key", "budget-steps", "hold-steps", "indices", "no-controller"],
)  # fmt: skip
def test_each_configuration_error_is_one_sentence_naming_the_key(
    intervention: dict[str, Any], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = build_error(tmp_path, monkeypatch, **intervention)
    assert "\n" not in found
    assert re.search(message, found), found


def test_a_controller_returning_the_wrong_batch_stops_collection_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    main, create = pendulum("wrong", controller="scripted_controllers:one_action_too_many")
    exp = build_experiment((main, create), 0, quiet=True, on_policy=False)
    with pytest.raises(
        ConfigError, match=r"'scripted_controllers:one_action_too_many' returned float32 \[5, 1\] for 4"
    ):
        exp.collector.collect_transitions(4, 0, NStepTransitions(4, 1, 0.99, flagged=True))
    exp.close()
