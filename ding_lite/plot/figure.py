"""The ``ding plot`` figure, and the first step at which each seed reaches a target.

Averaging over seeds. An arm's seeds are placed on one x grid: the union of their x values within
the range that every seed covers. Each seed is linearly interpolated onto that grid (``np.interp``).
The figure draws the mean across seeds and shades the min..max across seeds. The shaded band is the
full spread, not a standard deviation or a confidence interval. An arm with one seed is drawn as its
own curve.

Resumes. A vertical tick marks each resume, on the resumed seed's own value at its first step
after the resume.

Targets. A seed reaches the target at the first logged step where its value is >= the target. The
step comes from the seed's own points, not from the shared grid. An arm's median counts a seed that
never reached the target as later than every seed that did. So the median is "not reached" when half
or more of the seeds never reached it.

matplotlib is imported on first use, with the Agg canvas and without pyplot, so no global backend
is set.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ding_lite.plot.runs import Curve, PlotError
from ding_lite.utils.files import write_atomic

NEEDS_MATPLOTLIB = "ding plot needs matplotlib: pip install 'ding_lite[plot]'"
X_LABELS = {"env_step": "env steps", "train_iter": "train iterations", "step": "step"}


@dataclass(frozen=True)
class Band:
    """An arm's curve: the mean and the min..max across seeds, at each x of the shared grid."""

    x: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class TargetResult:
    """When each seed of an arm first reached the target (None: never), and the median over seeds."""

    arm: str
    first_steps: list[int | None]
    median: float | None


def seed_band(arm: str, curves: Sequence[Curve]) -> Band:
    """The mean, min and max over ``curves``, on the union of their x values within their common range."""
    start = max(int(curve.steps[0]) for curve in curves)
    end = min(int(curve.steps[-1]) for curve in curves)
    if start > end:
        raise PlotError(
            f"the seeds of arm '{arm}' share no x range (one starts at {start}, another ends at {end}); "
            "plot them as separate runs or with a longer run"
        )
    grid = np.unique(np.concatenate([curve.steps for curve in curves]))
    x = grid[(grid >= start) & (grid <= end)].astype(np.float64)
    ys = np.stack([np.interp(x, curve.steps, curve.values) for curve in curves])
    return Band(x, ys.mean(axis=0), ys.min(axis=0), ys.max(axis=0))


def first_reach(curve: Curve, target: float) -> int | None:
    """The first logged step whose value is >= ``target``, or None."""
    hits = np.flatnonzero(curve.values >= target)
    return int(curve.steps[hits[0]]) if hits.size else None


def steps_to_target(arms: Mapping[str, Sequence[Curve]], target: float) -> list[TargetResult]:
    results = []
    for arm, curves in arms.items():
        firsts = [first_reach(curve, target) for curve in curves]
        median = float(np.median([math.inf if step is None else step for step in firsts]))
        results.append(TargetResult(arm, firsts, None if math.isinf(median) else median))
    return results


def save_figure(
    arms: Mapping[str, Sequence[Curve]],
    out: str | Path,
    *,
    x_axis: str,
    y_label: str,
    title: str,
    target: float | None = None,
) -> None:
    """Draw every arm and write the image to ``out`` atomically; the format comes from its suffix."""
    figure_cls, canvas_cls = require_matplotlib()
    out = Path(out)
    fig = figure_cls(figsize=(7.5, 4.5), dpi=120, layout="constrained")
    canvas = canvas_cls(fig)
    file_format = out.suffix.lstrip(".").lower() or "png"
    if file_format not in canvas.get_supported_filetypes():
        raise PlotError(f"cannot write '{out}': matplotlib has no '.{file_format}' format; use --out NAME.png")
    ax = fig.add_subplot()
    resumed = False
    for index, (arm, curves) in enumerate(arms.items()):
        color = f"C{index % 10}"
        band = seed_band(arm, curves)
        seeds = "1 seed" if len(curves) == 1 else f"{len(curves)} seeds"
        ax.plot(band.x, band.mean, color=color, linewidth=1.6, label=f"{arm} ({seeds})")
        if len(curves) > 1:
            ax.fill_between(band.x, band.low, band.high, color=color, alpha=0.2, linewidth=0)
        for curve in curves:
            if len(curves) > 1:  # each seed faintly, also where it runs past the others
                ax.plot(curve.steps, curve.values, color=color, linewidth=0.7, alpha=0.35)
            if curve.resumes.size:
                at = np.interp(curve.resumes, curve.steps, curve.values)
                ax.plot(curve.resumes, at, linestyle="none", marker="|", markersize=14, mew=2, color=color)
                resumed = True
    if resumed:  # one legend entry for every resume tick, in a neutral colour
        ax.plot([], [], linestyle="none", marker="|", markersize=14, mew=2, color="0.3", label="resumed")
    if target is not None:
        ax.axhline(target, color="0.4", linestyle="--", linewidth=1, label=f"target {target:g}")
    ax.set_xlabel(X_LABELS.get(x_axis, x_axis))
    ax.set_ylabel(y_label)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=file_format)
    write_atomic(out, buffer.getvalue())


def require_matplotlib() -> tuple[Any, Any]:
    """matplotlib's ``Figure`` and Agg ``FigureCanvasAgg``; a PlotError saying how to install it if missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise PlotError(NEEDS_MATPLOTLIB) from err
    return Figure, FigureCanvasAgg
