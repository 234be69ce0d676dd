"""Exact resume: a run of N train iterations and the same run stopped and resumed end bit-identical.

For DQN (``-m serial``, off-policy) and PPO (``-m serial_onpolicy``), each interrupted run is compared with
one uninterrupted run of N iterations (shared by the module) by :func:`resume_helpers.assert_identical`:
final and best checkpoints tensor for tensor, ``result.json`` except wall time, and every TensorBoard
scalar series as TensorBoard's reader sees it. Runs are stopped by ``--train-iter`` (in the middle of a
collect/train cycle), by SIGTERM, and by SIGKILL at moments chosen by a seeded random generator, and are
resumed with ``--resume`` or from ``ckpt_best``. SAC with demonstrations in an offline buffer
(``policy.offline_dataset``) is checked the same way, stopped by ``--train-iter`` mid-cycle, and so is SAC
with a scripted intervention controller (``policy.intervention``).
"""

from __future__ import annotations

import random
import re
import shlex
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from resume_helpers import (
    DQN_BASE,
    EXP,
    PPO_BASE,
    REPO,
    Running,
    assert_identical,
    check_ok,
    ckpt_dir,
    copy_experiment,
    ding,
    ding_many,
    iteration_numbers,
    latest_name,
    load,
    read_result,
    scalar_series,
    write_config,
)


@dataclass(frozen=True)
class Algo:
    name: str
    mode: str
    base: Path
    n: int  # train iterations of the straight run
    half: int  # where --train-iter stops the first part: not a collect/train cycle boundary
    cycle: int  # train iterations per collect (DQN update_per_collect; PPO minibatches x epochs)
    save_every: int
    eval_freq: int  # chosen so the last evaluation comes before N (ckpt_best is then a mid-run file)
    sigterm_after: int  # SIGTERM as soon as iteration_<this> exists
    early_kills: tuple[tuple[str, int], ...]  # SIGKILL moments drawn from here for the first part...
    late_kills: tuple[tuple[str, int], ...]  # ...and from here for the resumed part

    def config(self, folder: Path) -> Path:
        return write_config(folder / f"{self.name}.py", self.base, save_every=self.save_every, eval_freq=self.eval_freq)

    def args(self, folder: Path, n: int) -> list[str]:
        return ["-m", self.mode, "-c", str(self.config(folder)), "-s", "0", "--train-iter", str(n)]


# A moment is ("checkpoint", k): right after iteration_k.pth.tar appears, or ("eval", i): right after the
# evaluation at train_iter i is printed (somewhere between two checkpoints).
DQN = Algo(
    "dqn", "serial", DQN_BASE, n=300, half=148, cycle=5, save_every=50, eval_freq=40, sigterm_after=100,
    early_kills=(("checkpoint", 50), ("checkpoint", 100), ("eval", 80)),
    late_kills=(("checkpoint", 150), ("checkpoint", 200), ("eval", 200), ("eval", 240)),
)  # fmt: skip
PPO = Algo(
    "ppo", "serial_onpolicy", PPO_BASE, n=200, half=75, cycle=8, save_every=50, eval_freq=60, sigterm_after=50,
    early_kills=(("checkpoint", 50), ("eval", 64)),
    late_kills=(("checkpoint", 100), ("checkpoint", 150), ("eval", 128)),
)  # fmt: skip
ALGOS = pytest.mark.parametrize("algo", [DQN, PPO], ids=lambda a: a.name)
KILL_SEED = 20240611

RESUMED_FROM = re.compile(r"resumed exactly from (\S+) at train_iter (\d+)")
STOPPED = re.compile(r"stopped by SIGTERM at train_iter (\d+); checkpoint written to '([^']+)'")


