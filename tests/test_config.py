"""Specifications of config handling: DI-engine config files compile strictly, land where DI-engine puts
each value, and the experiment directory holds a config that compiles back to the same tree."""

from __future__ import annotations

import copy
import logging
import re
import runpy
from pathlib import Path
from typing import Any

import pytest

from ding_lite.config import compile_config, read_config
from ding_lite.config.loader import to_plain
from ding_lite.config.validate import HookSection, OpenSection, merge_strict
from ding_lite.errors import ConfigError, DingLiteError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "dizoo_configs"
PPO_FILE = CONFIG_DIR / "cartpole_ppo_config.py"
DQN_FILE = CONFIG_DIR / "cartpole_dqn_config.py"


def ppo_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    return read_config(PPO_FILE)


def dqn_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    return read_config(DQN_FILE)


def compile_with(change: Any, pair: tuple[dict[str, Any], dict[str, Any]] | None = None) -> Any:
    """Compile the PPO config (or ``pair``) after ``change(main)`` edits a copy of main_config in place."""
    main, create = pair or ppo_pair()
    main = copy.deepcopy(main)
    change(main)
    return compile_with_pair(main, create)


def compile_with_pair(main: dict[str, Any], create: dict[str, Any]) -> Any:
    return compile_config((main, create), save_cfg=False)


# --------------------------------------------------------------------------- the dizoo configs


def test_ppo_config_compiles_with_di_engine_layout_and_defaults() -> None:
    cfg = compile_config(ppo_pair(), seed=7, save_cfg=False)
    assert cfg.exp_name == "cartpole_ppo_seed0"
    assert cfg.seed == 7
    assert cfg.env.type == "cartpole"
    assert cfg.env.manager.type == "base"
    assert (cfg.env.collector_env_num, cfg.env.evaluator_env_num, cfg.env.n_evaluator_episode) == (8, 5, 5)
    assert cfg.env.stop_value == 195
    policy = cfg.policy
    assert policy.type == "ppo" and policy.action_space == "discrete" and policy.cuda is False
    assert policy.model.obs_shape == 4 and policy.model.action_shape == 2
    assert policy.model.encoder_hidden_size_list == [64, 64, 128]
    assert policy.model.actor_head_hidden_size == 128 and policy.model.critic_head_hidden_size == 128
    learn = policy.learn
    assert (learn.epoch_per_collect, learn.batch_size, learn.learning_rate) == (2, 64, 0.001)
    assert (learn.value_weight, learn.entropy_weight, learn.clip_ratio) == (0.5, 0.01, 0.2)
    # DI-engine's PPO defaults that the file does not set
    assert policy.recompute_adv is True
    assert learn.adv_norm is True and learn.value_norm is True and learn.ppo_param_init is True
    assert learn.grad_clip_type == "clip_norm" and learn.grad_clip_value == 0.5
    assert learn.ignore_done is False and learn.resume_training is False
    assert learn.learner.hook.save_ckpt_after_iter == 100
    assert learn.learner.hook.save_ckpt_after_run is True
    assert learn.learner.hook.load_ckpt_before_run == ""
    collect = policy.collect
    assert (collect.n_sample, collect.unroll_len, collect.discount_factor, collect.gae_lambda) == (256, 1, 0.9, 0.95)
    assert policy.eval.evaluator.eval_freq == 100


def test_dqn_config_compiles_with_di_engine_layout_and_defaults() -> None:
    cfg = compile_config(dqn_pair(), save_cfg=False)
    assert cfg.exp_name == "cartpole_dqn_seed0"
    assert cfg.env.manager.type == "base"
    assert cfg.env.replay_path == "cartpole_dqn_seed0/video"
    policy = cfg.policy
    assert policy.type == "dqn"
    assert policy.load_path == "cartpole_dqn_seed0/ckpt/ckpt_best.pth.tar"
    assert policy.nstep == 1 and policy.discount_factor == 0.97
    assert policy.model.encoder_hidden_size_list == [128, 128, 64] and policy.model.dueling is True
    assert (policy.learn.update_per_collect, policy.learn.batch_size, policy.learn.learning_rate) == (5, 64, 0.001)
    assert policy.learn.target_update_freq == 100 and policy.learn.target_theta == 0.005
    assert policy.collect.n_sample == 8
    assert policy.eval.evaluator.eval_freq == 40
    assert dict(policy.other.eps) == dict(type="exp", start=0.95, end=0.1, decay=10000)
    assert policy.other.replay_buffer.replay_buffer_size == 20000
    assert policy.other.replay_buffer.type == "deque"
    assert policy.learn.learner.hook.save_ckpt_after_iter == 10000
    assert policy.learn.learner.hook.log_show_after_iter == 100


