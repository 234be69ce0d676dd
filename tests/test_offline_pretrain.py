"""``policy.offline_dataset.pretrain_updates``: train iterations on the demonstrations alone, before the first
env step (docs/rl_with_priors.md)."""

from __future__ import annotations

import copy
import json
import runpy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from resume_helpers import checkpoint_differences, load, scalar_series
from swing_demos import record_swing

from ding_lite.entry import serial_pipeline
from ding_lite.entry.record import record
from ding_lite.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SAC_CONFIG = REPO / "dizoo_configs" / "pendulum_sac_config.py"
PRE, N, HALF = 30, 50, 17  # pretraining updates; train iterations of a straight run; a stop inside pretraining
WARMUP = 200


def pretraining_sac(
    exp: str, demos: Path | str, pretrain: int = PRE, warmup: int = WARMUP
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pendulum SAC with the demonstrations at ``demos``, ``pretrain`` updates on them first, a random warm-up
    of ``warmup`` steps after, an evaluation every 20 iterations and a checkpoint every 10."""
    ns = runpy.run_path(str(SAC_CONFIG))
    main, create = copy.deepcopy(dict(ns["main_config"])), dict(ns["create_config"])
    main["exp_name"] = exp
    main["env"].update(stop_value=1e9, n_evaluator_episode=2, evaluator_env_num=2)
    main["policy"]["random_collect_size"] = warmup
    main["policy"]["eval"] = {"evaluator": {"eval_freq": 20}}
    main["policy"]["learn"]["learner"] = {"hook": {"save_ckpt_after_iter": 10, "log_show_after_iter": 10}}
    main["policy"]["offline_dataset"] = {"root": str(demos), "ratio": 0.5, "pretrain_updates": pretrain}
    return main, create


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two recorded pendulum episodes (act_scale), from a scripted swing controller."""
    return record_swing(tmp_path_factory.mktemp("demos") / "pendulum", episodes=2, envs=2)


@pytest.fixture(scope="module")
def straight(demos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("straight")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        serial_pipeline(pretraining_sac("straight", demos), seed=0, max_train_iter=N, quiet=True)
    return cwd / "straight"


def result_of(exp_dir: Path) -> dict[str, Any]:
    return dict(json.loads((exp_dir / "result.json").read_text()))


def test_pretraining_updates_from_the_demonstrations_alone_before_any_env_step(
    demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # without a warm-up, max_env_step=0 stops the run before its first collect
    serial_pipeline(pretraining_sac("pre", demos, warmup=0), seed=0, max_env_step=0, quiet=True)
    serial_pipeline(pretraining_sac("none", demos, pretrain=0, warmup=0), seed=0, max_env_step=0, quiet=True)
    result = result_of(tmp_path / "pre")
    assert (result["train_iter"], result["env_step"]) == (PRE, 0)
    assert result_of(tmp_path / "none")["train_iter"] == 0
    pre = load(tmp_path / "pre" / "ckpt" / f"iteration_{PRE}.pth.tar")
    assert pre["ding_lite"]["buffer"]["size"] == 0  # nothing collected: every batch came from the demonstrations
    series = scalar_series(tmp_path / "pre")
    assert series["buffer_iter/offline_fraction"] == [(10, 1.0), (20, 1.0), (30, 1.0)]
    assert [step for step, _ in series["learner_iter/critic_loss_avg"]] == [10, 20, 30]
    # over env steps every point would sit at 0: those tags wait for the online updates
    assert not [tag for tag in series if tag.startswith(("learner_step/", "buffer_step/"))]
    untrained = load(tmp_path / "none" / "ckpt" / "iteration_0.pth.tar")["model"]
    changed = [name for name, value in pre["model"].items() if not torch.equal(value, untrained[name])]
    assert any(name.startswith("actor") for name in changed) and any(name.startswith("critic") for name in changed)


def test_the_warm_up_and_mixed_batches_follow_and_the_first_evaluation_sees_the_pretrained_policy(
    straight: Path,
) -> None:
    series = scalar_series(straight)
    assert series["buffer_iter/offline_fraction"] == [(s, 1.0 if s <= PRE else 0.5) for s in range(10, N + 1, 10)]
    online = dict(series["buffer_iter/online_size"])
    assert all(online[s] == 0 for s in (10, 20, 30)) and online[40] >= WARMUP and online[50] >= WARMUP
    evaluations = series["evaluator_iter/reward_mean"]
    assert evaluations[0][0] == PRE  # the first evaluation comes after pretraining and the warm-up
    steps = [step for step, _ in series["learner_step/critic_loss_avg"]]
    assert len(steps) == 2 and steps[0] >= WARMUP and steps == sorted(set(steps))  # iterations 40 and 50 only
    assert series["evaluator_step/reward_mean"][0][0] == WARMUP
    assert result_of(straight)["train_iter"] == N


def test_run_stopped_during_pretraining_and_resumed_equals_the_straight_run(
    straight: Path, demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    serial_pipeline(pretraining_sac("part", demos), seed=0, max_train_iter=HALF, quiet=True)
    assert result_of(tmp_path / "part")["env_step"] == 0  # stopped inside pretraining
    main, create = pretraining_sac("part", demos)
    main["policy"]["learn"]["learner"]["hook"]["load_ckpt_before_run"] = f"part/ckpt/iteration_{HALF}.pth.tar"
    main["policy"]["learn"]["resume_training"] = True
    serial_pipeline((main, create), seed=0, max_train_iter=N, quiet=True)
    final = f"iteration_{N}.pth.tar"
    diffs = checkpoint_differences(straight / "ckpt" / final, tmp_path / "part" / "ckpt" / final, text_positions=False)
    assert not diffs, diffs
    points = {tag: values for tag, values in scalar_series(straight).items() if "per_sec" not in tag}
    resumed = scalar_series(tmp_path / "part")
    assert {tag: resumed[tag] for tag in points} == points


def test_pretraining_without_demonstrations_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"pretrain_updates' is 5 but policy.offline_dataset.root names no dataset"):
        serial_pipeline(pretraining_sac("nothing", "", pretrain=5), seed=0, max_env_step=0, quiet=True)
    assert not (tmp_path / "nothing").exists()  # a refused run leaves no directory


def test_a_negative_number_of_pretraining_updates_is_refused(
    demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"policy.offline_dataset.pretrain_updates"):
        serial_pipeline(pretraining_sac("negative", demos, pretrain=-1), seed=0, max_env_step=0, quiet=True)


# --- pretrain_actor_loss='td3_bc' ------------------------------------------------------------------------
def demonstrated_action_error(demos: Path, cwd: Path, actor_loss: str) -> float:
    """Mean squared distance between the pretrained actor's actions and the demonstrated ones, on their states."""
    main, create = pretraining_sac(f"bc_{actor_loss}", demos, pretrain=300, warmup=0)
    main["policy"]["offline_dataset"]["pretrain_actor_loss"] = actor_loss
    policy = serial_pipeline((main, create), seed=0, max_env_step=0, quiet=True)
    offline = load(cwd / f"bc_{actor_loss}" / "ckpt" / "iteration_300.pth.tar")["ding_lite"]["offline_buffer"]
    actions = policy.eval_mode.forward(offline["data"]["obs"].numpy())
    return float(np.mean((np.asarray(actions) - offline["data"]["action"].numpy()) ** 2))


def test_td3_bc_pretraining_keeps_the_actor_near_the_demonstrated_actions(
    demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with_bc = demonstrated_action_error(demos, tmp_path, "td3_bc")
    without = demonstrated_action_error(demos, tmp_path, "sac")
    # the scripted swing's actions are a smooth function of the state that 300 BC steps fit closely, while
    # SAC's loss alone follows critics that have never seen another action
    assert with_bc < 0.05 < without, (with_bc, without)


def test_td3_bc_is_refused_for_dqn_and_for_the_numpy_backend(
    demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    main, create = pretraining_sac("numpy", demos)
    main["policy"]["offline_dataset"]["pretrain_actor_loss"] = "td3_bc"
    main["policy"]["learn"]["backend"] = "numpy"
    with pytest.raises(ConfigError, match=r"backend='numpy' is not possible here: .*pretrain_actor_loss is 'td3_bc'"):
        serial_pipeline((main, create), seed=0, max_env_step=0, quiet=True)
    ns = runpy.run_path(str(REPO / "dizoo_configs" / "cartpole_dqn_config.py"))
    main, create = copy.deepcopy(dict(ns["main_config"])), dict(ns["create_config"])
    main["env"]["collector_env_num"] = 2
    record((main, create), "cartpole", 1, quiet=True, controller=lambda obs: (obs[:, 2] > 0).astype(int))
    main["policy"]["offline_dataset"] = {"root": "cartpole", "pretrain_updates": 10, "pretrain_actor_loss": "td3_bc"}
    with pytest.raises(ConfigError, match=r"'td3_bc', an actor loss, but policy 'dqn' has no actor"):
        serial_pipeline((main, create), seed=0, max_env_step=0, quiet=True)


def test_online_updates_after_td3_bc_pretraining_use_sacs_own_loss(
    demos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    main, create = pretraining_sac("after", demos, pretrain=10, warmup=0)
    main["policy"]["offline_dataset"]["pretrain_actor_loss"] = "td3_bc"
    seen: list[bool] = []
    from ding_lite.policy.sac import SACPolicy

    learn = SACPolicy._forward_learn

    def spy(self: SACPolicy, batch: Any) -> dict[str, float]:
        seen.append(self.behaviour_cloning)
        return learn(self, batch)

    monkeypatch.setattr(SACPolicy, "_forward_learn", spy)
    serial_pipeline((main, create), seed=0, max_train_iter=30, quiet=True)
    assert seen == [True] * 10 + [False] * 20
