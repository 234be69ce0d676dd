"""Fine-tuning after an action-space change, measured: env steps to the stop value, fine-tuned vs scratch.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/bench_finetune.py                 # DQN cartpole and SAC pendulum, seeds 0 1 2
    .venv/bin/python bench/bench_finetune.py --seeds 0 1     # other seeds
    .venv/bin/python bench/bench_finetune.py --quick         # seed 0, DQN only (about a minute)

For each case and seed, in a temporary directory with config files generated from the repository's
dizoo configs, ``ding -m serial`` runs:

1. ``old``: the policy for the old action space, trained to the stop value (its ``ckpt_best`` is the
   checkpoint being fine-tuned from);
2. ``scratch``: the policy for the grown action space, trained from scratch;
3. fine-tuning variants for the grown action space, all starting from the old ``ckpt_best``:

   - ``partial``: ``policy.pretrained=dict(path=..., strict=False)``: tensors whose shape changed are left
     freshly initialised (whole tensors, as ding_lite does it);
   - ``partial_rcs0`` (SAC): the same with ``random_collect_size=0`` (no uniformly random warm-up);
   - ``grown`` (and ``grown_rcs0`` for SAC): the shape-changed tensors are grown by hand instead, before the
     run: the old rows and columns are copied into the fresh tensor, new output rows keep their fresh
     initialisation and new input columns are zeroed, so the grown network computes what the old one did
     on the old action components (a new discrete action's fresh row may still win the argmax). Written
     as a ``pretrained_model/`` folder and loaded with ``policy.pretrained_path``. ding_lite does not do
     this itself; this variant shows what it is worth.

The figure of a run is ``env_step`` from ``<exp>/result.json`` when ``stop`` is true (the collector's env
steps, random warm-up included, at the evaluation that reached the stop value). Every run is capped with
``--env-step`` (about four times the scratch figure), and a run that hits the cap is reported as not
having reached the stop value. Medians over seeds count such a run as infinitely long.

Prints one line per run, a summary table per case and, as the last line, one JSON object with every run.
Nothing here changes the library: training runs are ``ding`` child processes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DING = Path(sys.executable).parent / "ding"


@dataclass
class Case:
    name: str
    config: str  # file in dizoo_configs/
    grow: dict[str, Any]  # overrides that grow the action space (env and model)
    cap: int  # --env-step of every run: about 4x the expected scratch figure
    variants: dict[str, dict[str, Any]]  # fine-tune variant -> policy overrides besides the weights source


CASES = {
    "dqn": Case(
        name="DQN cartpole, 2 -> 3 actions",
        config="cartpole_dqn_config.py",
        grow={"env": {"extra_actions": 1}, "policy": {"model": {"action_shape": 3}}},
        cap=5_000,  # scratch needs about 1,200 env steps
        variants={"partial": {}, "grown": {}},
    ),
    "sac": Case(
        name="SAC pendulum, 1-D -> 2-D action",
        config="pendulum_sac_config.py",
        grow={"env": {"extra_action_dims": 1}, "policy": {"model": {"action_shape": 2}}},
        cap=132_000,  # scratch needs about 33,000 env steps
        variants={
            "partial": {},
            "partial_rcs0": {"random_collect_size": 0},
            "grown": {},
            "grown_rcs0": {"random_collect_size": 0},
        },
    ),
}


@dataclass
class Run:
    case: str
    variant: str
    seed: int
    stop: bool = False
    env_step: int = 0
    train_iter: int = 0
    first_eval: float | None = None  # mean return at train_iter 0 (the loaded policy before any update)
    best_eval: float | None = None
    wall_s: float = 0.0  # whole process
    cpu_s: float = 0.0  # user + sys of the process
    inproc_wall_s: float = 0.0  # ding_lite's own wall_time_s (after the experiment is built)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> float:
        """Env steps to the stop value; infinite when it was not reached."""
        return float(self.env_step) if self.stop else math.inf


# --- config files -------------------------------------------------------------------------------------


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def write_config(case: Case, path: Path, exp_name: str, *overrides: Mapping[str, Any]) -> Path:
    """A config file: the repository's dizoo config with ``overrides`` merged in, in order."""
    from ding_lite.config.loader import format_python, to_plain

    namespace = runpy.run_path(str(ROOT / "dizoo_configs" / case.config))
    main, create = to_plain(namespace["main_config"]), to_plain(namespace["create_config"])
    main["exp_name"] = exp_name
    for override in overrides:
        merge(main, override)
    path.write_text(
        f"# generated by bench/bench_finetune.py from dizoo_configs/{case.config}\n"
        f"main_config = {format_python(main)}\ncreate_config = {format_python(create)}\n"
    )
    return path