def test_di_engine_import_names_are_accepted_with_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ding_lite")
    compile_config(ppo_pair(), save_cfg=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "ding_lite"]
    assert len(lines) == 1
    assert "dizoo.classic_control.cartpole.envs.cartpole_env" in lines[0] and "cartpole" in lines[0]

    caplog.clear()
    compile_config(dqn_pair(), save_cfg=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "ding_lite"]
    assert len(lines) == 2
    assert any("ding.data.buffer.deque_buffer_wrapper" in line for line in lines)


def test_unimportable_user_import_name_is_a_config_error() -> None:
    main, create = ppo_pair()
    create = copy.deepcopy(create)
    create["env"]["import_names"] = ["no_such_module_for_ding_lite_tests"]
    with pytest.raises(ConfigError, match="no_such_module_for_ding_lite_tests"):
        compile_with_pair(main, create)


def test_compile_does_not_modify_the_callers_config() -> None:
    main, create = ppo_pair()
    before = (copy.deepcopy(main), copy.deepcopy(create))
    compile_config((main, create), save_cfg=False)
    assert (main, create) == before


def test_main_config_alone_may_name_the_types() -> None:
    main, create = ppo_pair()
    main = copy.deepcopy(main)
    main["env"]["type"] = "cartpole"
    main["policy"]["type"] = "ppo"
    cfg = compile_config(main, save_cfg=False)
    assert cfg.env.type == "cartpole" and cfg.policy.type == "ppo" and cfg.env.manager.type == "base"
    types_only = {name: {"type": section["type"]} for name, section in create.items()}
    assert to_plain(cfg) == to_plain(compile_config((ppo_pair()[0], types_only), save_cfg=False))


# --------------------------------------------------------------------------- strict keys


def test_typo_key_is_rejected_with_dotted_name_and_suggestion() -> None:
    with pytest.raises(ConfigError) as err:
        compile_with(lambda m: m["policy"]["learn"].update(learning_rat=0.01))
    message = str(err.value)
    assert "'policy.learn.learning_rat'" in message
    assert "policy.learn.learning_rate" in message


def test_misplaced_learner_hook_section_points_at_policy_learn_learner() -> None:
    with pytest.raises(ConfigError) as err:
        compile_with(lambda m: m["policy"].update(learner=dict(hook=dict(save_ckpt_after_iter=5))))
    message = str(err.value)
    assert "'policy.learner'" in message
    assert "policy.learn.learner" in message


def test_typo_in_hook_shorthand_is_rejected() -> None:
    with pytest.raises(ConfigError) as err:
        compile_with(lambda m: m["policy"]["learn"]["learner"]["hook"].update(save_ckpt_after_iterr=5))
    message = str(err.value)
    assert "policy.learn.learner.hook.save_ckpt_after_iterr" in message
    assert "policy.learn.learner.hook.save_ckpt_after_iter'" in message


def test_dict_form_hook_is_accepted_as_given() -> None:
    spec = dict(type="save_ckpt", position="after_iter", priority=5, ext_args=dict(freq=3))
    cfg = compile_with(lambda m: m["policy"]["learn"]["learner"]["hook"].update(name=spec))
    hook = cfg.policy.learn.learner.hook
    assert to_plain(hook.name) == spec
    assert hook.save_ckpt_after_iter == 100  # the file's shorthand is kept next to it


def test_typo_in_a_create_config_section_name_is_rejected() -> None:
    main, create = ppo_pair()
    with pytest.raises(ConfigError, match="env_manger"):
        compile_with_pair(main, {**create, "env_manger": dict(type="base")})


def test_unknown_policy_and_env_types_list_the_known_ones() -> None:
    main, create = ppo_pair()
    with pytest.raises(DingLiteError) as err:
        compile_with_pair(main, {**create, "policy": dict(type="ppx")})
    assert "ppx" in str(err.value) and "dqn" in str(err.value) and "ppo" in str(err.value)
    with pytest.raises(DingLiteError) as err:
        compile_with_pair(main, {**create, "env": dict(type="cartpol")})
    assert "cartpol" in str(err.value) and "cartpole" in str(err.value) and "pendulum" in str(err.value)


def test_missing_env_type_in_main_and_create_is_a_config_error() -> None:
    main, create = ppo_pair()
    create = {k: v for k, v in create.items() if k != "env"}
    assert "type" not in main["env"]
    with pytest.raises(ConfigError, match="env"):
        compile_with_pair(main, create)


