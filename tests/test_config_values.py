"""Config values are checked where the config is compiled: a bad type, a value out of range or one that
could never make progress is one sentence naming the key, the value and what is allowed, with exit
status 2, before any directory or checkpoint is written. Errors from inside envs and user code keep their
traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import RunDing

from ding_lite.config import compile_config, read_config
from ding_lite.config.values import RULES, check_values
from ding_lite.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "dizoo_configs"
DQN_CONFIG = CONFIGS / "cartpole_dqn_config.py"

GYMNASIUM_CONFIG = """
from easydict import EasyDict
main_config = EasyDict(dict(
    exp_name='gym_dqn',
    env=dict(env_id={env_id!r}, collector_env_num=2, evaluator_env_num=1, n_evaluator_episode=1),
    policy=dict(model=dict(obs_shape=4, action_shape=2)),
))
create_config = EasyDict(dict(env=dict(type='gymnasium'), env_manager=dict(type='base'), policy=dict(type='dqn')))
"""

# (what the user wrote in the cartpole DQN config, the text it replaces, what the error must say)
TABLE = {
    "learning_rate": (
        "learning_rate=0.001,", 'learning_rate="abc",',
        "config key 'policy.learn.learning_rate' is 'abc' in 'user.py'; it must be a number > 0",
    ),
    "stop_value": (
        "stop_value=195,", "stop_value='high',",
        "config key 'env.stop_value' is 'high' in 'user.py'; it must be a number",
    ),
    "batch_size": (
        "batch_size=64,", "batch_size=-5,",
        "config key 'policy.learn.batch_size' is -5 in 'user.py'; it must be an integer >= 1",
    ),
    "collector_env_num": (
        "collector_env_num=8,", "collector_env_num=0,",
        "config key 'env.collector_env_num' is 0 in 'user.py'; it must be an integer >= 1",
    ),
    "n_sample": (
        "n_sample=8)", "n_sample=0)",
        "config key 'policy.collect.n_sample' is 0 in 'user.py'; it must be an integer >= 1",
    ),
    "replay_buffer_size below batch_size": (
        "replay_buffer_size=20000", "replay_buffer_size=20",
        "config key 'policy.other.replay_buffer.replay_buffer_size' is 20 in 'user.py', below "
        "policy.learn.batch_size 64: no batch could ever be sampled; make it at least 64",
    ),
}  # fmt: skip


def assert_one_line_error_and_nothing_written(proc: object, cwd: Path, message: str) -> None:
    stderr = proc.stderr  # type: ignore[attr-defined]
    assert proc.returncode == 2, stderr  # type: ignore[attr-defined]
    assert stderr.strip().splitlines()[-1] == f"ding: error: {message}", stderr
    assert "Traceback" not in stderr and stderr.count("error") == 1, stderr
    assert sorted(p.name for p in cwd.iterdir()) == ["user.py"], "a rejected config must write nothing"


@pytest.mark.parametrize("row", list(TABLE))
def test_bad_value_in_the_dqn_config_is_one_sentence_with_exit_2_before_anything_is_written(
    row: str, tmp_path: Path, run_ding: RunDing
) -> None:
    original, replacement, message = TABLE[row]
    text = DQN_CONFIG.read_text()
    assert text.count(original) == 1, f"{original!r} is not in {DQN_CONFIG.name} once"
    (tmp_path / "user.py").write_text(text.replace(original, replacement))
    proc = run_ding("-m", "serial", "-c", "user.py", "-s", "0", cwd=tmp_path, timeout=120)
    assert_one_line_error_and_nothing_written(proc, tmp_path, message)


def test_unknown_gymnasium_id_is_one_sentence_before_anything_is_written(tmp_path: Path, run_ding: RunDing) -> None:
    (tmp_path / "user.py").write_text(GYMNASIUM_CONFIG.format(env_id="NoSuchEnv-v9"))
    proc = run_ding("-m", "serial", "-c", "user.py", "-s", "0", cwd=tmp_path, timeout=120)
    message = "config key 'env.env_id' is 'NoSuchEnv-v9' in 'user.py', an id Gymnasium does not know"
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"ding: error: {message} (") and "Traceback" not in proc.stderr, proc.stderr
    assert "NoSuchEnv" in proc.stderr.split("does not know", 1)[1], "Gymnasium's own reason is kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user.py"]


def test_errors_raised_inside_an_env_keep_their_traceback(tmp_path: Path, run_ding: RunDing) -> None:
    (tmp_path / "broken_env.py").write_text(
        "import gymnasium\n"
        "class Broken(gymnasium.Env):\n"
        "    def __init__(self):\n"
        "        raise RuntimeError('the simulator failed to start')\n"
        "gymnasium.register('BrokenSim-v0', entry_point=Broken)\n"
    )
    (tmp_path / "user.py").write_text(
        "import sys; sys.path.insert(0, '.'); import broken_env\n" + GYMNASIUM_CONFIG.format(env_id="BrokenSim-v0")
    )
    proc = run_ding("-m", "serial", "-c", "user.py", "-s", "0", cwd=tmp_path, timeout=120)
    assert proc.returncode not in (0, 2), proc.stderr
    assert "Traceback" in proc.stderr and "RuntimeError: the simulator failed to start" in proc.stderr


def test_every_dizoo_config_passes_the_value_checks() -> None:
    for path in sorted(CONFIGS.glob("*_config.py")):
        compile_config(read_config(path), save_cfg=False, source=path.name)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("policy.learn.learning_rate", 0.0, "a number > 0"),
        ("policy.learn.batch_size", 32.5, "an integer >= 1"),
        ("policy.learn.batch_size", True, "an integer >= 1"),
        ("policy.discount_factor", 1.5, "a number in [0, 1]"),
        ("policy.learn.target_update_freq", float("nan"), "an integer >= 1"),
        ("env.n_evaluator_episode", "5", "an integer >= 1"),
    ],
)
def test_values_of_the_wrong_type_or_range_name_key_value_and_what_is_allowed(
    key: str, value: object, allowed: str
) -> None:
    main, create = read_config(DQN_CONFIG)
    node = main
    *parents, leaf = key.split(".")
    for name in parents:
        node = node.setdefault(name, {})
    node[leaf] = value
    with pytest.raises(ConfigError) as caught:
        compile_config((main, create), save_cfg=False, source="'x.py'")
    assert str(caught.value) == f"config key '{key}' is {value!r} in 'x.py'; it must be {allowed}"


def test_whole_floats_are_accepted_where_integers_are_expected() -> None:
    check_values({"policy": {"learn": {"batch_size": 64.0}, "other": {"replay_buffer": {}}}}, "x")


def test_every_rule_pattern_matches_a_key_of_some_builtin_config() -> None:
    """A rule whose key was renamed would silently check nothing."""
    keys: set[str] = set()
    for path in sorted(CONFIGS.glob("*_config.py")):
        keys |= set(_leaf_keys(compile_config(read_config(path), save_cfg=False)))
    keys |= {"env.manager.step_timeout", "env.manager.reset_timeout", "env.manager.workers"}  # subprocess managers
    unmatched = [p for rule in RULES for p in rule.patterns if not any(re.fullmatch(_regex(p), k) for k in keys)]
    assert not unmatched, f"rule patterns matching no key: {unmatched}"


def _leaf_keys(tree: dict[str, object], path: str = "") -> list[str]:
    out = []
    for key, value in tree.items():
        full = f"{path}.{key}" if path else key
        out += _leaf_keys(value, full) if isinstance(value, dict) else [full]  # type: ignore[arg-type]
    return out


def _regex(pattern: str) -> str:
    return re.escape(pattern).replace(r"\*", ".*")
