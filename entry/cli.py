"""The ``ding`` command (alias ``ding-lite``), DI-engine style.

    ding -m serial|serial_onpolicy|eval|bc -c CONFIG.py -s SEED [-s SEED ...]
         [--train-iter N] [--env-step N] [--load-path CKPT] [--resume] [--ray-address ADDR]
    ding ckpt inspect CKPT [--json]
    ding ckpt verify EXP_DIR
    ding ckpt adapt SRC --config CFG.py --out DST [--exclude ...] [--include ...] [--rename OLD=NEW ...]
    ding export CKPT --out DIR [-c CFG.py]
    ding record -c CFG.py --load-path CKPT --episodes N --out DIR [--task T] [--noise S] [--resume]
    ding dataset info|verify DIR
    ding plot RUN [RUN ...] [--tag TAG] [--x env_step|train_iter] [--out PNG] [--title T] [--target V]

With several seeds each runs in turn; an experiment name containing ``seed<k>`` gets the run's seed
substituted (``cartpole_dqn_seed0`` -> ``cartpole_dqn_seed1``), any other gets ``_seed<k>`` appended.
``--resume`` continues each run exactly from its newest valid checkpoint. User mistakes print one line
(``ding: error: ...``) and exit with status 2; a run stopped by SIGTERM/SIGINT writes a checkpoint, prints
the command that resumes it and exits with 128 + the signal number; bugs keep their traceback.
"""

from __future__ import annotations

import argparse
import copy
import logging
import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ding_lite import __version__
from ding_lite.errors import DingLiteError, TrainingInterrupted

MODES = ("serial", "serial_onpolicy", "eval", "bc")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ding", description="ding_lite: DI-engine-style RL with trustworthy checkpoints"
    )
    parser.add_argument("--version", action="version", version=f"ding_lite {__version__}")
    parser.add_argument(
        "-m",
        "--mode",
        required=True,
        choices=MODES,
        help="serial (off-policy), serial_onpolicy, eval, bc (offline, on a dataset)",
    )
    parser.add_argument("-c", "--config", required=True, help="config file defining main_config and create_config")
    parser.add_argument("-s", "--seed", type=int, action="append", help="seed (repeat for one run per seed; default 0)")
    parser.add_argument("--train-iter", type=int, default=int(1e10), help="stop after this many train iterations")
    parser.add_argument("--env-step", type=int, default=int(1e10), help="stop after this many collector env steps")
    parser.add_argument("--load-path", default=None, help="checkpoint to evaluate (eval) or to load before training")
    parser.add_argument(
        "--resume", action="store_true", help="continue the experiment exactly from its newest valid checkpoint"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--ray-address", default=None, help="serial with policy.distributed.engine='ray': the Ray cluster to join"
    )
    return parser


def exp_name_for_seed(exp_name: str, seed: int) -> str:
    if re.search(r"seed\d+", exp_name):
        return re.sub(r"seed\d+", f"seed{seed}", exp_name)
    return f"{exp_name}_seed{seed}"


def run(args: argparse.Namespace) -> int:
    from ding_lite.config import read_config
    from ding_lite.entry import eval_pipeline, serial_pipeline, serial_pipeline_onpolicy

    main, create = read_config(args.config)
    source = f"'{args.config}'"
    _check_torchrun(args.mode)
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
        if args.resume:
            _set_resume(run_main, args.load_path)
        elif args.load_path:
            _set_load_path(run_main, args.load_path)
        if args.mode == "bc":
            from ding_lite.entry.serial_entry_bc import serial_pipeline_bc

            serial_pipeline_bc(
                (run_main, create), seed, max_train_iter=args.train_iter, quiet=args.quiet, source=source
            )
            continue
        pipeline: Any = serial_pipeline if args.mode == "serial" else serial_pipeline_onpolicy
        ray_address = {"ray_address": args.ray_address} if args.mode == "serial" else {}
        pipeline(
            (run_main, create),
            seed,
            max_train_iter=args.train_iter,
            max_env_step=args.env_step,
            quiet=args.quiet,
            source=source,
            **ray_address,
        )
    return 0


