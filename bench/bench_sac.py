"""Pendulum SAC to -250, whole process (issue 4's speed figure; DI-engine 0.5.3 takes 36 s).

Usage: .venv/bin/python bench/bench_sac.py [--runs 3]

Each run: `ding -q -m serial -c dizoo_configs/pendulum_sac_config.py -s 0` in a fresh temporary
directory, timed from start to exit, with the child's CPU time and peak RSS. Prints a table and a JSON line.
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

REPO = Path(__file__).resolve().parent.parent
DING = str(Path(sys.executable).parent / "ding")


def one_run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cmd = [DING, "-q", "-m", "serial", "-c", str(REPO / "dizoo_configs" / "pendulum_sac_config.py"), "-s", "0"]
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        result = json.loads((Path(tmp) / "pendulum_sac_seed0" / "result.json").read_text())
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "exit_status": status,
        "stop": result["stop"],
        "train_iter": result["train_iter"],
        "env_step": result["env_step"],
        "in_process_s": result["wall_time_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    runs = [one_run() for _ in range(args.runs)]
    print(f"load average at end: {os.getloadavg()}")
    for i, run in enumerate(runs):
        print(f"run {i}: " + ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in run.items()))
    median = statistics.median(r["wall_s"] for r in runs)
    print(f"pendulum SAC to -250, whole process: median {median:.1f} s (target <= 15 s; DI-engine 0.5.3: 36 s)")
    print(json.dumps({"runs": runs, "median_wall_s": median}))


if __name__ == "__main__":
    main()