@pytest.fixture(scope="module")
def straight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Algo], Path]]:
    """``straight(algo)``: the experiment dir of an uninterrupted run of ``algo.n`` iterations.

    Both runs start in the background when the first test asks for the fixture, so they overlap that
    test's own runs; they are shared by every test of the module.
    """
    runs: dict[str, tuple[Running, Path]] = {}
    for each in (DQN, PPO):
        cwd = tmp_path_factory.mktemp(f"straight_{each.name}")
        runs[each.name] = (Running(*each.args(cwd, each.n), cwd=cwd), cwd / EXP)
    done: dict[str, Path] = {}

    def get(algo: Algo) -> Path:
        if algo.name not in done:
            run, exp_dir = runs[algo.name]
            check_ok(run.finish())
            assert read_result(exp_dir)["train_iter"] == algo.n
            done[algo.name] = exp_dir
        return done[algo.name]

    yield get
    for run, _ in runs.values():
        if run.proc.poll() is None:
            run.proc.kill()
            run.finish()


def resumed_from(proc_stderr: str) -> tuple[str, int]:
    """The checkpoint a ``--resume`` run says it continued from, and its train_iter."""
    found = RESUMED_FROM.search(proc_stderr)
    assert found, f"the run does not say which checkpoint it resumed from:\n{proc_stderr}"
    return found.group(1), int(found.group(2))


# --- stopped by --train-iter ------------------------------------------------------------------------------
@ALGOS
def test_train_iter_stop_mid_cycle_then_resume_equals_straight_run(
    algo: Algo, tmp_path: Path, straight: Callable[[Algo], Path]
) -> None:
    assert algo.half % algo.cycle != 0, "the first part must stop in the middle of a collect/train cycle"
    check_ok(ding(*algo.args(tmp_path, algo.half), cwd=tmp_path))
    exp_dir = tmp_path / EXP
    final = f"iteration_{algo.half}.pth.tar"
    assert latest_name(exp_dir) == final
    assert load(ckpt_dir(exp_dir) / final)["last_iter"] == algo.half

    proc = check_ok(ding(*algo.args(tmp_path, algo.n), "--resume", cwd=tmp_path))

    # the first part's final checkpoint (written by save_ckpt_after_run) is the one resumed from
    path, train_iter = resumed_from(proc.stderr)
    assert Path(path).name == final and train_iter == algo.half
    assert_identical(straight(algo), exp_dir, algo.n)


# --- stopped by SIGTERM ----------------------------------------------------------------------------------
@ALGOS
def test_sigterm_writes_a_checkpoint_prints_the_resume_command_and_resumes_exactly(
    algo: Algo, tmp_path: Path, straight: Callable[[Algo], Path]
) -> None:
    exp_dir = tmp_path / EXP
    marker = ckpt_dir(exp_dir) / f"iteration_{algo.sigterm_after}.pth.tar"
    run = Running(*algo.args(tmp_path, algo.n), cwd=tmp_path)
    run.wait_until(marker.exists, f"{marker} to appear")
    run.proc.send_signal(signal.SIGTERM)
    proc = run.finish()

    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    resume_lines = [line for line in proc.stderr.splitlines() if line.startswith("resume with:")]
    assert len(resume_lines) == 1 and "--resume" in resume_lines[0], proc.stderr
    stopped = STOPPED.search(proc.stderr)
    assert stopped, f"no 'stopped by SIGTERM at train_iter N; checkpoint written to ...' line:\n{proc.stderr}"
    stop_iter, written = int(stopped.group(1)), Path(stopped.group(2))
    assert algo.sigterm_after <= stop_iter < algo.n
    assert written.name == f"iteration_{stop_iter}.pth.tar"
    assert (tmp_path / written).is_file()
    assert latest_name(exp_dir) == written.name
    assert load(tmp_path / written)["last_iter"] == stop_iter
    assert read_result(exp_dir)["interrupted"] == "SIGTERM"

    # the printed command is the one that resumes
    words = shlex.split(resume_lines[0][len("resume with:") :])
    assert words[0] == "ding"
    resumed = check_ok(ding(*words[1:], cwd=tmp_path))
    assert resumed_from(resumed.stderr) == (str(written), stop_iter)
    assert_identical(straight(algo), exp_dir, algo.n)


