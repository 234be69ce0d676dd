"""SAC from scratch against SAC with priors (issue 12's claim), and an ablation, on Reacher-v5 (state) or on
pendulum from 32x32 frames and state (``--task pendulum_pixels``).

Usage: .venv/bin/python bench/bench_priors.py --work /tmp/priors [--task reacher] [--seeds 0 1 2]
                                              [--env-step N] [--jobs 2] [--target V] [--arms scratch all ...]

1. Reacher: in ``--work``, with the Reacher demonstrations of tests/fixtures/lerobot/reacher_expert at
   datasets/reacher_expert, it trains the ACT (dizoo_configs/reacher_act_config.py) whose encoder SAC starts
   from and the reward classifier (dizoo_configs/reacher_reward_classifier_config.py), each once.
   Pendulum from pixels: it records 30 demonstrations of the DI-engine pendulum SAC fixture
   (tests/fixtures/di-engine, greedy, acting on the state) with 32x32 frames and the state at
   datasets/pendulum_pixels_expert, then trains the BC model whose convolutions start SAC's conv encoders
   (dizoo_configs/pendulum_pixels_bc_config.py) and the reward classifier on frames and state
   (dizoo_configs/pendulum_pixels_reward_classifier_config.py).
2. It runs every arm with every seed for ``--env-step`` env steps (``ding -m serial``), ``--jobs`` at a time.
   A run whose result.json exists is not run again, so the bench can be stopped and started.
3. ``ding plot`` draws the env's own return (evaluator_step/env_reward_mean: Reacher's reward, also under the
   reward classifier) against env steps and prints, per arm, the median over seeds of the env steps at which
   the evaluation first reached ``--target``.

The arms are edits of the task's priors config (every prior: dizoo_configs/reacher_sac_priors_config.py,
pendulum_pixels_sac_priors_config.py), except ``scratch``: dizoo_configs/reacher_sac_config.py (DI-engine's
SAC: an MLP, 2,000 random warm-up steps) or pendulum_pixels_sac_config.py (1,000). The priors configs make
3,000 updates on the demonstrations before the first env step (``offline_dataset.pretrain_updates``); the
arms whose names end in ``_no_pretrain`` turn them off, as the priors were measured first.
``no_classifier_td3_bc`` pretrains with TD3+BC's actor loss. ``interventions_no_pretrain`` (every other prior),
``no_classifier_interventions`` and ``no_classifier_interventions_no_pretrain`` add the ding_lite Reacher SAC expert
(tests/fixtures/ding_lite/reacher_sac_expert) as an intervening controller: it acts where its action is more
than 0.5 (L2) from the agent's, at most 10 steps an episode (Reacher only). ``keep_env_reward`` is every
prior with the classifier's reward on successes and the env's own reward elsewhere (LeRobot's rule). Env
steps, not seconds, are compared, so runs may share the CPU.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DING = str(Path(sys.executable).parent / "ding")
CONFIGS = REPO / "dizoo_configs"
DEMOS = REPO / "tests" / "fixtures" / "lerobot" / "reacher_expert"
PENDULUM_EXPERT = REPO / "tests" / "fixtures" / "di-engine" / "pendulum_sac_seed0_best.pth.tar"
TAG = "evaluator_step/env_reward_mean"

EXPERT = REPO / "tests" / "fixtures" / "ding_lite" / "reacher_sac_expert" / "pretrained_model"
INTERVENTION = (f"main_config.policy.intervention = dict(pretrained_path={str(EXPERT)!r}, "
                "when=dict(rule='action_distance', threshold=0.5, max_per_episode=10))\n")  # fmt: skip

NO_CLASSIFIER = "main_config.env.pop('reward_classifier')\n"
NO_BC_PRETRAIN = "main_config.policy.pop('bc_pretrain')\n"
KEEP_ENV_REWARD = "main_config.env.reward_classifier.keep_env_reward = True\n"
TD3_BC = "main_config.policy.offline_dataset.pretrain_actor_loss = 'td3_bc'\n"
# the priors configs make 3,000 updates on the demonstrations before the first env step; the arms measured
# before pretraining existed (their names end in _no_pretrain) turn them off
NO_PRETRAIN = "main_config.policy.offline_dataset.pretrain_updates = 0\n"

# arm -> (base config, Python lines editing its main_config); {base}: the task's configs' name
ARMS: dict[str, tuple[str, str]] = {
    "scratch": ("{base}_config.py", ""),
    "all": ("{base}_priors_config.py", ""),
    "no_classifier": ("{base}_priors_config.py", NO_CLASSIFIER),
    "no_classifier_td3_bc": ("{base}_priors_config.py", NO_CLASSIFIER + TD3_BC),
    "keep_env_reward": ("{base}_priors_config.py", KEEP_ENV_REWARD),
    "all_td3_bc": ("{base}_priors_config.py", TD3_BC),
    "no_classifier_interventions": ("{base}_priors_config.py", NO_CLASSIFIER + INTERVENTION),
    "all_no_pretrain": ("{base}_priors_config.py", NO_PRETRAIN),
    "no_classifier_no_pretrain": ("{base}_priors_config.py", NO_CLASSIFIER + NO_PRETRAIN),
    "demos_classifier_no_pretrain": ("{base}_priors_config.py", NO_BC_PRETRAIN + NO_PRETRAIN),
    "no_demos": ("{base}_priors_config.py",
                 "main_config.policy.pop('offline_dataset')\nmain_config.policy.random_collect_size = 2000\n"),
    "demos_only_no_pretrain": ("{base}_priors_config.py", NO_CLASSIFIER + NO_BC_PRETRAIN + NO_PRETRAIN),
    "keep_env_reward_no_pretrain": ("{base}_priors_config.py", KEEP_ENV_REWARD + NO_PRETRAIN),
    "interventions_no_pretrain": ("{base}_priors_config.py", INTERVENTION + NO_PRETRAIN),
    "no_classifier_interventions_no_pretrain": ("{base}_priors_config.py",
                                                NO_CLASSIFIER + INTERVENTION + NO_PRETRAIN),
}  # fmt: skip


@dataclass(frozen=True)
class Task:
    base: str  # dizoo_configs/<base>_config.py is scratch, <base>_priors_config.py every prior
    arms: tuple[str, ...]  # run by default
    env_step: int
    target: float  # the env's own return, set before any run with priors
    title: str
    edits: str = ""  # Python lines editing every arm's main_config (after the arm's own)


TASKS = {
    "reacher": Task("reacher_sac", tuple(ARMS), 15000, -7.0, "Reacher-v5 SAC"),
    "pendulum_pixels": Task("pendulum_pixels_sac", ("scratch", "all", "no_classifier", "no_classifier_td3_bc",
                                                    "all_no_pretrain", "no_classifier_no_pretrain",
                                                    "demos_only_no_pretrain"), 30000,
                            -250.0, "pendulum from 32x32 frames and state, SAC"),
    # the same with one update per env step (DI-engine's config makes one per 10), evaluated every 1,000 env
    # steps as there
    "pendulum_pixels_ratio1": Task("pendulum_pixels_sac", ("scratch", "no_classifier_no_pretrain"), 20000, -250.0,
                                   "pendulum from 32x32 frames and state, SAC, 1 update per env step",
                                   "main_config.policy.learn.update_per_collect = 10\n"
                                   "main_config.policy.eval.evaluator.eval_freq = 1000\n"),
}  # fmt: skip


def write_arm_config(work: Path, task: Task, arm: str, seed: int) -> Path:
    base, edits = ARMS[arm]
    path = work / f"{arm}_seed{seed}_config.py"
    path.write_text(
        f"import runpy\n\n_base = runpy.run_path({str(CONFIGS / base.format(base=task.base))!r})\n"
        "main_config, create_config = _base['main_config'], _base['create_config']\n"
        f"main_config.exp_name = '{task.base}_{arm}_seed{seed}'\n" + edits + task.edits
    )
    return path


def ding(work: Path, *args: str) -> None:
    proc = subprocess.run([DING, "-q", *args], cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"ding {' '.join(args)} failed in {work}:\n{proc.stderr[-3000:]}")


def trained(work: Path, config: str) -> None:
    """``ding -m bc`` on ``dizoo_configs/<config>_config.py`` in ``work``, unless its export exists."""
    if not (work / f"{config}_seed0" / "checkpoints" / "best" / "pretrained_model").is_dir():
        ding(work, "-m", "bc", "-c", str(CONFIGS / f"{config}_config.py"), "-s", "0")


def prepare(work: Path, task: str) -> None:
    (work / "datasets").mkdir(parents=True, exist_ok=True)
    if task.startswith("pendulum_pixels"):
        record_pendulum_pixels(work / "datasets" / "pendulum_pixels_expert")
        trained(work, "pendulum_pixels_bc")
        trained(work, "pendulum_pixels_reward_classifier")
        return
    link = work / "datasets" / "reacher_expert"
    if not link.exists():
        link.symlink_to(DEMOS)
    if not (work / "reacher_act_seed0" / "checkpoints" / "last" / "pretrained_model").is_dir():
        ding(work, "-m", "bc", "-c", str(CONFIGS / "reacher_act_config.py"), "-s", "0")
    trained(work, "reacher_reward_classifier")


def record_pendulum_pixels(out: Path, episodes: int = 30) -> None:
    """``episodes`` demonstrations of the DI-engine pendulum SAC expert, acting greedily on the state, recorded
    from the pixels_state env of dizoo_configs/pendulum_pixels_sac_config.py (frames and state)."""
    if (out / "meta" / "info.json").exists():
        return
    from ding_lite.config import compile_config, read_config
    from ding_lite.entry.record import record
    from ding_lite.intervention.controller import acting_policy

    state_cfg = compile_config(read_config(CONFIGS / "pendulum_sac_config.py"), 0, save_cfg=False)
    expert = acting_policy(PENDULUM_EXPERT, state_cfg.policy).eval_mode

    def on_state(obs: Any) -> Any:
        return expert.forward(obs["state"])

    record(CONFIGS / "pendulum_pixels_sac_config.py", out, episodes, controller=on_state, task="swing up and hold",
           seed=100, quiet=True)  # fmt: skip


def run_arm(work: Path, task: Task, arm: str, seed: int, env_step: int) -> Path:
    exp = work / f"{task.base}_{arm}_seed{seed}"
    if not (exp / "result.json").exists():
        config = write_arm_config(work, task, arm, seed)
        ding(work, "-m", "serial", "-c", str(config), "-s", str(seed), "--env-step", str(env_step))
    return exp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--task", default="reacher", choices=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--env-step", type=int, default=None, help="per run (default: the task's)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--target", type=float, default=None, help="the env's own return (default: the task's)")
    parser.add_argument("--arms", nargs="+", default=None, choices=list(ARMS))
    args = parser.parse_args()
    work, task = args.work.resolve(), TASKS[args.task]
    env_step = args.env_step or task.env_step
    target = task.target if args.target is None else args.target
    prepare(work, args.task)
    jobs = [(arm, seed) for arm in args.arms or task.arms for seed in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(lambda job: run_arm(work, task, job[0], job[1], env_step), jobs))
    out = work / f"{args.task}_priors.png"
    plot = [DING, "plot", *map(str, runs), "--tag", TAG, "--target", str(target), "--out", str(out),
            "--title", f"{task.title}: env's own return, {len(args.seeds)} seeds"]  # fmt: skip
    subprocess.run(plot, check=True)


if __name__ == "__main__":
    main()
