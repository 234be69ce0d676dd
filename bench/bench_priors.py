"""SAC on Reacher-v5 from scratch against SAC with priors (issue 12's claim), and an ablation.

Usage: .venv/bin/python bench/bench_priors.py --work /tmp/priors [--seeds 0 1 2] [--env-step 15000] [--jobs 2]
                                              [--target -7.0] [--arms scratch all ...]

1. In ``--work``, with the Reacher demonstrations of tests/fixtures/lerobot/reacher_expert at
   datasets/reacher_expert, it trains the ACT (dizoo_configs/reacher_act_config.py) whose encoder SAC starts
   from and the reward classifier (dizoo_configs/reacher_reward_classifier_config.py), each once.
2. It runs every arm with every seed for ``--env-step`` env steps (``ding -m serial``), ``--jobs`` at a time.
   A run whose result.json exists is not run again, so the bench can be stopped and started.
3. ``ding plot`` draws the env's own return (evaluator_step/env_reward_mean: Reacher's reward, also under the
   reward classifier) against env steps and prints, per arm, the median over seeds of the env steps at which
   the evaluation first reached ``--target``.

The arms are edits of dizoo_configs/reacher_sac_priors_config.py (all priors), except ``scratch``, which is
dizoo_configs/reacher_sac_config.py (DI-engine's SAC: an MLP, 2,000 random warm-up steps).
``interventions`` (all priors) and ``no_classifier_interventions`` add the ding_lite Reacher SAC expert
(tests/fixtures/ding_lite/reacher_sac_expert) as an intervening controller: it acts where its action is more
than 0.5 (L2) from the agent's, at most 10 steps an episode. Env steps, not
seconds, are compared, so runs may share the CPU.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DING = str(Path(sys.executable).parent / "ding")
CONFIGS = REPO / "dizoo_configs"
DEMOS = REPO / "tests" / "fixtures" / "lerobot" / "reacher_expert"
TAG = "evaluator_step/env_reward_mean"

EXPERT = REPO / "tests" / "fixtures" / "ding_lite" / "reacher_sac_expert" / "pretrained_model"
INTERVENTION = (f"main_config.policy.intervention = dict(pretrained_path={str(EXPERT)!r}, "
                "when=dict(rule='action_distance', threshold=0.5, max_per_episode=10))\n")  # fmt: skip

# arm -> (base config, Python lines editing its main_config)
ARMS: dict[str, tuple[str, str]] = {
    "scratch": ("reacher_sac_config.py", ""),
    "all": ("reacher_sac_priors_config.py", ""),
    "no_classifier": ("reacher_sac_priors_config.py", "main_config.env.pop('reward_classifier')\n"),
    "no_bc_pretrain": ("reacher_sac_priors_config.py", "main_config.policy.pop('bc_pretrain')\n"),
    "no_demos": ("reacher_sac_priors_config.py",
                 "main_config.policy.pop('offline_dataset')\nmain_config.policy.random_collect_size = 2000\n"),
    "demos_only": ("reacher_sac_priors_config.py",
                   "main_config.env.pop('reward_classifier')\nmain_config.policy.pop('bc_pretrain')\n"),
    "interventions": ("reacher_sac_priors_config.py", INTERVENTION),
    "no_classifier_interventions": ("reacher_sac_priors_config.py",
                                    "main_config.env.pop('reward_classifier')\n" + INTERVENTION),
}  # fmt: skip


def write_arm_config(work: Path, arm: str, seed: int) -> Path:
    base, edits = ARMS[arm]
    path = work / f"{arm}_seed{seed}_config.py"
    path.write_text(
        f"import runpy\n\n_base = runpy.run_path({str(CONFIGS / base)!r})\n"
        "main_config, create_config = _base['main_config'], _base['create_config']\n"
        f"main_config.exp_name = 'reacher_sac_{arm}_seed{seed}'\n" + edits
    )
    return path


def ding(work: Path, *args: str) -> None:
    proc = subprocess.run([DING, "-q", *args], cwd=work, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"ding {' '.join(args)} failed in {work}:\n{proc.stderr[-3000:]}")


def prepare(work: Path) -> None:
    (work / "datasets").mkdir(parents=True, exist_ok=True)
    link = work / "datasets" / "reacher_expert"
    if not link.exists():
        link.symlink_to(DEMOS)
    if not (work / "reacher_act_seed0" / "checkpoints" / "last" / "pretrained_model").is_dir():
        ding(work, "-m", "bc", "-c", str(CONFIGS / "reacher_act_config.py"), "-s", "0")
    if not (work / "reacher_reward_classifier_seed0" / "checkpoints" / "best" / "pretrained_model").is_dir():
        ding(work, "-m", "bc", "-c", str(CONFIGS / "reacher_reward_classifier_config.py"), "-s", "0")


def run_arm(work: Path, arm: str, seed: int, env_step: int) -> Path:
    exp = work / f"reacher_sac_{arm}_seed{seed}"
    if not (exp / "result.json").exists():
        config = write_arm_config(work, arm, seed)
        ding(work, "-m", "serial", "-c", str(config), "-s", str(seed), "--env-step", str(env_step))
    return exp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--env-step", type=int, default=15000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--target", type=float, default=-7.0)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    args = parser.parse_args()
    work = args.work.resolve()
    prepare(work)
    jobs = [(arm, seed) for arm in args.arms for seed in args.seeds]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = list(pool.map(lambda job: run_arm(work, job[0], job[1], args.env_step), jobs))
    out = work / "reacher_priors.png"
    plot = [DING, "plot", *map(str, runs), "--tag", TAG, "--target", str(args.target), "--out", str(out),
            "--title", f"Reacher-v5 SAC: env's own return, {len(args.seeds)} seeds"]  # fmt: skip
    subprocess.run(plot, check=True)


if __name__ == "__main__":
    main()
