"""Reading runs for ``ding plot``: one curve per scalar tag, the resume points, and arms of seeds.

A run is an experiment directory; its scalars are in ``<run>/log/serial/events.out.tfevents.*``.
The event files are read in file-name order, which is creation order. The engine starts a new file
at each resume, after cutting the old files back to the checkpoint and merging them into one. So
every file after the first began at a resume (only the latest resume is visible once a run has
resumed twice). If a later file repeats a step, its value wins.

Tags follow DI-engine's names. ``<worker>_step/<name>`` is logged against collector env steps and
``<worker>_iter/<name>`` against train iterations, with the same values. For example,
``evaluator_step/reward_mean`` and ``evaluator_iter/reward_mean`` are the evaluator's mean return.

Runs named ``<arm>_seed<N>`` (or ``<arm>seed<N>``) form the arm ``<arm>``. A time suffix that the
engine appends to an existing experiment name (``_YYMMDD_HHMMSS``) is ignored for grouping.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ding_lite.errors import DingLiteError
from ding_lite.utils.tb_events import _FOOTER, _HEADER, event_files, read_frames

LOG_SUBDIR = Path("log") / "serial"
DEFAULT_TAG = "evaluator_step/reward_mean"  # the evaluator's mean return, against env steps
X_AXES = {"env_step": "step", "train_iter": "iter"}  # --x choice -> the tag variant that is logged against it

_SEED_SUFFIX = re.compile(r"_?seed\d+(_\d{6}_\d{6})?$")
_VARIANT = re.compile(r"^(?P<worker>[^/]+)_(?P<kind>step|iter)/(?P<name>.+)$")


class PlotError(DingLiteError, ValueError):
    """A run or an option given to ``ding plot`` cannot be plotted. The message names the directory or tag."""


@dataclass(frozen=True)
class Curve:
    """One scalar tag of one run.

    ``steps`` (int64) are strictly increasing and ``values`` (float64) are aligned with them.
    ``resumes`` holds the tag's first step in each event file after the first, one per resume.
    """

    steps: np.ndarray
    values: np.ndarray
    resumes: np.ndarray


@dataclass(frozen=True)
class Run:
    path: Path
    curves: dict[str, Curve]  # every scalar tag in the run's event files

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def arm(self) -> str:
        return arm_name(self.name)

    def curve(self, tag: str) -> Curve:
        if tag not in self.curves:
            close = difflib.get_close_matches(tag, list(self.curves), n=1)
            hint = f"closest: '{close[0]}'; " if close else ""
            raise PlotError(
                f"'{self.path}' has no scalar tag '{tag}' in {LOG_SUBDIR}/ ({hint}its tags: "
                f"{describe_tags(self.curves)}); choose one with --tag"
            )
        return self.curves[tag]


def arm_name(run_name: str) -> str:
    """``reacher_sac_seed2`` -> ``reacher_sac``; a name that is only a seed stays as it is."""
    return _SEED_SUFFIX.sub("", run_name) or run_name


def describe_tags(tags: Iterable[str]) -> str:
    """``a/{x, y}, b/z``: tags sharing the part before the last '/' name it once; 'none' for no tags."""
    groups: dict[str, list[str]] = {}
    for tag in sorted(tags):
        prefix, _, rest = tag.rpartition("/")
        groups.setdefault(prefix, []).append(rest)
    parts = [
        "/".join(filter(None, [prefix, names[0] if len(names) == 1 else "{" + ", ".join(names) + "}"]))
        for prefix, names in groups.items()
    ]
    return ", ".join(parts) or "none"


def resolve_tag(tag: str, x: str | None) -> tuple[str, str]:
    """Return the tag to read and the name of its x axis (``env_step``, ``train_iter`` or ``step``).

    ``x`` chooses between the ``_step`` and ``_iter`` variants of a ``<worker>_step|_iter/<name>`` tag.
    Without ``x``, the tag's own variant names the axis.
    """
    match = _VARIANT.match(tag)
    if match is None:
        if x is not None:
            raise PlotError(
                f"tag '{tag}' has no env_step/train_iter variants (those are named '<worker>_step/<name>' "
                "and '<worker>_iter/<name>'); drop --x to plot it against its own steps"
            )
        return tag, "step"
    if x is None:
        return tag, "env_step" if match["kind"] == "step" else "train_iter"
    return f"{match['worker']}_{X_AXES[x]}/{match['name']}", x


def read_run(path: str | os.PathLike[str]) -> Run:
    """Read every scalar of the run in ``path``."""
    root = Path(path)
    if not root.is_dir():
        problem = "is not a directory" if root.exists() else "does not exist"
        raise PlotError(f"'{root}' {problem}; pass experiment directories (each holding {LOG_SUBDIR}/)")
    files = event_files(root / LOG_SUBDIR)
    if not files:
        raise PlotError(
            f"'{root}' has no TensorBoard event files in {LOG_SUBDIR}/; pass the experiment directory of a run"
        )
    points: dict[str, dict[int, float]] = {}
    resumes: dict[str, list[int]] = {}
    for index, file in enumerate(files):
        seen_here: set[str] = set()
        for tag, step, value in _scalars(file):
            points.setdefault(tag, {})[step] = value
            if index > 0 and tag not in seen_here:
                seen_here.add(tag)
                resumes.setdefault(tag, []).append(step)
    curves = {tag: _curve(by_step, resumes.get(tag, [])) for tag, by_step in points.items()}
    return Run(root, curves)


def read_runs(paths: Sequence[str | os.PathLike[str]]) -> list[Run]:
    """Read each run once, in the order given (a directory given twice is read once)."""
    first_spelling: dict[Path, Path] = {}
    for path in paths:
        first_spelling.setdefault(Path(path).resolve(), Path(path))
    return [read_run(path) for path in first_spelling.values()]


def group_arms(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Arms in the order they first appear, each holding its runs in the order given."""
    arms: dict[str, list[Run]] = {}
    for run in runs:
        arms.setdefault(run.arm, []).append(run)
    return arms


def _scalars(file: Path) -> Iterator[tuple[str, int, float]]:
    """``(tag, step, value)`` for each ``simple_value`` scalar in the file, in file order."""
    from tensorboardX.proto import event_pb2

    event = event_pb2.Event()
    for frame in read_frames(file):
        event.ParseFromString(frame[_HEADER:-_FOOTER])
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                yield value.tag, int(event.step), float(value.simple_value)


def _curve(by_step: dict[int, float], resumes: list[int]) -> Curve:
    steps = np.array(sorted(by_step), dtype=np.int64)
    values = np.array([by_step[int(step)] for step in steps], dtype=np.float64)
    return Curve(steps, values, np.array(resumes, dtype=np.int64))
