"""The ``ding`` command (alias ``ding-lite``), DI-engine style.

    ding -m serial|serial_onpolicy|eval -c CONFIG.py -s SEED [-s SEED ...]
         [--train-iter N] [--env-step N] [--load-path CKPT]

With several seeds each runs in turn; an experiment name containing ``seed<k>`` gets the run's seed
substituted (``cartpole_dqn_seed0`` -> ``cartpole_dqn_seed1``), any other gets ``_seed<k>`` appended.
User mistakes print one line (``ding: error: ...``) and exit with status 2; bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import copy
import logging
import re
import sys
from collections.abc import Sequence
from typing import Any

MODES = ("serial", "serial_onpolicy", "eval")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ding", description="ding_lite: DI-engine-style RL with trustworthy checkpoints"
    )
    parser.add_argument("-m", "--mode", required=True, choices=MODES, help="serial (off-policy), serial_onpolicy, eval")
    parser.add_argument("-c", "--config", required=True, help="config file defining main_config and create_config")
    parser.add_argument("-s", "--seed", type=int, action="append", help="seed (repeat for one run per seed; default 0)")
    parser.add_argument("--train-iter", type=int, default=int(1e10), help="stop after this many train iterations")
    parser.add_argument("--env-step", type=int, default=int(1e10), help="stop after this many collector env steps")
    parser.add_argument("--load-path", default=None, help="checkpoint to evaluate (eval) or to load before training")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return parser


def exp_name_for_seed(exp_name: str, seed: int) -> str:
    if re.search(r"seed\d+", exp_name):
        return re.sub(r"seed\d+", f"seed{seed}", exp_name)
    return f"{exp_name}_seed{seed}"


def run(args: argparse.Namespace) -> int:
    from ding_lite.entry import eval_pipeline, serial_pipeline, serial_pipeline_onpolicy

    from ding_lite.config import read_config

    main, create = read_config(args.config)
    source = f"'{args.config}'"
    seeds = args.seed or [0]
    for seed in seeds:
        run_main = copy.deepcopy(main)
        if len(seeds) > 1:
            run_main["exp_name"] = exp_name_for_seed(str(main.get("exp_name", "default_experiment")), seed)
        if args.mode == "eval":
            result = eval_pipeline((run_main, create), seed, load_path=args.load_path, source=source)
            print(
                f"eval {result['ckpt']}: mean return {result['episode_return_mean']:.2f} over "
                f"{len(result['episode_returns'])} episodes"
            )
            continue
        if args.load_path:
            _set_load_path(run_main, args.load_path)
        pipeline: Any = serial_pipeline if args.mode == "serial" else serial_pipeline_onpolicy
        pipeline(
            (run_main, create),
            seed,
            max_train_iter=args.train_iter,
            max_env_step=args.env_step,
            quiet=args.quiet,
            source=source,
        )
    return 0


def _set_load_path(main: dict[str, Any], path: str) -> None:
    policy = main.setdefault("policy", {})
    learn = policy.setdefault("learn", {})
    learner = learn.setdefault("learner", {})
    learner.setdefault("hook", {})["load_ckpt_before_run"] = path


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    from ding_lite.errors import DingLiteError

    try:
        return run(args)
    except (DingLiteError, FileNotFoundError) as err:
        message = (
            str(err)
            if not isinstance(err, FileNotFoundError) or not err.filename
            else f"{err.strerror}: '{err.filename}'"
        )
        print(f"ding: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ding: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
