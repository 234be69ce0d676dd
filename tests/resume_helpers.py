"""Shared by the checkpoint specifications (``test_resume_exact.py``, ``test_ckpt_safety.py``).

Everything here drives the ``ding`` command in subprocesses, with the working directory in a pytest
temporary directory, on small configs that load the repo's dizoo configs and override only what keeps the
runs short and the checkpoints frequent. "Identical" experiments (:func:`assert_identical`) means:

* the final checkpoint (the file ``ckpt/latest`` names, ``iteration_<N>.pth.tar``) and ``ckpt_best`` hold
  equal keys and bit-equal tensors for ``model``, ``target_model``, every ``optimizer*``, ``last_iter``,
  ``last_step``, and equal ding_lite training state, text-log positions included (everything but the
  config, which records how the run was started);
* ``result.json`` is equal on every key except ``wall_time_s`` and ``interrupted``;
* every TensorBoard scalar series has the same ``(step, value)`` points with strictly increasing steps;
  tags containing ``per_sec`` (wall-clock throughput) are compared on their steps only;
* every text log (``log/<worker>/<worker>_logger.txt``) has the same lines, timestamps aside.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
DQN_BASE = REPO / "dizoo_configs" / "cartpole_dqn_config.py"
PPO_BASE = REPO / "dizoo_configs" / "cartpole_ppo_config.py"
DI_ENGINE_FIXTURES = REPO / "tests" / "fixtures" / "di-engine"

_SCRIPT = Path(sys.executable).with_name("ding")
DING = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "ding_lite.entry.cli"]
TIMEOUT_S = 300.0  # turns a hang into a failure; every run here takes seconds
EXP = "exp"  # the experiment name every config here uses

Proc = subprocess.CompletedProcess[str]


# --- configs -------------------------------------------------------------------------------------------
def write_config(
    path: Path,
    base: Path,
    *,
    save_every: int,
    eval_freq: int,
    log_every: int = 20,
    keep_last_n: int | None = None,
    edits: str = "",
) -> Path:
    """A config running ``base`` with exp_name ``exp``, a stop value never reached, and the given
    checkpoint, log and evaluation frequencies; ``edits`` are extra Python lines applied last."""
    keep = "" if keep_last_n is None else f"keep_last_n={keep_last_n}, "
    lines = [
        "import runpy",
        f"ns = runpy.run_path({str(base)!r})",
        "main_config, create_config = ns['main_config'], ns['create_config']",
        f"main_config.exp_name = {EXP!r}",
        "main_config.env.stop_value = 1e9",
        f"main_config.policy.learn.learner = dict({keep}"
        f"hook=dict(save_ckpt_after_iter={save_every}, log_show_after_iter={log_every}))",
        f"main_config.policy.eval.evaluator.eval_freq = {eval_freq}",
        edits,
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# --- running ding ----------------------------------------------------------------------------------------
def ding(*args: str | os.PathLike[str], cwd: Path, **popen: Any) -> Proc:
    """``ding *args`` in ``cwd``, finished, output captured as text; never checked here."""
    return subprocess.run(
        [*DING, *(str(a) for a in args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        **popen,
    )


def ding_many(jobs: Sequence[tuple[Sequence[str | os.PathLike[str]], Path]]) -> list[Proc]:
    """Several independent ``(args, cwd)`` commands at once (one per core); results in order."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return list(pool.map(lambda job: ding(*job[0], cwd=job[1]), jobs))


def describe(proc: Proc) -> str:
    return f"ding exited {proc.returncode}\n--- stdout:\n{proc.stdout}\n--- stderr:\n{proc.stderr}"


def check_ok(proc: Proc) -> Proc:
    assert proc.returncode == 0, describe(proc)
    assert "Traceback" not in proc.stderr, describe(proc)
    return proc