# --- killed by SIGKILL -----------------------------------------------------------------------------------
def kill_moments(algo: Algo) -> list[tuple[str, int]]:
    rng = random.Random(f"{KILL_SEED}-{algo.name}")
    return [rng.choice(algo.early_kills), rng.choice(algo.late_kills)]


def kill_at(run: Running, exp_dir: Path, moment: tuple[str, int]) -> subprocess.CompletedProcess[str]:
    kind, at = moment
    if kind == "checkpoint":
        marker = ckpt_dir(exp_dir) / f"iteration_{at}.pth.tar"
        run.wait_until(marker.exists, f"{marker} to appear")
    else:
        run.wait_until(lambda: run.printed(f"[eval] train_iter {at} "), f"the evaluation at train_iter {at}")
    run.proc.kill()
    proc = run.finish()
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc


@ALGOS
def test_sigkill_at_random_moments_then_resume_equals_straight_run(
    algo: Algo, tmp_path: Path, straight: Callable[[Algo], Path]
) -> None:
    exp_dir = tmp_path / EXP
    first, second = kill_moments(algo)
    run = Running(*algo.args(tmp_path, algo.n), cwd=tmp_path)
    kill_at(run, exp_dir, first)
    assert not (ckpt_dir(exp_dir) / f"iteration_{second[1]}.pth.tar").exists(), "kill moments overlap"

    not_newest = []
    for moment in (second, None):
        # files appear by rename once complete: the newest one is what --resume should continue from
        newest = max(ckpt_dir(exp_dir).glob("*.pth.tar"), key=lambda p: p.stat().st_mtime_ns).name
        if moment is None:
            proc = check_ok(ding(*algo.args(tmp_path, algo.n), "--resume", cwd=tmp_path))
        else:
            proc = kill_at(Running(*algo.args(tmp_path, algo.n), "--resume", cwd=tmp_path), exp_dir, moment)
        used = Path(resumed_from(proc.stderr)[0]).name
        if used != newest:
            not_newest.append(f"resumed from {used}, not the newest complete checkpoint {newest}")

    assert_identical(straight(algo), exp_dir, algo.n)
    assert not not_newest, f"kills at {first}, {second}: " + "; ".join(not_newest)


# Three kills, each resumed: the second and third resumes start from checkpoints written by resumed runs,
# and the kills come after evaluations and logs that the next resume must cut away again.
THREE_KILLS = {
    "dqn": (("eval", 80), ("checkpoint", 150), ("eval", 240)),
    "ppo": (("eval", 64), ("checkpoint", 100), ("eval", 128)),
}


@ALGOS
def test_three_sigkills_in_one_run_end_with_the_logs_and_checkpoints_of_a_straight_run(
    algo: Algo, tmp_path: Path, straight: Callable[[Algo], Path]
) -> None:
    exp_dir = tmp_path / EXP
    kill_at(Running(*algo.args(tmp_path, algo.n), cwd=tmp_path), exp_dir, THREE_KILLS[algo.name][0])
    for moment in THREE_KILLS[algo.name][1:]:
        kill_at(Running(*algo.args(tmp_path, algo.n), "--resume", cwd=tmp_path), exp_dir, moment)
    check_ok(ding(*algo.args(tmp_path, algo.n), "--resume", cwd=tmp_path))
    assert_identical(straight(algo), exp_dir, algo.n)  # text logs line for line, checkpoints entry for entry
    for name in (f"iteration_{algo.n}.pth.tar", "ckpt_best.pth.tar"):
        positions = load(ckpt_dir(exp_dir) / name)["ding_lite"]["logs"]["text_bytes"]
        assert sorted(positions) == ["collector", "evaluator", "learner"], f"{name}: {positions}"


