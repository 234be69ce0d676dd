"""Env workers benchmark: collector-style throughput of the in-process manager against envs in worker processes.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/bench_env_workers.py              # about a minute
    .venv/bin/python bench/bench_env_workers.py --seconds 1  # quicker, noisier

For two envs, 8 copies each, random actions, no policy: env steps per second (one env step is one transition
of one env) of ``env_manager.type='base'`` (in-process) and ``'subprocess'`` with the 8 envs spread over 1, 2
and 8 worker processes (``env_manager.workers``). The envs:

- ``Reacher-v5`` (Gymnasium, MuJoCo): a cheap simulator, tens of microseconds a step;
- ``sleepy_cartpole``: cartpole that sleeps 2 ms in every step, like a real robot waiting for its hardware.

Each figure is the median of ``--repeats`` timed windows of ``--seconds`` each, after a warm-up; building the
workers is not timed. The machine's load average is printed before and after: other processes move every
figure. The last line is one JSON object with every measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

import numpy as np

from ding_lite.envs import CartPoleEnv, VectorEnvManager, make_env_manager, register_env
from ding_lite.envs.base import ListStepResult, StepResult

ENV_NUM = 8
SLEEP_S = 0.002
ENVS = {
    "Reacher-v5": {"type": "gymnasium", "env_id": "Reacher-v5"},
    "sleep 2 ms/step": {"type": "sleepy_cartpole"},
}
MANAGERS = {
    "in-process (base)": {"type": "base"},
    "subprocess, 1 worker": {"type": "subprocess", "workers": 1},
    "subprocess, 2 workers": {"type": "subprocess", "workers": 2},
    "subprocess, 8 workers": {"type": "subprocess"},  # the default: one per env
}


@register_env("sleepy_cartpole")
class SleepyCartPole(CartPoleEnv):
    """Cartpole whose every step waits 2 ms, as a robot waits for its next sensor reading."""

    def step(self, action: Any) -> StepResult:
        time.sleep(SLEEP_S)
        return super().step(action)

    def step_list(self, action: Any) -> ListStepResult:
        time.sleep(SLEEP_S)
        return super().step_list(action)


def steps_per_second(manager: VectorEnvManager, seconds: float, repeats: int) -> list[float]:
    spec, rng = manager.spec, np.random.default_rng(0)

    def actions() -> np.ndarray:
        if spec.action_kind == "discrete":
            return rng.integers(0, spec.action_shape, ENV_NUM)
        return rng.uniform(-1.0, 1.0, (ENV_NUM, spec.action_shape)).astype(np.float32)

    manager.seed(0)
    manager.reset()
    for _ in range(20):
        manager.step(actions())
    rates = []
    for _ in range(repeats):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            manager.step(actions())
            steps += ENV_NUM
        rates.append(steps / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed window")
    parser.add_argument("--repeats", type=int, default=3, help="timed windows per figure (the median is shown)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    results: dict[str, dict[str, Any]] = {}
    print(f"\n{'env':<17} {'manager':<24} {'env steps/s':>12} {'min..max':>17} {'vs in-process':>14}")
    for env_name, env_cfg in ENVS.items():
        results[env_name] = {}
        for manager_name, manager_cfg in MANAGERS.items():
            manager = make_env_manager(env_cfg, manager_cfg, ENV_NUM)
            try:
                rates = steps_per_second(manager, args.seconds, args.repeats)
            finally:
                manager.close()
            median = statistics.median(rates)
            results[env_name][manager_name] = {"median": median, "all": rates}
            base = results[env_name]["in-process (base)"]["median"]
            spread = f"{min(rates):,.0f}..{max(rates):,.0f}"
            print(f"{env_name:<17} {manager_name:<24} {median:>12,.0f} {spread:>17} {median / base:>13.2f}x")
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(json.dumps({"env_num": ENV_NUM, "seconds": args.seconds, "repeats": args.repeats, "results": results}))


if __name__ == "__main__":  # workers import this module (the sleepy env lives here): keep the guard
    main()
