"""Plotting runs: ``runs`` reads TensorBoard scalars, resume points and arms of seeds (no matplotlib);
``figure`` averages seeds, finds the steps to a target and draws the image (matplotlib on first use).
``ding plot`` (``ding_lite.entry.plot_cli``) puts them together.
"""

from ding_lite.plot.runs import Curve, PlotError, Run, group_arms, read_run, read_runs

__all__ = ["Curve", "PlotError", "Run", "group_arms", "read_run", "read_runs"]
