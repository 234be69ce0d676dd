"""End-to-end specifications of the ``ding`` command.

Every test runs the command in a subprocess, as a user would, with the working directory in a pytest
temporary directory (experiments are written relative to it) and absolute config paths. Full training runs
are shared by the tests of one behaviour through module-scoped fixtures, so the file trains cartpole PPO
and DQN to their stop value once each.
"""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
PPO_CONFIG = REPO / "dizoo_configs" / "cartpole_ppo_config.py"
DQN_CONFIG = REPO / "dizoo_configs" / "cartpole_dqn_config.py"
FIXTURES = REPO / "tests" / "fixtures" / "di-engine"
PPO_FIXTURE = FIXTURES / "cartpole_ppo_seed0_best.pth.tar"
DQN_FIXTURE = FIXTURES / "cartpole_dqn_seed0_best.pth.tar"

RunDing = Callable[..., "subprocess.CompletedProcess[str]"]


# --- helpers ------------------------------------------------------------------------------------------
def write_config(path: Path, base: Path, edits: str) -> Path:
    """A config file that runs ``base`` and then applies ``edits`` to its EasyDict ``main_config``/``create_config``."""
    path.write_text(
        "import runpy\n\n"
        f"_base = runpy.run_path({str(base)!r})\n"
        "main_config = _base['main_config']\n"
        "create_config = _base['create_config']\n" + textwrap.dedent(edits)
    )
    return path


def config_value(config: Path, *keys: str) -> Any:
    """``main_config[k0][k1]...`` of a config file."""
    node = runpy.run_path(str(config))["main_config"]
    for key in keys:
        node = node[key]
    return node