def test_merge_strict_replaces_leaves_recurses_and_respects_open_and_hook_sections() -> None:
    defaults = {
        "a": 1,
        "sched": {"kind": "x", "step": 2},
        "free": OpenSection(),
        "hook": HookSection(freq=10),
    }
    user = {"a": 5, "sched": None, "free": {"anything": [1, 2]}, "hook": {"freq": 3, "mine": {"type": "t"}}}
    merged = merge_strict(defaults, user)
    assert merged == {"a": 5, "sched": None, "free": {"anything": [1, 2]}, "hook": {"freq": 3, "mine": {"type": "t"}}}
    assert merge_strict(defaults, {"sched": {"step": 4}})["sched"] == {"kind": "x", "step": 4}
    assert defaults["sched"] == {"kind": "x", "step": 2}  # defaults untouched
    with pytest.raises(ConfigError, match="hook.frq"):
        merge_strict(defaults, {"hook": {"frq": 3}})  # a plain value in a hook section is a typo
    with pytest.raises(ConfigError, match="'sched.stpe'.*'sched.step'"):
        merge_strict(defaults, {"sched": {"stpe": 1}}, source="x.py")
    with pytest.raises(ConfigError, match="in x.py"):
        merge_strict(defaults, {"b": 1}, source="x.py")


# --------------------------------------------------------------------------- experiment directory


def _without_exp_name(tree: Any) -> dict[str, Any]:
    plain = to_plain(tree)
    plain.pop("exp_name")
    return plain


@pytest.mark.parametrize("config_file", [PPO_FILE, DQN_FILE], ids=["ppo", "dqn"])
def test_saved_configs_reload_and_compile_back_to_the_same_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = compile_config(read_config(config_file), seed=3, save_cfg=True)
    exp_dir = tmp_path / cfg.exp_name
    assert (exp_dir / "total_config.py").is_file()
    assert (exp_dir / "formatted_total_config.py").is_file()

    total = runpy.run_path(str(exp_dir / "total_config.py"))["exp_config"]
    assert to_plain(total) == to_plain(cfg)

    main, create = read_config(exp_dir / "formatted_total_config.py")
    again = compile_config((main, create), seed=3, save_cfg=False)
    assert _without_exp_name(again) == _without_exp_name(cfg)


def test_existing_exp_dir_gets_a_time_suffix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = compile_config(ppo_pair(), save_cfg=True)
    assert first.exp_name == "cartpole_ppo_seed0"
    second = compile_config(ppo_pair(), save_cfg=True)
    assert re.fullmatch(r"cartpole_ppo_seed0_\d{6}_\d{6}", second.exp_name)
    assert (tmp_path / second.exp_name / "formatted_total_config.py").is_file()
    assert (tmp_path / "cartpole_ppo_seed0" / "total_config.py").is_file()


def test_resume_training_reuses_the_exp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    main, create = ppo_pair()
    main["policy"]["learn"]["resume_training"] = True
    first = compile_config((main, create), save_cfg=True)
    (tmp_path / first.exp_name / "marker").write_text("kept")
    second = compile_config((main, create), save_cfg=True)
    assert first.exp_name == second.exp_name == "cartpole_ppo_seed0"
    assert (tmp_path / "cartpole_ppo_seed0" / "marker").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cartpole_ppo_seed0"]


def test_save_cfg_false_creates_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    compile_config(ppo_pair(), save_cfg=False)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- read_config


def test_read_config_returns_plain_main_and_create() -> None:
    main, create = read_config(PPO_FILE)
    assert type(main) is dict and type(main["policy"]["learn"]) is dict
    assert main["exp_name"] == "cartpole_ppo_seed0"
    assert create["policy"] == {"type": "ppo"}


def test_read_config_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere_config.py"
    with pytest.raises(ConfigError, match="nowhere_config.py"):
        read_config(path)


def test_read_config_without_main_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "empty_config.py"
    path.write_text("create_config = dict(env=dict(type='cartpole'))\n")
    with pytest.raises(ConfigError, match="empty_config.py") as err:
        read_config(path)
    assert "main_config" in str(err.value)


def test_read_config_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken_config.py"
    path.write_text("main_config = dict(\n    exp_name='x',\n)\ndef broken(:\n")
    with pytest.raises(ConfigError, match=r"broken_config.py.*line 4"):
        read_config(path)


def test_read_config_error_raised_by_the_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "raising_config.py"
    path.write_text("main_config = dict(exp_name=undefined_name)\n")
    with pytest.raises(ConfigError, match="raising_config.py"):
        read_config(path)
