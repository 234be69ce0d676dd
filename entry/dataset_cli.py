"""``ding record`` and ``ding dataset info|verify``.

ding record -c CONFIG.py --load-path CKPT --episodes 50 --out DIR [--task T] [--noise S] [--seed N]
            [--fps F] [--resume] [-q]
ding dataset info DIR [--json]
ding dataset verify DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def build_record_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ding record", description="roll out a policy and write a LeRobot dataset")
    parser.add_argument("-c", "--config", required=True, help="config file whose env is rolled out")
    parser.add_argument("--load-path", help="checkpoint (.pth.tar) or pretrained_model/ folder to play greedily")
    parser.add_argument("--episodes", type=int, required=True, help="episodes to record in this session")
    parser.add_argument("--out", required=True, help="dataset folder (new, or existing with --resume)")
    parser.add_argument(
        "--task", default="", help="the task of every frame (default: the dataset's last task, else the exp_name)"
    )
    parser.add_argument("--noise", type=float, default=0.0, help="Gaussian action noise (fraction of the range)")
    parser.add_argument("-s", "--seed", type=int, default=0, help="seed of the envs and the noise")
    parser.add_argument("--fps", type=int, default=None, help="frames per second (default: the env's)")
    parser.add_argument("--resume", action="store_true", help="append episodes to the dataset at --out")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return parser


def run_record(argv: Sequence[str]) -> int:
    from ding_lite.entry.record import record

    args = build_record_parser().parse_args(argv)
    result = record(
        args.config,
        args.out,
        args.episodes,
        load_path=args.load_path,
        task=args.task,
        noise=args.noise,
        seed=args.seed,
        resume=args.resume,
        fps=args.fps,
        quiet=args.quiet,
        source=f"'{args.config}'",
    )
    rate = result["frames"] / max(result["seconds"], 1e-9)
    print(
        f"recorded {result['episodes']} episodes ({result['frames']} frames, {rate:,.0f} frames/s) into "
        f"{result['path']}, which now holds {result['total_episodes']} episodes"
    )
    return 0


def build_dataset_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ding dataset", description="look inside and check LeRobot datasets")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="episodes, frames, fps, features and a stats summary")
    info.add_argument("root", help="dataset folder (holding meta/info.json)")
    info.add_argument("--json", action="store_true", help="print JSON (info.json's keys) instead of text")
    verify = sub.add_parser("verify", help="read every file, check indices and stats; non-zero exit if bad")
    verify.add_argument("root", help="dataset folder (holding meta/info.json)")
    return parser


def run_dataset(argv: Sequence[str]) -> int:
    from ding_lite.datasets.verify import format_summary, summary, verify

    args = build_dataset_parser().parse_args(argv)
    if args.command == "info":
        found = summary(args.root)
        try:
            print(json.dumps(found, indent=2) if args.json else format_summary(found))
        except BrokenPipeError:
            sys.stderr.close()
        return 0
    problems = verify(args.root)
    for problem in problems:
        print(f"BAD {problem}")
    if problems:
        return 1
    print(f"OK {args.root}: every file reads, indices and stats are consistent")
    return 0
