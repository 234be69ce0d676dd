"""Pendulum behaviour cloning, end to end (issue 11's pendulum figure: -300 or better over 50 episodes).

Usage: .venv/bin/python bench/bench_bc.py [--seed 0]

In a fresh temporary directory, with the ``ding`` command as a user runs it:
1. ``ding -m serial`` trains the dizoo pendulum SAC expert to its stop value (-250);
2. ``ding record`` records 50 greedy episodes of it (10,000 frames);
3. ``ding -m bc`` trains ``dizoo_configs/pendulum_bc_config.py`` on them (3,000 updates, whole process
   timed);
4. ``ding -m eval`` plays the expert and the best and last BC models for 50 episodes each.
Prints the mean returns, the BC training time and the validation losses, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DING = str(Path(sys.executable).parent / "ding")


def ding(*args: str, cwd: Path) -> str:
    proc = subprocess.run([DING, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"ding {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def mean_return(output: str) -> float:
    found = re.search(r"mean return (-?[\d.]+) over (\d+) episodes", output)
    assert found, output
    return float(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seed = str(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("pendulum_sac_config.py", "pendulum_bc_config.py"):
            shutil.copy(REPO / "dizoo_configs" / name, work / name)
        for name in ("pendulum_sac", "pendulum_bc"):
            text = (work / f"{name}_config.py").read_text().replace("n_evaluator_episode=5", "n_evaluator_episode=50")
            (work / f"{name}_eval50.py").write_text(text)
        ding("-m", "serial", "-c", "pendulum_sac_config.py", "-s", seed, "-q", cwd=work)
        expert = "pendulum_sac_seed0/ckpt/ckpt_best.pth.tar"
        ding("record", "-c", "pendulum_sac_config.py", "--load-path", expert, "--episodes", "50",
             "--out", "datasets/pendulum_expert", "-s", seed, "-q", cwd=work)  # fmt: skip
        start = time.perf_counter()
        ding("-m", "bc", "-c", "pendulum_bc_config.py", "-s", seed, "-q", cwd=work)
        bc_seconds = time.perf_counter() - start
        result = json.loads((work / "pendulum_bc_seed0" / "result.json").read_text())
        eval_args = ["-m", "eval", "-c", "pendulum_bc_eval50.py", "-s", seed, "--load-path"]
        expert_args = ["-m", "eval", "-c", "pendulum_sac_eval50.py", "-s", seed, "--load-path"]
        figures = {
            "expert_return_50": mean_return(ding(*expert_args, expert, cwd=work)),
            "bc_best_return_50": mean_return(
                ding(*eval_args, "pendulum_bc_seed0/checkpoints/best/pretrained_model", cwd=work)
            ),
            "bc_last_return_50": mean_return(
                ding(*eval_args, "pendulum_bc_seed0/checkpoints/last/pretrained_model", cwd=work)
            ),
            "bc_train_whole_process_s": bc_seconds,
            "bc_updates": result["train_iter"],
            "best_validation_loss": result["best_validation_loss"],
        }
    print(f"expert (SAC) mean return over 50 episodes: {figures['expert_return_50']:.1f}")
    print(f"BC best / last mean return over 50 episodes: {figures['bc_best_return_50']:.1f} / "
          f"{figures['bc_last_return_50']:.1f} (target -300 or better)")  # fmt: skip
    print(f"BC training: {figures['bc_updates']} updates in {figures['bc_train_whole_process_s']:.1f} s whole process")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