class Running:
    """A ``ding`` run in the background whose output is collected as it comes, for signals at chosen moments."""

    def __init__(self, *args: str | os.PathLike[str], cwd: Path) -> None:
        self.args = [*DING, *(str(a) for a in args)]
        self.proc = subprocess.Popen(self.args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        self._pumps = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    @staticmethod
    def _pump(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def printed(self, text: str, stderr: bool = False) -> bool:
        """Whether a line of stdout (or stderr) so far contains ``text``."""
        return any(text in line for line in list(self.err if stderr else self.out))

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
        """Poll ``condition`` until it holds; fail if the run ends first or the timeout passes."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                raise AssertionError(f"the run ended before {what}\n{describe(self.finish())}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{describe(self.finish())}")
            time.sleep(0.002)

    def finish(self) -> Proc:
        """Wait for the process to end (it must, within the timeout) and return its whole output."""
        returncode = self.proc.wait(timeout=TIMEOUT_S)
        for pump in self._pumps:
            pump.join(timeout=30)
        return subprocess.CompletedProcess(self.args, returncode, "".join(self.out), "".join(self.err))


# --- experiment directories ----------------------------------------------------------------------------
def ckpt_dir(exp_dir: Path) -> Path:
    return exp_dir / "ckpt"


def latest_name(exp_dir: Path) -> str:
    return (ckpt_dir(exp_dir) / "latest").read_text().strip()


def iteration_numbers(exp_dir: Path) -> list[int]:
    names = (p.name for p in ckpt_dir(exp_dir).glob("iteration_*.pth.tar"))
    return sorted(int(name[len("iteration_") : -len(".pth.tar")]) for name in names)


def load(path: Path) -> dict[str, Any]:
    assert path.is_file(), f"missing {path}; its folder holds {sorted(p.name for p in path.parent.glob('*'))}"
    return torch.load(path, map_location="cpu", weights_only=True)


def copy_experiment(exp_dir: Path, cwd: Path) -> Path:
    """A copy of ``exp_dir`` as ``cwd/exp`` (runs in ``cwd`` then continue it)."""
    cwd.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(exp_dir, cwd / EXP))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Name -> contents of every file in ``folder`` (to prove a failed command changed nothing)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- comparing -------------------------------------------------------------------------------------------
def differences(a: Any, b: Any, where: str) -> list[str]:
    """Every place where two checkpoint trees differ (tensors bit for bit, floats exactly)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return [f"{where}: {type(a).__name__} vs {type(b).__name__}"]
        if a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a, b):
            return [f"{where}: tensors differ ({a.dtype}{tuple(a.shape)} vs {b.dtype}{tuple(b.shape)})"]
        return []
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(map(str, a))} vs {sorted(map(str, b))}"]
        return [d for key in a for d in differences(a[key], b[key], f"{where}.{key}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return [f"{where}: length {len(a)} vs {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return []
    return [] if type(a) is type(b) and a == b else [f"{where}: {a!r} vs {b!r}"]


def checkpoint_differences(a_path: Path, b_path: Path, text_positions: bool = True) -> list[str]:
    """Differences of two checkpoints' learn state and ding_lite state (text-log byte positions only when
    ``text_positions``: logs name checkpoint paths, so experiments of other names have other sizes)."""
    a, b = load(a_path), load(b_path)
    if set(a) != set(b):
        return [f"top-level keys {sorted(a)} vs {sorted(b)}"]
    learn = [k for k in a if k in ("model", "target_model", "last_iter", "last_step") or k.startswith("optimizer")]
    assert {"model", "last_iter", "last_step"} <= set(learn), f"{a_path} lacks learn state: {sorted(a)}"
    diffs = [d for key in learn for d in differences(a[key], b[key], key)]
    extras_a, extras_b = dict(a.get("ding_lite", {})), dict(b.get("ding_lite", {}))
    for extras in (extras_a, extras_b):
        extras.pop("config", None)  # how the run was started (resume_training, load path): differs by design
        if not text_positions:
            extras["logs"] = {"scalar_events": extras["logs"]["scalar_events"]}
    return diffs + differences(extras_a, extras_b, "ding_lite")


def scalar_series(exp_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series of ``<exp>/log/serial`` as TensorBoard's own reader sees it.

    ``purge_orphaned_data=False`` so that duplicate or backwards points the files hold are reported
    here instead of being dropped silently by the reader.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(exp_dir / "log" / "serial"), size_guidance={"scalars": 0}, purge_orphaned_data=False)
    acc.Reload()
    return {tag: [(event.step, event.value) for event in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def assert_increasing_steps(series: Mapping[str, list[tuple[int, float]]], exp_dir: Path) -> None:
    for tag, points in series.items():
        steps = [step for step, _ in points]
        bad = [(x, y) for x, y in zip(steps, steps[1:]) if y <= x]
        assert not bad, f"{exp_dir}: TensorBoard tag {tag} has duplicate or backwards steps at {bad[:5]}"


def scalar_differences(straight: Path, other: Path) -> list[str]:
    a, b = scalar_series(straight), scalar_series(other)
    assert a, f"{straight} has no TensorBoard scalars"
    assert_increasing_steps(a, straight)
    assert_increasing_steps(b, other)
    if sorted(a) != sorted(b):
        return [f"TensorBoard tags differ: {sorted(set(a) ^ set(b))}"]
    diffs = []
    for tag in sorted(a):
        if "per_sec" in tag:  # wall-clock throughput: only the steps can repeat
            want, got = [s for s, _ in a[tag]], [s for s, _ in b[tag]]
        else:
            want, got = a[tag], b[tag]
        if want != got:
            first = next((i for i, (x, y) in enumerate(zip(want, got)) if x != y), min(len(want), len(got)))
            diffs.append(
                f"TensorBoard {tag} from point {first}: straight {want[first : first + 2]} "
                f"vs resumed {got[first : first + 2]} ({len(want)} vs {len(got)} points)"
            )
    return diffs


TIMESTAMP = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ")


def text_logs(exp_dir: Path) -> dict[str, list[str]]:
    """Every text log of ``<exp>/log`` as lines without their timestamps, the experiment's name as ``<exp>``."""
    logs = {}
    for path in sorted((exp_dir / "log").glob("*/*_logger.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        logs[path.name] = [TIMESTAMP.sub("", line).replace(exp_dir.name, "<exp>") for line in lines]
    return logs


def text_log_differences(straight: Path, other: Path) -> list[str]:
    a, b = text_logs(straight), text_logs(other)
    assert a, f"{straight} has no text logs"
    if sorted(a) != sorted(b):
        return [f"text logs differ: {sorted(a)} vs {sorted(b)}"]
    diffs = []
    for name in a:
        if a[name] != b[name]:
            first = next(
                (i for i, (x, y) in enumerate(zip(a[name], b[name])) if x != y), min(len(a[name]), len(b[name]))
            )
            diffs.append(
                f"{name} from line {first + 1}: straight {a[name][first : first + 2]} vs resumed "
                f"{b[name][first : first + 2]} ({len(a[name])} vs {len(b[name])} lines)"
            )
    return diffs


def read_result(exp_dir: Path) -> dict[str, Any]:
    return json.loads((exp_dir / "result.json").read_text())


def result_differences(straight: Path, other: Path, also_ignore: Sequence[str] = ()) -> list[str]:
    ignore = {"wall_time_s", "interrupted", *also_ignore}
    a = {k: v for k, v in read_result(straight).items() if k not in ignore}
    b = {k: v for k, v in read_result(other).items() if k not in ignore}
    return [] if a == b else [f"result.json: straight {a} vs resumed {b}"]


def assert_identical(straight: Path, other: Path, n: int, also_ignore: Sequence[str] = ()) -> None:
    """``other`` ended exactly like the uninterrupted run ``straight`` of ``n`` train iterations."""
    final = f"iteration_{n}.pth.tar"
    assert latest_name(straight) == final, f"{straight}: latest names {latest_name(straight)}, expected {final}"
    assert latest_name(other) == final, f"{other}: latest names {latest_name(other)}, expected {final}"
    diffs = result_differences(straight, other, also_ignore) + scalar_differences(straight, other)
    diffs += text_log_differences(straight, other)
    for name in (final, "ckpt_best.pth.tar"):
        pair = (ckpt_dir(straight) / name, ckpt_dir(other) / name)
        diffs += [f"{name} {d}" for d in checkpoint_differences(*pair, text_positions=straight.name == other.name)]
    assert not diffs, f"{other} differs from the straight run {straight} in {len(diffs)} ways:\n" + "\n".join(
        diffs[:12]
    )