def _check_torchrun(mode: str) -> None:
    """Under torchrun only ``-m bc`` and ``-m serial`` run (docs/ddp.md); another mode would run one experiment
    per process."""
    from ding_lite.ddp.world import World
    from ding_lite.errors import ConfigError

    if mode not in ("bc", "serial") and World.from_environment() is not None:
        raise ConfigError(f"ding -m {mode} does not run under torchrun (only -m bc and -m serial do, see "
                          "docs/ddp.md); run it without torchrun")  # fmt: skip


def _set_resume(main: dict[str, Any], load_path: str | None) -> None:
    """``--resume``: resume_training=True and load_ckpt_before_run at the newest valid checkpoint."""
    from ding_lite.checkpoint.store import checkpoint_problem, find_resume_checkpoint
    from ding_lite.errors import CheckpointError

    if load_path:
        problem = checkpoint_problem(Path(load_path)) if Path(load_path).is_file() else "it does not exist"
        if problem is not None:
            raise CheckpointError(f"cannot resume from '{load_path}': {problem}")
        path = Path(load_path)
    else:
        path = find_resume_checkpoint(Path(str(main.get("exp_name", "default_experiment"))) / "ckpt")
    main.setdefault("policy", {}).setdefault("learn", {})["resume_training"] = True
    _set_load_path(main, str(path))


def _set_load_path(main: dict[str, Any], path: str) -> None:
    policy = main.setdefault("policy", {})
    learn = policy.setdefault("learn", {})
    learner = learn.setdefault("learner", {})
    learner.setdefault("hook", {})["load_ckpt_before_run"] = path


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if argv[:1] == ["ckpt"]:
        from ding_lite.entry import ckpt_cli

        return _guarded(lambda: ckpt_cli.run(argv[1:]))
    if argv[:1] == ["export"]:
        from ding_lite.entry import weights_cli

        return _guarded(lambda: weights_cli.run_export(argv[1:]))
    if argv[:1] in (["record"], ["dataset"]):
        from ding_lite.entry import dataset_cli

        run_sub = dataset_cli.run_record if argv[0] == "record" else dataset_cli.run_dataset
        return _guarded(lambda: run_sub(argv[1:]))
    if argv[:1] == ["plot"]:
        from ding_lite.entry import plot_cli

        return _guarded(lambda: plot_cli.run(argv[1:]))
    args = build_parser().parse_args(argv)
    if args.quiet:
        logging.getLogger().setLevel(logging.WARNING)
    try:
        return _guarded(lambda: run(args))
    except TrainingInterrupted as stop:
        _say(f"ding: {stop}")
        _say(f"resume with: {_resume_command(args)}")
        return 128 + stop.signal_number


def _resume_command(args: argparse.Namespace) -> str:
    from ding_lite.ddp.world import launcher_words

    words = [*launcher_words(), "-m", args.mode, "-c", args.config]  # under torchrun: the torchrun command
    for seed in args.seed or [0]:
        words += ["-s", str(seed)]
    if args.train_iter != int(1e10):
        words += ["--train-iter", str(args.train_iter)]
    if args.env_step != int(1e10):
        words += ["--env-step", str(args.env_step)]
    if args.ray_address:
        words += ["--ray-address", args.ray_address]
    return " ".join(shlex.quote(w) for w in [*words, "--resume"])


def _say(line: str) -> None:
    """``line`` on stderr in one write: under torchrun every process prints to the same stderr, and print()'s
    separate write of the newline (unbuffered stderr, PYTHONUNBUFFERED) let two processes' lines run into one."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _guarded(action: Callable[[], int]) -> int:
    """Run ``action``; user mistakes become one line on stderr and exit status 2."""
    try:
        return action()
    except TrainingInterrupted:
        raise
    except (DingLiteError, FileNotFoundError) as err:
        message = (
            str(err)
            if not isinstance(err, FileNotFoundError) or not err.filename
            else f"{err.strerror}: '{err.filename}'"
        )
        _say(f"ding: error: {message}")
        return 2
    except KeyboardInterrupt:
        _say("ding: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
