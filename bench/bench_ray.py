"""Ray actor/learner against the serial loop on one machine: env steps/s and updates/s (issue 13 part 4).

Run from the repository root with the project's virtualenv (Ray installed: ``pip install -e '.[ray]'``)::

    .venv/bin/python bench/bench_ray.py                        # Reacher SAC, 3,000 env steps each
    .venv/bin/python bench/bench_ray.py --env cartpole --env-steps 5000 --actors 2
    .venv/bin/python bench/bench_ray.py --env sleepy_cartpole --env-steps 5000   # 2 ms a step, like a robot

Each mode trains from scratch with ``ding``'s serial entry, in process, until ``--env-steps`` env steps:
``serial`` (the collector in the training process) and ``ray`` (``policy.distributed.engine='ray'`` with
``--actors`` actors). The stop value is never reached and evaluation happens once, before the first
update; the random warm-up is one batch. ``sleepy_cartpole`` is cartpole DQN on the env of
bench/bench_env_workers.py that sleeps 2 ms in every step (the actors import it from this directory). Ray
is started once by this script (so its start-up is in no figure) and reused by both modes.

Two figures per mode: *steady* rates between the first and the last train iteration (a learner hook
records time, ``train_iter`` and ``env_step`` at each), and *whole* rates over the pipeline call
(building, actor start-up, the final checkpoint included). The machine's load average is printed: other
processes move every figure. The last line is one JSON object with every measurement.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from ding_lite.config import read_config
from ding_lite.entry import serial_entry
from ding_lite.learner import BaseLearner
from ding_lite.learner.hooks import LearnerHook

REPO = Path(__file__).resolve().parent.parent
CONFIGS = {
    "reacher": REPO / "dizoo_configs" / "reacher_sac_config.py",
    "cartpole": REPO / "dizoo_configs" / "cartpole_dqn_config.py",
    "sleepy_cartpole": REPO / "dizoo_configs" / "cartpole_dqn_config.py",
}


class Clock(LearnerHook):
    """(time, train_iter, env_step) at the first and at the latest train iteration."""

    def __init__(self) -> None:
        super().__init__("bench_clock", "after_iter")
        self.first: tuple[float, int, int] | None = None
        self.last: tuple[float, int, int] | None = None

    def __call__(self, learner: BaseLearner) -> None:
        self.last = (time.perf_counter(), learner.train_iter, learner.env_step)
        if self.first is None:
            self.first = self.last


def run(env: str, engine: str, env_steps: int, actors: int, push_every_s: float) -> dict[str, Any]:
    main, create = read_config(CONFIGS[env])
    main["exp_name"] = f"bench_{env}_{engine}"
    if env == "sleepy_cartpole":  # registered by bench_env_workers, on the actors' PYTHONPATH (main())
        create["env"] = dict(type="sleepy_cartpole", import_names=["bench_env_workers"])
    main["env"]["stop_value"] = 1e9
    main["policy"]["random_collect_size"] = int(main["policy"]["learn"]["batch_size"])
    main["policy"]["eval"]["evaluator"]["eval_freq"] = 10**9  # once, at train_iter 0
    if engine == "ray":
        main["policy"]["distributed"] = dict(engine="ray", n_actors=actors, weight_push_every_s=push_every_s)
    clock = Clock()
    build = serial_entry.build_experiment

    def build_with_clock(*args: Any, **kwargs: Any) -> Any:
        exp = build(*args, **kwargs)
        exp.learner.register_hook(clock)
        return exp

    serial_entry.build_experiment = build_with_clock  # type: ignore[assignment]
    cwd = os.getcwd()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            start = time.perf_counter()
            serial_entry.serial_pipeline((main, create), 0, max_env_step=env_steps, quiet=True)
            whole_s = time.perf_counter() - start
            result = json.loads(Path(tmp, main["exp_name"], "result.json").read_text())
    finally:
        os.chdir(cwd)
        serial_entry.build_experiment = build
    assert clock.first is not None and clock.last is not None, "no train iteration happened"
    window = max(clock.last[0] - clock.first[0], 1e-9)
    return {
        "env": env,
        "engine": engine,
        "actors": actors if engine == "ray" else 0,
        "env_step": result["env_step"],
        "train_iter": result["train_iter"],
        "steady_env_steps_per_s": round((clock.last[2] - clock.first[2]) / window, 1),
        "steady_updates_per_s": round((clock.last[1] - clock.first[1]) / window, 1),
        "whole_s": round(whole_s, 2),
        "whole_env_steps_per_s": round(result["env_step"] / whole_s, 1),
        "whole_updates_per_s": round(result["train_iter"] / whole_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", choices=sorted(CONFIGS), default="reacher")
    parser.add_argument("--env-steps", type=int, default=3000, help="budget of each run, in env steps")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--push-every-s", type=float, default=1.0, help="policy.distributed.weight_push_every_s")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import ray

    here = str(Path(__file__).resolve().parent)  # the actors import bench_env_workers (sleepy_cartpole) from here
    ray.init(num_cpus=max(os.cpu_count() or 1, args.actors), include_dashboard=False, logging_level=logging.WARNING,
             runtime_env={"env_vars": {"PYTHONPATH": here}})  # fmt: skip
    print(f"load average before: {os.getloadavg()}")
    rows = [run(args.env, engine, args.env_steps, args.actors, args.push_every_s) for engine in ("serial", "ray")]
    print(f"load average after:  {os.getloadavg()}")
    ray.shutdown()
    print(f"{'mode':<10} {'env_step':>9} {'train_iter':>10} {'steady steps/s':>15} {'steady updates/s':>17} "
          f"{'whole s':>8} {'whole steps/s':>14} {'whole updates/s':>16}")  # fmt: skip
    for row in rows:
        mode = "serial" if row["engine"] == "serial" else f"ray x{row['actors']}"
        print(f"{mode:<10} {row['env_step']:>9} {row['train_iter']:>10} {row['steady_env_steps_per_s']:>15} "
              f"{row['steady_updates_per_s']:>17} {row['whole_s']:>8} {row['whole_env_steps_per_s']:>14} "
              f"{row['whole_updates_per_s']:>16}")  # fmt: skip
    print(json.dumps({"bench": "ray", "budget_env_steps": args.env_steps, "runs": rows}))


if __name__ == "__main__":
    main()