def grow_checkpoint(old_ckpt: Path, config: Path, seed: int, out: Path) -> Path:
    """Fit the old weights into the grown model keeping the old slices; returns the pretrained_model/ folder.

    Shape-matched tensors are loaded as they are. Of each shape-mismatched tensor the overlapping block is
    copied from the old one; new output rows keep the fresh initialisation, new input columns are zeroed.
    """
    import torch

    from ding_lite.checkpoint.pretrained import read_weights
    from ding_lite.entry.weights_cli import policy_from_config

    torch.manual_seed(seed)
    policy = policy_from_config(config)
    report = policy.load_pretrained(old_ckpt, strict=False)
    old, _ = read_weights(old_ckpt)
    own = policy.model.state_dict()
    with torch.no_grad():
        for key, old_shape, new_shape in report.mismatched:
            own[key][tuple(slice(0, n) for n in old_shape)] = old[key]
            if len(new_shape) == 2 and new_shape[1] > old_shape[1]:
                own[key][:, old_shape[1] :] = 0.0
    policy.sync_targets()
    return policy.save_pretrained(out)


# --- runs ---------------------------------------------------------------------------------------------


def run_ding(config: Path, seed: int, cap: int, cwd: Path, run: Run) -> Run:
    """``ding -q -m serial`` in ``cwd``; fills ``run`` from result.json and the evaluator log."""
    argv = [str(DING), "-q", "-m", "serial", "-c", str(config), "-s", str(seed), "--env-step", str(cap)]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        run.wall_s = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait on it again
        run.cpu_s = usage.ru_utime + usage.ru_stime
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    exp = cwd / run.extra["exp_name"]
    if proc.returncode != 0 or not (exp / "result.json").is_file():
        raise RuntimeError(f"{' '.join(argv)} failed with status {proc.returncode}:\n{stderr[-2000:]}")
    result = json.loads((exp / "result.json").read_text())
    run.stop, run.env_step, run.train_iter = bool(result["stop"]), int(result["env_step"]), int(result["train_iter"])
    run.best_eval, run.inproc_wall_s = result["best_eval_value"], float(result["wall_time_s"])
    evals = (exp / "log" / "evaluator" / "evaluator_logger.txt").read_text().splitlines()
    if evals and " train_iter 0 " in evals[0]:
        run.first_eval = float(evals[0].split("reward_mean ")[1].split()[0])
    report = exp / "load_report.json"
    if report.is_file():
        loaded = json.loads(report.read_text())
        run.extra["mismatched"] = [key for key, _, _ in loaded["mismatched"]]
    return run


def run_seed(key: str, case: Case, seed: int, work: Path, log: Callable[[Run], None]) -> list[Run]:
    """The old run, the scratch run and every fine-tune variant for one seed."""
    runs = []

    def launch(variant: str, *overrides: Mapping[str, Any]) -> Run:
        exp_name = f"{key}_{variant}_seed{seed}"
        config = write_config(case, work / f"{exp_name}.py", exp_name, *overrides)
        run = run_ding(config, seed, case.cap, work, Run(key, variant, seed, extra={"exp_name": exp_name}))
        log(run)
        runs.append(run)
        return run

    launch("old")
    old_ckpt = work / f"{key}_old_seed{seed}" / "ckpt" / "ckpt_best.pth.tar"
    launch("scratch", case.grow)
    for variant, policy_overrides in case.variants.items():
        if variant.startswith("grown"):
            probe = write_config(case, work / f"{key}_{variant}_seed{seed}_model.py", "unused", case.grow)
            folder = grow_checkpoint(old_ckpt, probe, seed, work / f"{key}_{variant}_seed{seed}_init")
            source: dict[str, Any] = {"pretrained_path": str(folder)}
        else:
            source = {"pretrained": {"path": str(old_ckpt), "strict": False}}
        launch(variant, case.grow, {"policy": {**source, **policy_overrides}})
    return runs


