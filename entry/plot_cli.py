"""``ding plot``: TensorBoard curves of runs, averaged over seeds, into an image.

ding plot RUN [RUN ...] [--tag TAG] [--x env_step|train_iter] [--out curves.png] [--title T] [--target V]

Each RUN is an experiment directory. Runs whose names differ only in a trailing ``seed<N>`` form one
arm. The figure shows each arm's mean over its seeds with the min..max band, ticks at resumes, and an
optional target line. With ``--target``, a table of the steps to reach the target per arm is printed.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from ding_lite.plot.figure import TargetResult, require_matplotlib, save_figure, steps_to_target
from ding_lite.plot.runs import DEFAULT_TAG, X_AXES, group_arms, read_runs, resolve_tag


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ding plot", description="plot TensorBoard curves of runs, mean and min..max over seeds"
    )
    parser.add_argument(
        "runs", nargs="+", metavar="RUN", help="experiment directories; NAME_seed<N> runs form the arm NAME"
    )
    parser.add_argument(
        "--tag", default=DEFAULT_TAG, help="scalar tag to plot (default: %(default)s, the evaluator's mean return)"
    )
    parser.add_argument(
        "--x",
        choices=list(X_AXES),
        default=None,
        help="x axis; picks the tag's <worker>_step/ or <worker>_iter/ variant (default: the tag's own)",
    )
    parser.add_argument("--out", default="curves.png", help="image to write, atomically (default: %(default)s)")
    parser.add_argument("--title", default=None, help="figure title (default: the tag)")
    parser.add_argument(
        "--target", type=float, default=None, help="draw this value; print per arm the median steps to reach it"
    )
    return parser


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)  # not its font-cache notices
    require_matplotlib()  # before reading: a missing extra should not cost the reading time
    tag, x_axis = resolve_tag(args.tag, args.x)
    arms = {arm: [run.curve(tag) for run in runs] for arm, runs in group_arms(read_runs(args.runs)).items()}
    save_figure(arms, args.out, x_axis=x_axis, y_label=tag, title=args.title or tag, target=args.target)
    counts = ", ".join(f"{arm} ({len(curves)} seed{'s' if len(curves) > 1 else ''})" for arm, curves in arms.items())
    print(f"wrote {args.out}: {tag} against {x_axis} for {counts}")
    if args.target is not None:
        print(format_target_table(steps_to_target(arms, args.target), tag, x_axis, args.target))
    return 0


def format_target_table(results: Sequence[TargetResult], tag: str, x_axis: str, target: float) -> str:
    """One row per arm: seeds, how many reached the target, the median and each seed's first step."""
    header = ["arm", "seeds", "reached", f"median {x_axis}", "per seed"]
    rows = [header]
    for result in results:
        reached = sum(step is not None for step in result.first_steps)
        rows.append(
            [
                result.arm,
                str(len(result.first_steps)),
                f"{reached}/{len(result.first_steps)}",
                "not reached" if result.median is None else _number(result.median),
                " ".join("not reached" if step is None else str(step) for step in result.first_steps),
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    title = f"{x_axis} to {tag} >= {target:g}, median over seeds (a seed that never reached it counts as last):"
    return "\n".join([title, *lines])


def _number(value: float) -> str:
    """A median of whole steps: whole, or halfway between two (an even number of seeds)."""
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
