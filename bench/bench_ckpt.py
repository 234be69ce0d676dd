"""Checkpoint speed: save time with a full replay buffer, resume start-up cost, periodic-save overhead.

Usage: .venv/bin/python bench/bench_ckpt.py [--repeats 5] [--quick]

Prints each figure next to its target (issues 3 and 4) and, as the last line, one JSON object.
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
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DING = str(Path(sys.executable).parent / "ding")


def write_config(directory: Path, base: str, name: str, **overrides: Any) -> Path:
    lines = [
        "import runpy",
        f"ns = runpy.run_path({str(REPO / 'dizoo_configs' / base)!r})",
        "main_config, create_config = ns['main_config'], ns['create_config']",
        f"main_config.exp_name = {name!r}",
        "main_config.env.stop_value = 1e9",
    ]
    for key, value in overrides.items():
        lines.append(f"main_config.{key} = {value!r}")
    path = directory / f"{name}_config.py"
    path.write_text("\n".join(lines) + "\n")
    return path


def fill_buffer(exp: Any, size: int) -> None:
    """Push ``size`` transitions shaped like the env's (random values) into the experiment's buffer."""
    spec = exp.collector_env.spec
    obs_dim, rng = spec.obs_shape[0], np.random.default_rng(0)
    discrete = spec.action_kind == "discrete"
    batch = {
        "obs": rng.standard_normal((size, obs_dim)).astype(np.float32),
        "action": rng.integers(0, spec.action_shape, size)
        if discrete
        else rng.uniform(-1, 1, (size, spec.action_shape)).astype(np.float32),
        "reward": rng.standard_normal(size).astype(np.float32),
        "gamma_n": np.full(size, 0.99, dtype=np.float32),
        "done": np.zeros(size, dtype=bool),
        "next_obs": rng.standard_normal((size, obs_dim)).astype(np.float32),
    }
    exp.buffer.push(batch)


def save_times(base: str, buffer_size: int, repeats: int, workdir: Path) -> dict[str, Any]:
    """Median time of ``learner.save_checkpoint()`` with a full buffer (in-process, after one warm-up save)."""
    from ding_lite.entry.build import build_experiment

    os.chdir(workdir)
    config = write_config(workdir, base, f"save_{base.split('_')[0]}")
    exp = build_experiment(str(config), 0, quiet=True)
    exp.start()
    fill_buffer(exp, buffer_size)
    exp.learner.save_checkpoint("warmup.pth.tar")
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        path = exp.learner.save_checkpoint(f"bench_{i}.pth.tar")
        times.append(time.perf_counter() - start)
    size = path.stat().st_size
    start = time.perf_counter()
    from ding_lite.checkpoint.io import load_checkpoint

    load_checkpoint(path)
    load_s = time.perf_counter() - start
    exp.close()
    return {
        "buffer": len(exp.buffer),
        "save_ms_median": 1e3 * statistics.median(times),
        "save_ms_all": [round(1e3 * t, 1) for t in times],
        "file_mb": size / 1e6,
        "load_ms": 1e3 * load_s,
    }


def run(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def resume_overhead(repeats: int, workdir: Path) -> dict[str, Any]:
    """Whole-process time for 20 train iterations: a fresh start vs ``--resume`` from a DQN checkpoint at
    iteration 1000 (both log to TensorBoard, evaluate at most once and write a final checkpoint)."""
    hook = {"save_ckpt_after_iter": 0}
    config = write_config(workdir, "cartpole_dqn_config.py", "resume", **{"policy.learn.learner": {"hook": hook}})
    base = [DING, "-q", "-m", "serial", "-c", str(config), "-s", "0"]
    run([*base, "--train-iter", "1000"], workdir)
    snapshot = (workdir / "resume" / "ckpt" / "iteration_1000.pth.tar").read_bytes()
    fresh, resumed = [], []
    for i in range(repeats):
        fresh_dir = workdir / f"fresh_{i}"
        fresh_dir.mkdir()
        fresh.append(run([*base, "--train-iter", "20"], fresh_dir))
        (workdir / "resume" / "ckpt" / "iteration_1000.pth.tar").write_bytes(snapshot)
        (workdir / "resume" / "ckpt" / "latest").write_text("iteration_1000.pth.tar\n")
        resumed.append(run([*base, "--train-iter", "1020", "--resume"], workdir))
    return {
        "fresh_s": fresh,
        "resume_s": resumed,
        "added_s": statistics.median(resumed) - statistics.median(fresh),
    }


def child_cpu(cmd: list[str], cwd: Path) -> float:
    """User + system CPU seconds of one child process (less disturbed by other load than wall time)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"{cmd} failed with status {status}")
    return usage.ru_utime + usage.ru_stime


