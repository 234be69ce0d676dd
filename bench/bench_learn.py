"""Cost of one train iteration (policy update) with the torch and the NumPy learning backends.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/bench_learn.py            # PPO, DQN and SAC, both backends
    .venv/bin/python bench/bench_learn.py --updates 200

Each policy is built from its dizoo config (``cartpole_ppo``, ``cartpole_dqn``, ``pendulum_sac``) with
``policy.learn.backend`` set, one compute thread as in training, and updated on batches of the config's
``batch_size`` (PPO: the minibatches of one collected rollout, cycled). After a warm-up, ``--updates``
updates are timed; the median of 5 repeats is printed in microseconds per update, with wall and CPU time
(CPU time is the steadier figure on a shared machine). The last line is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ding_lite.config import compile_config, read_config
from ding_lite.policy import POLICY_REGISTRY, Policy
from ding_lite.utils.threads import single_thread_compute

CONFIGS = Path(__file__).resolve().parent.parent / "dizoo_configs"
CASES = {"ppo": "cartpole_ppo", "dqn": "cartpole_dqn", "sac": "pendulum_sac"}


def build(config: str, backend: str) -> tuple[Any, Policy]:
    main, create = read_config(CONFIGS / f"{config}_config.py")
    main["policy"]["learn"]["backend"] = backend
    cfg = compile_config((main, create), save_cfg=False)
    torch.manual_seed(0)
    return cfg, POLICY_REGISTRY.get(str(cfg.policy.type))(cfg.policy)


def ppo_batches(cfg: Any, policy: Policy) -> Iterator[Mapping[str, torch.Tensor]]:
    """The minibatches of one rollout after another (a fresh random rollout each time, so nothing diverges)."""
    rng = np.random.default_rng(0)
    steps, envs = 32, 8  # n_sample 256 from 8 envs, as the cartpole config collects
    while True:
        rollout = {
            "obs": rng.standard_normal((steps, envs, 4)).astype(np.float32),
            "action": rng.integers(0, 2, (steps, envs)),
            "reward": np.ones((steps, envs), dtype=np.float32),
            "done": rng.random((steps, envs)) < 0.05,
            "next_obs": rng.standard_normal((steps, envs, 4)).astype(np.float32),
        }
        yield from policy.learn_mode.train_batches(rollout)


def replay_batches(cfg: Any, policy: Policy) -> Iterator[Mapping[str, torch.Tensor]]:
    size = int(cfg.policy.learn.batch_size)
    obs_dim, act_dim = int(cfg.policy.model.obs_shape), int(cfg.policy.model.action_shape)
    gen = torch.Generator().manual_seed(0)
    batches = []
    for _ in range(16):
        batch = {
            "obs": torch.randn(size, obs_dim, generator=gen),
            "next_obs": torch.randn(size, obs_dim, generator=gen),
            "reward": torch.randn(size, generator=gen),
            "done": torch.rand(size, generator=gen) < 0.05,
            "gamma_n": torch.full((size,), 0.97),
        }
        if cfg.policy.type == "sac":
            batch["action"] = torch.rand(size, act_dim, generator=gen) * 2 - 1
        else:
            batch["action"] = torch.randint(0, act_dim, (size,), generator=gen)
        batches.append(batch)
    while True:
        yield from batches


def time_updates(forward: Callable[[Any], Any], batches: Iterator[Any], updates: int) -> tuple[float, float]:
    """Wall and CPU microseconds per update over ``updates`` updates."""
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(updates):
        forward(next(batches))
    return ((time.perf_counter() - start_wall) / updates * 1e6, (time.process_time() - start_cpu) / updates * 1e6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    single_thread_compute()
    results: dict[str, dict[str, Any]] = {}
    print(f"{'policy':8} {'backend':8} {'wall us/update':>15} {'cpu us/update':>15}")
    for name, config in CASES.items():
        for backend in ("torch", "numpy"):
            cfg, policy = build(config, backend)
            batches = ppo_batches(cfg, policy) if name == "ppo" else replay_batches(cfg, policy)
            forward = policy.learn_mode.forward
            time_updates(forward, batches, 50)  # warm-up
            walls, cpus = zip(*(time_updates(forward, batches, args.updates) for _ in range(args.repeats)))
            wall, cpu = statistics.median(walls), statistics.median(cpus)
            results.setdefault(name, {})[backend] = {"wall_us": round(wall, 1), "cpu_us": round(cpu, 1),
                                                     "all_wall_us": [round(w, 1) for w in walls]}  # fmt: skip
            print(f"{name:8} {backend:8} {wall:15.0f} {cpu:15.0f}")
        speedup = results[name]["torch"]["cpu_us"] / results[name]["numpy"]["cpu_us"]
        results[name]["speedup_cpu"] = round(speedup, 2)
        print(f"{name:8} numpy is {speedup:.1f}x faster (CPU time)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
