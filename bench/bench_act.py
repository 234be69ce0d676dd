"""ACT training speed, export and inference (issue 11's speed figures).

Usage: .venv/bin/python bench/bench_act.py [--runs 3]

1. Training, whole process: ``ding -m bc`` of an ACT like the one LeRobot's ``lerobot-train`` runs at
   about 13 updates/s here (dim_model 96, chunk_size 8, batch 32, 1,500 steps: 125 s whole process on
   this machine, 44 ms of data loading and 32 ms of update per step). The other hyperparameters are those
   of the fixture's ACT (4 heads, feed-forward 128, 2 encoder layers, 1 decoder layer, a 2-layer VAE,
   latent 16). It runs on the LeRobot Reacher fixture, started in a fresh temporary directory, timed from
   start to exit. The best validation loss is checked once, at the end. Median of ``--runs``.
2. Export: ``save_pretrained`` of that model (LeRobot's six files), median of 20.
3. Inference: ``select_action`` of the fixture's LeRobot ACT (chunks of 10 executed open loop) per step,
   one thread, median over 2,000 steps.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
DING = str(Path(sys.executable).parent / "ding")
FIXTURE = REPO / "tests" / "fixtures" / "lerobot"
LEROBOT_SECONDS = 125.0

CONFIG = f"""
main_config = dict(
    exp_name='act_speed',
    dataset=dict(root={str(FIXTURE / "reacher_expert")!r}, val_ratio=0.1),
    env=dict(env_id='Reacher-v5', collector_env_num=1, evaluator_env_num=1, n_evaluator_episode=1),
    policy=dict(
        model=dict(chunk_size=8, n_action_steps=8, dim_model=96, n_heads=4, dim_feedforward=128, n_encoder_layers=2,
                   n_decoder_layers=1, latent_dim=16, n_vae_encoder_layers=2),
        learn=dict(batch_size=32, learning_rate=1e-3, val_freq=1500,
                   learner=dict(train_iterations=1500, hook=dict(save_ckpt_after_iter=0))),
    ),
)
create_config = dict(env=dict(type='gymnasium'), env_manager=dict(type='base'), policy=dict(type='act'))
"""


def train_once() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "act.py").write_text(CONFIG)
        start = time.perf_counter()
        proc = subprocess.Popen([DING, "-q", "-m", "bc", "-c", "act.py", "-s", "0"], cwd=tmp,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"ding -m bc failed: {proc.stderr.read().decode() if proc.stderr else ''}")
        result = json.loads((Path(tmp) / "act_speed" / "result.json").read_text())
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "updates": result["train_iter"],
            "in_process_s": result["wall_time_s"], "best_validation_loss": result["best_validation_loss"]}  # fmt: skip


def export_ms() -> float:
    from ding_lite.act.policy import ACTPolicy

    policy = ACTPolicy.from_pretrained(FIXTURE / "act_reacher" / "pretrained_model")
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(20):
            start = time.perf_counter()
            policy.save_pretrained(Path(tmp) / f"export{i}")
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def select_action_ms() -> float:
    from ding_lite.act.policy import ACTPolicy

    torch.set_num_threads(1)
    policy = ACTPolicy.from_pretrained(FIXTURE / "act_reacher" / "pretrained_model")
    reference = np.load(FIXTURE / "act_reacher" / "reference_actions.npz")
    times = []
    for step in range(2000):
        row = step % len(reference["observation_state"])
        batch = {
            "observation.state": torch.from_numpy(reference["observation_state"][row : row + 1]),
            "observation.environment_state": torch.from_numpy(
                reference["observation_environment_state"][row : row + 1]
            ),
        }
        start = time.perf_counter()
        policy.select_action(batch)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    runs = [train_once() for _ in range(args.runs)]
    figures = {"train_runs": runs, "train_median_wall_s": statistics.median(r["wall_s"] for r in runs),
               "export_ms": export_ms(), "select_action_ms": select_action_ms()}  # fmt: skip
    print(f"load average at end: {os.getloadavg()}")
    wall = figures["train_median_wall_s"]
    ratio = LEROBOT_SECONDS / wall
    print(f"ACT (dim 96, chunk 8, batch 32) 1,500 updates, whole process: {wall:.1f} s ")
    print(f"  {ratio:.1f}x faster than lerobot-train's {LEROBOT_SECONDS:.0f} s (target 5x)")
    print(f"export pretrained_model/: {figures['export_ms']:.1f} ms (target < 100 ms)")
    print(f"select_action: {figures['select_action_ms']:.3f} ms per step (target < 2 ms)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