def periodic_overhead(repeats: int, iterations: int, workdir: Path) -> dict[str, Any]:
    """DQN training with and without a checkpoint every 100 iterations, runs alternating: whole-process CPU
    time (the figure) and in-process wall time (result.json wall_time_s, disturbed by other load)."""
    cpu: dict[str, list[float]] = {"every_100": [], "never": []}
    wall: dict[str, list[float]] = {"every_100": [], "never": []}
    for i in range(repeats):
        for label, freq in (("never", 0), ("every_100", 100)):
            name = f"periodic_{label}_{i}"
            hook = {"save_ckpt_after_iter": freq, "save_ckpt_after_run": False}
            config = write_config(workdir, "cartpole_dqn_config.py", name, **{"policy.learn.learner": {"hook": hook}})
            cmd = [DING, "-q", "-m", "serial", "-c", str(config), "-s", "0", "--train-iter", str(iterations)]
            cpu[label].append(child_cpu(cmd, workdir))
            wall[label].append(json.loads((workdir / name / "result.json").read_text())["wall_time_s"])
    never, every = statistics.median(cpu["never"]), statistics.median(cpu["every_100"])
    return {
        "iterations": iterations,
        "cpu_s": cpu,
        "wall_s": wall,
        "slowdown_pct": 100.0 * (every - never) / never,
        "wall_slowdown_pct": 100.0
        * (statistics.median(wall["every_100"]) - statistics.median(wall["never"]))
        / statistics.median(wall["never"]),
    }


def save_share(iterations: int, workdir: Path) -> dict[str, Any]:
    """In-process: the share of a DQN run's wall time spent writing its every-100-iteration checkpoints
    (timed around each write), which is the cost periodic checkpointing adds, free of run-to-run noise."""
    from ding_lite.entry.serial_entry import serial_pipeline
    from ding_lite.learner.base_learner import BaseLearner

    os.chdir(workdir)
    hook = {"save_ckpt_after_iter": 100, "save_ckpt_after_run": False}
    config = write_config(workdir, "cartpole_dqn_config.py", "share", **{"policy.learn.learner": {"hook": hook}})
    original = BaseLearner._write_checkpoint
    spent: list[float] = []

    def timed(self: BaseLearner, name: str) -> Path:
        start = time.perf_counter()
        try:
            return original(self, name)
        finally:
            if name.startswith("iteration_"):
                spent.append(time.perf_counter() - start)

    BaseLearner._write_checkpoint = timed  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        serial_pipeline(str(config), 0, max_train_iter=iterations, quiet=True)
        total = time.perf_counter() - start
    finally:
        BaseLearner._write_checkpoint = original  # type: ignore[method-assign]
    return {
        "saves": len(spent),
        "save_s": sum(spent),
        "run_s": total,
        "share_pct": 100.0 * sum(spent) / (total - sum(spent)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    print(f"load average at start: {os.getloadavg()}")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for label, base, size in (
            ("dqn_20k", "cartpole_dqn_config.py", 20000),
            ("sac_100k", "pendulum_sac_config.py", 100000),
        ):
            (root / label).mkdir()
            results[f"save_{label}"] = save_times(base, size, max(repeats, 3), root / label)
        os.chdir(REPO)
        (root / "resume").mkdir()
        results["resume"] = resume_overhead(repeats, root / "resume")
        (root / "share").mkdir()
        results["save_share"] = save_share(600 if args.quick else 3000, root / "share")
        os.chdir(REPO)
        (root / "periodic").mkdir()
        results["periodic"] = periodic_overhead(
            max(1, repeats // 2 + 1), 600 if args.quick else 3000, root / "periodic"
        )
    r = results
    rows = [
        ("save DQN ckpt, 20k-transition buffer", f"{r['save_dqn_20k']['save_ms_median']:.1f} ms", "<= 50 ms"),
        ("save SAC ckpt, 100k-transition buffer", f"{r['save_sac_100k']['save_ms_median']:.1f} ms", "<= 300 ms"),
        ("--resume start-up added", f"{r['resume']['added_s']:.2f} s", "<= 0.5 s"),
        ("DQN time in periodic saves (in-process)", f"{r['save_share']['share_pct']:.1f} %", "<= 5 %"),
        ("DQN slowdown, ckpt every 100 iters (CPU)", f"{r['periodic']['slowdown_pct']:.1f} %", "<= 5 %"),
        ("  same, in-process wall time", f"{r['periodic']['wall_slowdown_pct']:.1f} %", "(noisy)"),
    ]
    print(f"load average at end: {os.getloadavg()}")
    for name, value, target in rows:
        print(f"{name:<42} {value:>10}   target {target}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