def check_ok(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, f"ding exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def load_ckpt(path: Path) -> dict[str, Any]:
    assert path.is_file(), f"missing checkpoint {path}; ckpt dir holds {sorted(p.name for p in path.parent.glob('*'))}"
    return torch.load(path, map_location="cpu", weights_only=True)


def event_files(exp_dir: Path) -> set[Path]:
    return set((exp_dir / "log" / "serial").glob("events.out.tfevents.*"))


def scalars(files: set[Path]) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the given TensorBoard event files: tag -> [(step, value), ...] sorted by step."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out: dict[str, list[tuple[int, float]]] = {}
    for file in files:
        acc = EventAccumulator(str(file), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            out.setdefault(tag, []).extend((event.step, event.value) for event in acc.Scalars(tag))
    return {tag: sorted(points) for tag, points in out.items()}


def steps(points: list[tuple[int, float]]) -> list[int]:
    return [step for step, _ in points]


def entries(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


# --- 1. PPO trains to its stop value and leaves DI-engine's experiment layout ---------------------------
@pytest.fixture(scope="module")
def ppo_run(run_ding: RunDing, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    cwd = tmp_path_factory.mktemp("ppo_run")
    check_ok(run_ding("-m", "serial_onpolicy", "-c", PPO_CONFIG, "-s", "0", cwd=cwd))
    exp_dir = cwd / "cartpole_ppo_seed0"
    return exp_dir, read_json(exp_dir / "result.json")


def test_ppo_cli_training_reaches_stop_value(ppo_run: tuple[Path, dict[str, Any]]) -> None:
    _, result = ppo_run
    assert result["stop"] is True
    assert result["best_eval_value"] >= 195
    assert result["train_iter"] > 0
    assert result["env_step"] > 0
    assert result["seed"] == 0


def test_ppo_cli_training_writes_best_and_final_checkpoints(ppo_run: tuple[Path, dict[str, Any]]) -> None:
    exp_dir, result = ppo_run
    best = load_ckpt(exp_dir / "ckpt" / "ckpt_best.pth.tar")
    final = load_ckpt(exp_dir / "ckpt" / f"iteration_{result['train_iter']}.pth.tar")
    for state in (best, final):
        assert {"model", "optimizer", "last_iter", "last_step"} <= set(state)
    assert final["last_iter"] == result["train_iter"]
    assert final["last_step"] == result["env_step"]
    assert best["last_iter"] <= result["train_iter"]


def test_ppo_cli_training_writes_total_and_formatted_configs(ppo_run: tuple[Path, dict[str, Any]]) -> None:
    exp_dir, _ = ppo_run
    assert (exp_dir / "total_config.py").is_file()
    formatted = runpy.run_path(str(exp_dir / "formatted_total_config.py"))
    assert formatted["main_config"]["exp_name"] == "cartpole_ppo_seed0"
    assert formatted["main_config"]["policy"]["learn"]["epoch_per_collect"] == 2
    assert formatted["create_config"]["policy"]["type"] == "ppo"
    assert formatted["create_config"]["env"]["type"] == "cartpole"


def test_ppo_cli_training_logs_di_engine_tensorboard_tags(ppo_run: tuple[Path, dict[str, Any]]) -> None:
    exp_dir, result = ppo_run
    files = event_files(exp_dir)
    assert files, f"no TensorBoard events file in {exp_dir / 'log' / 'serial'}"
    logged = scalars(files)
    for tag in (
        "evaluator_iter/reward_mean",
        "evaluator_step/reward_mean",
        "learner_iter/total_loss_avg",
        "learner_step/policy_loss_avg",
        "collector_iter/reward_mean",
        "collector_step/avg_envstep_per_sec",
    ):
        assert logged.get(tag), f"tag {tag} missing; logged tags: {sorted(logged)}"
    evaluations = logged["evaluator_iter/reward_mean"]
    assert evaluations[-1][0] == result["train_iter"]
    assert max(value for _, value in evaluations) == pytest.approx(result["best_eval_value"])
    assert steps(logged["evaluator_step/reward_mean"])[-1] == result["env_step"]


def test_ppo_cli_training_writes_worker_text_logs(ppo_run: tuple[Path, dict[str, Any]]) -> None:
    exp_dir, _ = ppo_run
    for worker in ("learner", "collector", "evaluator"):
        text_log = exp_dir / "log" / worker / f"{worker}_logger.txt"
        assert text_log.is_file(), f"missing {text_log}"
        assert text_log.read_text().strip(), f"{text_log} is empty"


# --- 2. DQN trains to its stop value, then ``ding -m eval`` plays its best checkpoint -------------------
@pytest.fixture(scope="module")
def dqn_run(run_ding: RunDing, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    cwd = tmp_path_factory.mktemp("dqn_run")
    check_ok(run_ding("-m", "serial", "-c", DQN_CONFIG, "-s", "0", cwd=cwd))
    return cwd, read_json(cwd / "cartpole_dqn_seed0" / "result.json")


@pytest.fixture(scope="module")
def dqn_eval(run_ding: RunDing, dqn_run: tuple[Path, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """``ding -m eval --load-path <best>`` after the DQN run: (stdout, eval_result.json)."""
    cwd, _ = dqn_run
    best = "cartpole_dqn_seed0/ckpt/ckpt_best.pth.tar"
    proc = run_ding("-m", "eval", "-c", DQN_CONFIG, "-s", "0", "--load-path", best, cwd=cwd)
    check_ok(proc)
    return proc.stdout, read_json(cwd / "cartpole_dqn_seed0" / "eval_result.json")


def test_dqn_cli_training_reaches_stop_value(dqn_run: tuple[Path, dict[str, Any]]) -> None:
    cwd, result = dqn_run
    assert result["stop"] is True
    assert result["best_eval_value"] >= 195
    assert result["train_iter"] > 0 and result["env_step"] > 0
    ckpt_dir = cwd / "cartpole_dqn_seed0" / "ckpt"
    best = load_ckpt(ckpt_dir / "ckpt_best.pth.tar")
    assert {"model", "target_model", "optimizer", "last_iter", "last_step"} <= set(best)
    assert load_ckpt(ckpt_dir / f"iteration_{result['train_iter']}.pth.tar")["last_iter"] == result["train_iter"]


def test_eval_with_load_path_prints_and_writes_mean_return(dqn_eval: tuple[str, dict[str, Any]]) -> None:
    stdout, evaluation = dqn_eval
    mean = evaluation["episode_return_mean"]
    assert mean >= 190
    assert len(evaluation["episode_returns"]) == config_value(DQN_CONFIG, "env", "n_evaluator_episode")
    assert mean == pytest.approx(sum(evaluation["episode_returns"]) / len(evaluation["episode_returns"]))
    assert evaluation["ckpt"] == "cartpole_dqn_seed0/ckpt/ckpt_best.pth.tar"
    printed = [line for line in stdout.splitlines() if "mean return" in line]
    assert printed and f"{mean:.2f}" in printed[-1], f"mean return {mean:.2f} not printed; stdout:\n{stdout}"


def test_eval_without_load_path_uses_policy_load_path(
    run_ding: RunDing, dqn_run: tuple[Path, dict[str, Any]], dqn_eval: tuple[str, dict[str, Any]]
) -> None:
    cwd, _ = dqn_run
    _, explicit = dqn_eval
    before = entries(cwd)
    check_ok(run_ding("-m", "eval", "-c", DQN_CONFIG, "-s", "0", cwd=cwd))
    evaluation = read_json(cwd / "cartpole_dqn_seed0" / "eval_result.json")
    assert evaluation["ckpt"] == config_value(DQN_CONFIG, "policy", "load_path")
    # The same checkpoint played with the same seed gives the same episodes.
    assert evaluation["episode_returns"] == explicit["episode_returns"]
    assert entries(cwd) == before, "eval must not create another experiment directory"


# --- 3. DI-engine's own checkpoints play through ``ding -m eval`` ---------------------------------------
@pytest.mark.parametrize(
    ("base", "fixture", "minimum"), [(PPO_CONFIG, PPO_FIXTURE, 195), (DQN_CONFIG, DQN_FIXTURE, 190)], ids=["ppo", "dqn"]
)
def test_eval_plays_di_engine_checkpoint(
    run_ding: RunDing, tmp_path: Path, base: Path, fixture: Path, minimum: float
) -> None:
    config = write_config(tmp_path / "eval_config.py", base, "main_config.env.n_evaluator_episode = 10\n")
    proc = run_ding("-m", "eval", "-c", config, "-s", "0", "--load-path", fixture, cwd=tmp_path)
    check_ok(proc)
    evaluation = read_json(tmp_path / config_value(config, "exp_name") / "eval_result.json")
    assert len(evaluation["episode_returns"]) == 10
    assert evaluation["episode_return_mean"] >= minimum
    assert evaluation["ckpt"] == str(fixture)


# --- 4. Loading a checkpoint, with and without resume_training ------------------------------------------
RESUME_EXP = "cartpole_dqn_resume"


@pytest.fixture(scope="module")
def dqn_first_60(run_ding: RunDing, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """60 DQN iterations with a checkpoint and a learner log line every 20; no early stop."""
    cwd = tmp_path_factory.mktemp("resume")
    config = write_config(
        cwd / "train.py",
        DQN_CONFIG,
        f"""
        main_config.exp_name = {RESUME_EXP!r}
        main_config.env.stop_value = 10**9
        main_config.policy.learn.learner = dict(hook=dict(save_ckpt_after_iter=20, log_show_after_iter=20))
        """,
    )
    check_ok(run_ding("-m", "serial", "-c", config, "-s", "0", "--train-iter", "60", cwd=cwd))
    exp_dir = cwd / RESUME_EXP
    result = read_json(exp_dir / "result.json")
    assert result["train_iter"] == 60
    assert load_ckpt(exp_dir / "ckpt" / "iteration_60.pth.tar")["last_iter"] == 60
    return cwd, result


def write_load_config(cwd: Path, name: str, resume: bool) -> Path:
    return write_config(
        cwd / name,
        cwd / "train.py",
        f"""
        main_config.policy.learn.resume_training = {resume}
        main_config.policy.learn.learner.hook.load_ckpt_before_run = '{RESUME_EXP}/ckpt/iteration_60.pth.tar'
        """,
    )


def test_resume_training_continues_in_same_experiment(
    run_ding: RunDing, dqn_first_60: tuple[Path, dict[str, Any]]
) -> None:
    cwd, first = dqn_first_60
    exp_dir = cwd / RESUME_EXP
    config = write_load_config(cwd, "resume.py", resume=True)
    before, first_files = entries(cwd), event_files(exp_dir)
    check_ok(run_ding("-m", "serial", "-c", config, "-s", "0", "--train-iter", "100", cwd=cwd))

    assert entries(cwd) == before, "resume_training must reuse the experiment directory"
    result = read_json(exp_dir / "result.json")
    assert result["train_iter"] == 100
    assert result["env_step"] > first["env_step"]
    final = load_ckpt(exp_dir / "ckpt" / "iteration_100.pth.tar")
    assert (final["last_iter"], final["last_step"]) == (100, result["env_step"])

    # TensorBoard continues: one learner point every 20 iterations over both runs, none repeated.
    assert steps(scalars(event_files(exp_dir))["learner_iter/total_loss_avg"]) == [20, 40, 60, 80, 100]
    second_run = scalars(event_files(exp_dir) - first_files)
    learner_steps = {tag: steps(points) for tag, points in second_run.items() if tag.startswith("learner_iter/")}
    assert learner_steps, "the resumed run wrote no learner_iter scalars"
    assert all(min(tag_steps) > 60 for tag_steps in learner_steps.values()), learner_steps


def test_load_without_resume_starts_new_experiment_from_loaded_iteration(
    run_ding: RunDing, dqn_first_60: tuple[Path, dict[str, Any]]
) -> None:
    cwd, first = dqn_first_60
    config = write_load_config(cwd, "load.py", resume=False)
    before = entries(cwd)
    check_ok(run_ding("-m", "serial", "-c", config, "-s", "0", "--train-iter", "100", cwd=cwd))

    created = sorted(entries(cwd) - before)
    assert len(created) == 1 and re.fullmatch(rf"{RESUME_EXP}_\d{{6}}_\d{{6}}", created[0]), created
    exp_dir = cwd / created[0]
    result = read_json(exp_dir / "result.json")
    assert result["train_iter"] == 100
    # env_step restarted from 0: 40 updates from an empty buffer take fewer env steps than the first run's 60.
    assert 0 < result["env_step"] < first["env_step"]
    final = load_ckpt(exp_dir / "ckpt" / "iteration_100.pth.tar")
    assert (final["last_iter"], final["last_step"]) == (100, result["env_step"])
    assert steps(scalars(event_files(exp_dir))["learner_iter/total_loss_avg"]) == [80, 100]


# --- 5. ``--train-iter`` bounds the run; save_ckpt_after_run decides the final checkpoint ----------------
def test_train_iter_bounds_run_and_saves_final_checkpoint(run_ding: RunDing, tmp_path: Path) -> None:
    check_ok(run_ding("-m", "serial_onpolicy", "-c", PPO_CONFIG, "-s", "0", "--train-iter", "10", cwd=tmp_path))
    exp_dir = tmp_path / "cartpole_ppo_seed0"
    assert read_json(exp_dir / "result.json")["train_iter"] == 10
    assert load_ckpt(exp_dir / "ckpt" / "iteration_10.pth.tar")["last_iter"] == 10


def test_save_ckpt_after_run_false_writes_no_final_checkpoint(run_ding: RunDing, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "no_final.py", PPO_CONFIG, "main_config.policy.learn.learner.hook.save_ckpt_after_run = False\n"
    )
    check_ok(run_ding("-m", "serial_onpolicy", "-c", config, "-s", "0", "--train-iter", "10", cwd=tmp_path))
    exp_dir = tmp_path / "cartpole_ppo_seed0"
    assert read_json(exp_dir / "result.json")["train_iter"] == 10
    assert not list((exp_dir / "ckpt").glob("iteration_*.pth.tar"))


# --- 6. User mistakes: one ``ding: error:`` line, non-zero exit, no traceback ---------------------------
def _missing_config(tmp: Path) -> tuple[list[Any], list[str]]:
    path = tmp / "no_such_config.py"
    return ["-m", "serial_onpolicy", "-c", path], [str(path)]


def _no_main_config(tmp: Path) -> tuple[list[Any], list[str]]:
    path = tmp / "empty_config.py"
    path.write_text("create_config = dict(env=dict(type='cartpole'), policy=dict(type='ppo'))\n")
    return ["-m", "serial_onpolicy", "-c", path], ["main_config", "empty_config.py"]


def _unknown_policy(tmp: Path) -> tuple[list[Any], list[str]]:
    path = write_config(tmp / "bad_policy.py", PPO_CONFIG, "create_config.policy.type = 'ppoo'\n")
    return ["-m", "serial_onpolicy", "-c", path], ["'ppoo'", r"\bdqn\b", r"\bppo\b"]


def _unknown_env(tmp: Path) -> tuple[list[Any], list[str]]:
    path = write_config(tmp / "bad_env.py", PPO_CONFIG, "create_config.env.type = 'cartpol'\n")
    return ["-m", "serial_onpolicy", "-c", path], ["'cartpol'", r"\bcartpole\b"]


def _typo_key(tmp: Path) -> tuple[list[Any], list[str]]:
    path = write_config(tmp / "typo.py", PPO_CONFIG, "main_config.policy.learn.epoch_per_colect = 2\n")
    return ["-m", "serial_onpolicy", "-c", path], [r"\bepoch_per_colect\b", r"\bepoch_per_collect\b"]


def _missing_checkpoint(tmp: Path) -> tuple[list[Any], list[str]]:
    path = "does/not/exist.pth.tar"
    return ["-m", "eval", "-c", PPO_CONFIG, "--load-path", path], [re.escape(path)]


def _checkpoint_of_other_model(tmp: Path) -> tuple[list[Any], list[str]]:
    args = ["-m", "eval", "-c", PPO_CONFIG, "--load-path", DQN_FIXTURE]
    return args, [re.escape(DQN_FIXTURE.name), r"encoder\.init\.weight", r"\(128, 4\)", r"\(64, 4\)"]


@pytest.mark.parametrize(
    "case",
    [
        _missing_config,
        _no_main_config,
        _unknown_policy,
        _unknown_env,
        _typo_key,
        _missing_checkpoint,
        _checkpoint_of_other_model,
    ],
    ids=lambda case: case.__name__.lstrip("_"),
)
def test_user_mistake_is_one_error_line(
    run_ding: RunDing, tmp_path: Path, case: Callable[[Path], tuple[list[Any], list[str]]]
) -> None:
    args, patterns = case(tmp_path)
    before = entries(tmp_path)
    proc = run_ding(*args, "-s", "0", cwd=tmp_path)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ding: error: ")]
    assert len(errors) == 1, f"expected one 'ding: error:' line; stderr:\n{proc.stderr}"
    for pattern in patterns:
        assert re.search(pattern, errors[0]), f"{pattern!r} not in {errors[0]!r}"
    assert entries(tmp_path) == before, "a failed start must leave no experiment directory behind"


def test_config_key_error_names_the_config_file(run_ding: RunDing, tmp_path: Path) -> None:
    args, _ = _typo_key(tmp_path)
    proc = run_ding(*args, "-s", "0", cwd=tmp_path)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ding: error: ")]
    assert len(errors) == 1, proc.stderr
    assert "typo.py" in errors[0], f"the error does not name the config file: {errors[0]!r}"


# --- 7. One run per seed --------------------------------------------------------------------------------
def test_several_seeds_run_one_experiment_each(run_ding: RunDing, tmp_path: Path) -> None:
    proc = run_ding("-m", "serial_onpolicy", "-c", PPO_CONFIG, "-s", "0", "-s", "1", "--train-iter", "8", cwd=tmp_path)
    check_ok(proc)
    for seed in (0, 1):
        exp_dir = tmp_path / f"cartpole_ppo_seed{seed}"
        result = read_json(exp_dir / "result.json")
        assert (result["seed"], result["train_iter"]) == (seed, 8)
        assert runpy.run_path(str(exp_dir / "formatted_total_config.py"))["main_config"]["seed"] == seed
    assert entries(tmp_path) == {"cartpole_ppo_seed0", "cartpole_ppo_seed1"}


# --- 8. An env object with the old Gym API, given from Python -------------------------------------------
OLD_GYM_SCRIPT = """
import json
import runpy

from ding_lite.entry import serial_pipeline_onpolicy
from ding_lite.envs import CartPoleEnv

calls = {"seed": [], "reset": 0, "step": 0}


class OldGymCartPole:
    # The old Gym API: seed(s); reset() -> obs; step(a) -> (obs, reward, done, info).
    def __init__(self):
        self._env = CartPoleEnv()

    def seed(self, seed):
        calls["seed"].append(seed)
        self._env.seed(seed)

    def reset(self):
        calls["reset"] += 1
        return self._env.reset()

    def step(self, action):
        calls["step"] += 1
        obs, reward, terminated, truncated = self._env.step(action)
        return obs, reward, terminated or truncated, {"TimeLimit.truncated": truncated and not terminated}


config = runpy.run_path(CONFIG)
serial_pipeline_onpolicy(
    (config["main_config"], config["create_config"]), seed=0, env_fn=OldGymCartPole, max_train_iter=16, quiet=True
)
print(json.dumps(calls))
"""


def test_old_gym_api_env_trains_through_env_fn(tmp_path: Path) -> None:
    script = tmp_path / "old_gym.py"
    script.write_text(f"CONFIG = {str(PPO_CONFIG)!r}\n" + OLD_GYM_SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    check_ok(proc)
    calls = json.loads(proc.stdout.strip().splitlines()[-1])
    result = read_json(tmp_path / "cartpole_ppo_seed0" / "result.json")
    assert result["train_iter"] == 16
    assert 0 < result["env_step"] <= calls["step"]
    assert calls["reset"] > 0
    # Env i of each manager is seeded seed + i through the old API's seed(): 8 collector and 5 evaluator envs.
    assert sorted(calls["seed"]) == sorted([*range(8), *range(5)])