def test_kill_before_any_checkpoint_refuses_to_resume_and_a_plain_rerun_matches(
    tmp_path: Path, straight: Callable[[Algo], Path]
) -> None:
    algo = DQN
    exp_dir = tmp_path / EXP
    run = Running(*algo.args(tmp_path, algo.n), cwd=tmp_path)
    # logged while the experiment is being built, before the evaluation at iteration 0 writes ckpt_best
    run.wait_until(lambda: run.printed("experiment directory:", stderr=True), "the experiment to be built")
    run.proc.kill()
    assert run.finish().returncode == -signal.SIGKILL
    assert not list(ckpt_dir(exp_dir).glob("*.pth.tar")), "the kill came too late: a checkpoint exists"

    proc = ding(*algo.args(tmp_path, algo.n), "--resume", cwd=tmp_path)
    assert proc.returncode != 0, proc.stdout
    assert "nothing to resume" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not list(ckpt_dir(exp_dir).glob("*.pth.tar")), "a refused resume must not train"
    assert not (exp_dir / "result.json").exists(), "a refused resume must not train"

    # DI-engine's rule: a fresh run never reuses an existing experiment dir; it gets a time suffix
    check_ok(ding(*algo.args(tmp_path, algo.n), cwd=tmp_path))
    fresh = [p for p in tmp_path.glob(f"{EXP}_*") if p.is_dir()]
    assert len(fresh) == 1, sorted(p.name for p in tmp_path.iterdir())
    assert read_result(fresh[0])["exp_dir"] == fresh[0].name
    assert_identical(straight(algo), fresh[0], algo.n, also_ignore=["exp_dir"])


# --- resumed from a best or a periodic checkpoint ----------------------------------------------------------
@ALGOS
@pytest.mark.parametrize("kind", ["best", "periodic"])
def test_resume_from_a_best_or_periodic_checkpoint_continues_like_the_straight_run(
    algo: Algo, kind: str, tmp_path: Path, straight: Callable[[Algo], Path]
) -> None:
    """``--load-path exp/ckpt/<file> --resume`` on a copy of the straight run, cut back to that file.

    ckpt_best is written right after an evaluation; iteration_100 by the periodic hook at an iteration
    where the learner also logs (as with DI-engine's defaults, 1000 and 100).
    """
    exp_dir = copy_experiment(straight(algo), tmp_path)
    name = "ckpt_best.pth.tar" if kind == "best" else "iteration_100.pth.tar"
    resume_iter = int(load(ckpt_dir(exp_dir) / name)["last_iter"])
    assert 0 < resume_iter < algo.n, f"{name} at train_iter {resume_iter}: choose eval_freq so it is mid-run"
    # forget everything after that moment, so only the resumed run can produce it again
    for n in iteration_numbers(exp_dir):
        if n > resume_iter:
            (ckpt_dir(exp_dir) / f"iteration_{n}.pth.tar").unlink()
    (exp_dir / "result.json").unlink()

    load_path = f"{EXP}/ckpt/{name}"
    proc = check_ok(ding(*algo.args(tmp_path, algo.n), "--load-path", load_path, "--resume", cwd=tmp_path))
    assert resumed_from(proc.stderr) == (load_path, resume_iter)
    assert_identical(straight(algo), exp_dir, algo.n)


# --- what a checkpoint holds -----------------------------------------------------------------------------
TRAINING_STATE = {"config", "rng", "policy_rng", "learner", "collector", "evaluator", "loop", "logs"}