# --- report -------------------------------------------------------------------------------------------


def describe(run: Run) -> str:
    figure = f"{run.env_step:>7,} env steps" if run.stop else f"NOT reached (cap {run.env_step:,})"
    first = "" if run.first_eval is None else f", return at iter 0 {run.first_eval:8.1f}"
    return (
        f"  {run.case} {run.variant:<13} seed {run.seed}: {figure:<26} train_iter {run.train_iter:>6}"
        f"{first}, best {run.best_eval:8.1f}, wall {run.wall_s:6.1f} s (cpu {run.cpu_s:5.1f} s)"
    )


def summarize(runs: list[Run]) -> dict[str, dict[str, Any]]:
    """Per variant: median env steps to the stop value (inf if the median run did not reach it)."""
    out: dict[str, dict[str, Any]] = {}
    for variant in dict.fromkeys(r.variant for r in runs):
        chosen = [r for r in runs if r.variant == variant]
        median = statistics.median(r.steps for r in chosen)
        out[variant] = {
            "median_env_step": median if math.isfinite(median) else None,
            "reached": sum(r.stop for r in chosen),
            "runs": len(chosen),
            "env_steps": [r.env_step if r.stop else None for r in chosen],
            "median_wall_s": round(statistics.median(r.wall_s for r in chosen), 1),
        }
    return out


def print_summary(case: Case, summary: dict[str, dict[str, Any]]) -> None:
    scratch = summary["scratch"]["median_env_step"]
    print(f"\n{case.name}: median env steps to the stop value (cap {case.cap:,} per run)")
    print(f"  {'variant':<13} {'median':>9} {'vs scratch':>10} {'reached':>8}  per seed")
    for variant, row in summary.items():
        median = row["median_env_step"]
        ratio = f"{median / scratch:.2f}x" if median is not None and scratch else "-"
        seeds = ", ".join("not reached" if s is None else f"{s:,}" for s in row["env_steps"])
        shown = "not reached" if median is None else f"{median:,.0f}"
        print(f"  {variant:<13} {shown:>9} {ratio:>10} {row['reached']:>4}/{row['runs']}  {seeds}")


def library_state() -> str:
    """The commit, with ``+dirty`` when ding_lite/ or entry/ have uncommitted changes (the runs use them)."""
    git = ["git", "-C", str(ROOT)]
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "ding_lite", "entry"], capture_output=True, text=True)
    return commit + ("+dirty" if dirty.stdout.strip() else "")


def machine() -> dict[str, Any]:
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "commit": library_state(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg_start": [round(v, 2) for v in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one set of runs per seed")
    parser.add_argument("--quick", action="store_true", help="seed 0, DQN only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    args = parser.parse_args()
    seeds, keys = ([0], ["dqn"]) if args.quick else (args.seeds, list(CASES))
    info = machine()
    print(
        f"bench_finetune: commit {info['commit']}, {info['date_utc']} UTC, nproc {info['nproc']}, "
        f"load average {info['loadavg_start']}",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="bench_finetune_"))
    runs: list[Run] = []
    summaries = {}
    try:
        for key in keys:
            case = CASES[key]
            print(f"\n{case.name}", flush=True)
            case_runs = []
            for seed in seeds:
                case_runs += run_seed(key, case, seed, work, lambda run: print(describe(run), flush=True))
            summaries[key] = summarize(case_runs)
            runs += case_runs
        for key in keys:
            print_summary(CASES[key], summaries[key])
    finally:
        if args.keep:
            print(f"\nkept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    info["commit_end"] = library_state()
    if info["commit_end"] != info["commit"]:
        print(f"\nthe library changed during the run: {info['commit']} -> {info['commit_end']}")
    unreached = [f"{r.case} {r.variant} seed {r.seed}" for r in runs if not r.stop]
    if unreached:
        print("\ndid not reach the stop value: " + "; ".join(unreached))
    record = {"machine": info, "seeds": seeds, "summary": summaries, "runs": [asdict(r) for r in runs]}
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
