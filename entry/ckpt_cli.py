"""``ding ckpt inspect PATH [--json]`` and ``ding ckpt verify DIR``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ding_lite.checkpoint.inspect import format_summary, summarize, verify_directory
from ding_lite.entry.weights_cli import adapt_checkpoint, add_adapt_parser, parse_renames


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ding ckpt", description="look inside and check checkpoints")
    sub = parser.add_subparsers(dest="command", required=True)
    inspect = sub.add_parser("inspect", help="what a checkpoint holds, and whether it verifies")
    inspect.add_argument("path", help="a .pth.tar checkpoint (ding_lite's or DI-engine's)")
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")
    verify = sub.add_parser("verify", help="check every checkpoint of an experiment; non-zero exit if any is bad")
    verify.add_argument("directory", help="an experiment directory or its ckpt/ folder")
    add_adapt_parser(sub)
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "adapt":
        adapt_checkpoint(
            args.src,
            args.config,
            args.out,
            exclude=args.exclude,
            include=args.include,
            rename_map=parse_renames(args.rename),
            grow=args.grow,
        )
        return 0
    if args.command == "inspect":
        info = summarize(Path(args.path))
        try:
            print(json.dumps(info, indent=2) if args.json else format_summary(info))
        except BrokenPipeError:  # `ding ckpt inspect ... | head`
            sys.stderr.close()
        return 0 if info["verifies"] else 1
    results = verify_directory(Path(args.directory))
    if not results:
        print(f"no checkpoints in {args.directory}")
        return 1
    for path, problem in results:
        print(f"{'OK ' if problem is None else 'BAD'} {path}" + ("" if problem is None else f": {problem}"))
    bad = sum(problem is not None for _, problem in results)
    print(f"{len(results) - bad} ok, {bad} bad")
    return 1 if bad else 0