@ALGOS
def test_checkpoint_holds_the_whole_training_state(algo: Algo, straight: Callable[[Algo], Path]) -> None:
    exp_dir = straight(algo)
    state = load(ckpt_dir(exp_dir) / f"iteration_{algo.n}.pth.tar")
    extras = state["ding_lite"]
    assert set(extras) >= TRAINING_STATE, sorted(extras)
    assert extras["format_version"] == 1 and extras["policy_type"] == algo.name
    assert state["last_iter"] == algo.n
    result = read_result(exp_dir)
    env_step = result["env_step"]
    assert state["last_step"] == env_step == extras["collector"]["env_step"]

    # RNG: Python, NumPy, torch, the policy's generator and every collector env's own generator
    assert set(extras["rng"]) == {"python", "numpy", "torch"}
    assert extras["policy_rng"]
    envs = extras["collector"]["env"]["envs"]
    assert len(envs) == 8 and all("rng" in env and "physics" in env for env in envs)

    # evaluator: best and last values as result.json reports them
    assert extras["evaluator"]["best_value"] == result["best_eval_value"]
    assert extras["evaluator"]["last_value"] == result["eval_value"]
    best = load(ckpt_dir(exp_dir) / "ckpt_best.pth.tar")["ding_lite"]["evaluator"]
    assert best["best_value"] == best["last_value"] == result["best_eval_value"]

    # collector episodes: the total last logged plus the episodes since that log
    totals = scalar_series(exp_dir)["collector_iter/total_episode_count"]
    logged = int(totals[-1][1])
    assert extras["collector"]["episode_count"] == logged + len(extras["collector"]["returns"])
    assert extras["collector"]["episode_count"] > 0

    if algo is DQN:  # the replay buffer holds every transition collected (nstep=1, capacity 20000)
        buffer = extras["buffer"]
        assert buffer["size"] == env_step
        assert all(int(column.shape[0]) == env_step for column in buffer["data"].values())
        assert "rng" in buffer and extras["nstep"] is not None
        assert extras["loop"]["updates_left"] >= 0
    else:  # PPO: value normalisation statistics, and the train cycle in flight
        norm = extras["value_norm"]
        assert set(norm) == {"mean", "var", "count"}
        assert norm["count"] >= env_step, "every collected return updates the value statistics"
        assert extras["buffer"] is None
        assert extras["loop"]["cycle"] is not None


# --- the torch learning backend ----------------------------------------------------------------------------
@ALGOS
def test_torch_backend_stop_mid_cycle_then_resume_equals_straight_run(algo: Algo, tmp_path: Path) -> None:
    """The same exactness with ``policy.learn.backend='torch'`` (autograd) as with the default NumPy one."""
    n, half = algo.n // 2, algo.half // 2 + 2  # half: mid-cycle for both (76 of 5s, 39 of 8s)
    assert half % algo.cycle != 0
    config = write_config(
        tmp_path / f"{algo.name}_torch.py",
        algo.base,
        save_every=algo.save_every,
        eval_freq=algo.eval_freq,
        edits="main_config.policy.learn.backend = 'torch'",
    )
    straight_dir, parts_dir = tmp_path / "straight", tmp_path / "parts"
    straight_dir.mkdir()
    parts_dir.mkdir()
    common = ["-m", algo.mode, "-c", str(config), "-s", "0"]
    check_ok(ding(*common, "--train-iter", str(n), cwd=straight_dir))
    check_ok(ding(*common, "--train-iter", str(half), cwd=parts_dir))
    proc = check_ok(ding(*common, "--train-iter", str(n), "--resume", cwd=parts_dir))
    assert resumed_from(proc.stderr)[1] == half
    assert (
        load(ckpt_dir(parts_dir / EXP) / latest_name(parts_dir / EXP))["ding_lite"]["config"]["policy"]["learn"][
            "backend"
        ]
        == "torch"
    )
    assert_identical(straight_dir / EXP, parts_dir / EXP, n)


def straight_and_resumed(tmp_path: Path, config: Path, n: int, half: int) -> tuple[Path, Path]:
    """``ding -m serial`` for ``n`` iterations in <tmp>/straight, and for ``half`` then resumed to ``n`` in
    <tmp>/parts; the two directories."""
    straight_dir, parts_dir = tmp_path / "straight", tmp_path / "parts"
    straight_dir.mkdir()
    parts_dir.mkdir()
    common = ["-m", "serial", "-c", str(config), "-s", "0"]
    for proc in ding_many(
        [([*common, "--train-iter", str(n)], straight_dir), ([*common, "--train-iter", str(half)], parts_dir)]
    ):
        check_ok(proc)
    proc = check_ok(ding(*common, "--train-iter", str(n), "--resume", cwd=parts_dir))
    assert resumed_from(proc.stderr)[1] == half
    return straight_dir, parts_dir


# --- SAC with demonstrations in an offline buffer ----------------------------------------------------------
def test_sac_with_an_offline_dataset_stopped_mid_cycle_then_resumed_equals_straight_run(tmp_path: Path) -> None:
    """``policy.offline_dataset``: the offline buffer and its sampler are in every checkpoint, so a run with
    half of every batch drawn from demonstrations resumes exactly too (two recorded pendulum episodes)."""
    import runpy

    import numpy as np

    from ding_lite.entry.record import record

    sac_base = REPO / "dizoo_configs" / "pendulum_sac_config.py"
    ns = runpy.run_path(str(sac_base))
    ns["main_config"].env.collector_env_num = 2
    record((ns["main_config"], ns["create_config"]), tmp_path / "demos", 2, quiet=True,
           controller=lambda obs: np.clip(-obs[:, 1:2] - 0.3 * obs[:, 2:3], -1, 1).astype(np.float32))  # fmt: skip
    n, half, cycle = 100, 54, 4  # the first part stops in the middle of a collect/train cycle
    edits = (
        f"main_config.policy.random_collect_size = 200\n"
        f"main_config.policy.learn.update_per_collect = {cycle}\n"
        f"main_config.policy.offline_dataset = dict(root={str(tmp_path / 'demos')!r}, ratio=0.5)"
    )
    config = write_config(tmp_path / "sac_offline.py", sac_base, save_every=20, eval_freq=40, log_every=10, edits=edits)
    assert half % cycle != 0
    straight_dir, parts_dir = straight_and_resumed(tmp_path, config, n, half)
    offline = load(ckpt_dir(parts_dir / EXP) / f"iteration_{n}.pth.tar")["ding_lite"]["offline_buffer"]
    assert offline["size"] == 398  # 2 x 200 frames; the final ones have no next observation (ignore_done=True)
    assert_identical(straight_dir / EXP, parts_dir / EXP, n)


# --- SAC with an intervention controller ------------------------------------------------------------------
def test_sac_with_an_intervention_controller_stopped_mid_cycle_then_resumed_equals_straight_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``policy.intervention``: the rule's per-episode counters (here a cap of 8 intervened steps per episode)
    and the offline buffer the intervened transitions are copied into are in every checkpoint."""
    monkeypatch.setenv("PYTHONPATH", str(REPO / "tests"))  # where 'scripted_controllers' is
    sac_base = REPO / "dizoo_configs" / "pendulum_sac_config.py"
    n, half, cycle = 100, 54, 4
    edits = (
        f"main_config.policy.random_collect_size = 200\n"
        f"main_config.policy.learn.update_per_collect = {cycle}\n"
        "main_config.policy.intervention = dict(controller='scripted_controllers:pendulum_pd',\n"
        "    when=dict(rule='action_distance', threshold=0.5, max_per_episode=8))"
    )
    config = write_config(tmp_path / "sac_hil.py", sac_base, save_every=20, eval_freq=40, log_every=10, edits=edits)
    assert half % cycle != 0
    straight_dir, parts_dir = straight_and_resumed(tmp_path, config, n, half)
    extras = load(ckpt_dir(parts_dir / EXP) / f"iteration_{n}.pth.tar")["ding_lite"]
    assert extras["offline_buffer"]["size"] == extras["collector"]["intervention"]["total"] > 0
    assert_identical(straight_dir / EXP, parts_dir / EXP, n)
