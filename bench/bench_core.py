"""ding_lite core benchmark: time to solve cartpole, peak memory, collector throughput and import cost.

Run from the repository root with the project's virtualenv::

    .venv/bin/python bench/bench_core.py            # full: 5 whole-process runs per algorithm
    .venv/bin/python bench/bench_core.py --runs 3   # fewer runs
    .venv/bin/python bench/bench_core.py --quick    # smoke check (< 60 s): 1 run each, fewer steps

Prints a readable table (figure, measurement, target, DI-engine's figure) and, as its last line, one
JSON object holding every measurement. See bench/README.md for what each figure means.

Nothing here changes the library: training runs use the ``ding`` console script in fresh temporary
directories, and the in-process measurements build the same objects ``ding`` builds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "dizoo_configs"
PYTHON = sys.executable

# The issue's targets and DI-engine 0.5.3's figures on the same machine class (docs: REFERENCE.md section 7).
TARGETS = {
    "solve_wall_s": 3.0,  # each cartpole run to 195, whole process
    "peak_rss_mib": 400.0,
    "collector_steps_per_s": 40_000.0,  # 8 envs, policy in the loop
    "import_overhead_s": 0.2,  # ding_lite + ding_lite.entry on top of torch + numpy
}
DI_ENGINE = {
    "ppo_wall_s": 8.6,
    "dqn_wall_s": 7.6,
    "peak_rss_mib": 960.0,
    "collector_steps_per_s": "6,500-8,700",
    "ppo_env_step": 9_280,
    "ppo_train_iter": 312,
    "dqn_env_step": 960,
    "dqn_train_iter": 600,
}

# name -> (ding mode, config file, label)
SOLVE_RUNS = {
    "ppo": ("serial_onpolicy", "cartpole_ppo_config.py", "cartpole PPO"),
    "dqn": ("serial", "cartpole_dqn_config.py", "cartpole DQN"),
}

ENV_NUM = 8
HEAVY_MODULES = ("tensorboardX", "gymnasium", "gym", "tensorboard", "torch._dynamo")


# --- helpers ----------------------------------------------------------------------------------------


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of some measurements (and the measurements themselves)."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "all": [round(v, 4) for v in values],
    }


def verdict(value: float, target: float, higher_is_better: bool = False) -> str:
    ok = value >= target if higher_is_better else value <= target
    return "ok" if ok else "MISS"


def ding_command() -> list[str]:
    """The ``ding`` console script next to this interpreter, else the same CLI through ``-m``."""
    script = Path(PYTHON).parent / "ding"
    if script.exists():
        return [str(script)]
    return [PYTHON, "-m", "ding_lite.entry.cli"]


class Child:
    """One finished child process: exit code, wall and CPU seconds, its own peak RSS (MiB), stderr."""

    def __init__(self, code: int, wall: float, cpu: float, rss_mib: float, stderr: str) -> None:
        self.code, self.wall, self.cpu, self.rss_mib, self.stderr = code, wall, cpu, rss_mib, stderr


def run_child(argv: list[str], cwd: str) -> Child:
    """Run ``argv`` in ``cwd`` and reap it with ``os.wait4`` to get that child's own resource usage."""
    with tempfile.TemporaryFile() as err:
        with open(os.devnull, "wb") as out:
            start = time.perf_counter()
            proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code  # reaped by wait4: tell Popen so it never waits on the pid again
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    # ru_maxrss is in KiB on Linux.
    return Child(code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, stderr)


def git_revision() -> str:
    """The checked-out commit, with ``+dirty`` when tracked files under ding_lite/ or entry/ are modified."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "ding_lite", "entry"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def log(message: str = "") -> None:
    print(message, flush=True)


# --- 1. whole-process runs to the stop value ----------------------------------------------------------


def bench_solve(name: str, runs: int) -> dict[str, Any]:
    mode, config, label = SOLVE_RUNS[name]
    walls: list[float] = []
    cpus: list[float] = []
    rss: list[float] = []
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix=f"ding_bench_{name}_") as tmp:
            argv = ding_command() + ["-q", "-m", mode, "-c", str(CONFIG_DIR / config), "-s", "0"]
            child = run_child(argv, tmp)
            results = sorted(Path(tmp).glob("*/result.json"))
            record: dict[str, Any] = {
                "exit_code": child.code,
                "wall_s": round(child.wall, 3),
                "cpu_s": round(child.cpu, 3),
                "peak_rss_mib": round(child.rss_mib, 1),
            }
            if child.code != 0:
                problems.append(f"run {run}: exit code {child.code}: {child.stderr.strip()[-400:]}")
            if len(results) != 1:
                problems.append(f"run {run}: expected one <exp>/result.json, found {len(results)}")
            else:
                result = json.loads(results[0].read_text())
                record.update({k: result.get(k) for k in ("stop", "train_iter", "env_step", "wall_time_s")})
                if result.get("stop") is not True:
                    problems.append(f"run {run}: stop is {result.get('stop')!r}: the stop value was not reached")
        walls.append(child.wall)
        cpus.append(child.cpu)
        rss.append(child.rss_mib)
        records.append(record)
        log(
            f"  {label} run {run + 1}/{runs}: {child.wall:.2f} s whole process ({child.cpu:.2f} s CPU), "
            f"{child.rss_mib:.0f} MiB peak RSS, "
            f"stop={record.get('stop')} train_iter={record.get('train_iter')} env_step={record.get('env_step')} "
            f"in-process {record.get('wall_time_s')} s"
        )
    inproc = [r["wall_time_s"] for r in records if isinstance(r.get("wall_time_s"), (int, float))]
    for key in ("train_iter", "env_step"):
        seen = {r.get(key) for r in records}
        if len(seen) > 1:
            problems.append(f"{key} differs between runs with the same seed: {sorted(seen, key=str)}")
    return {
        "label": label,
        "command": f"ding -q -m {mode} -c dizoo_configs/{config} -s 0",
        "runs": runs,
        "wall_s": summary(walls),
        "cpu_s": summary(cpus),
        "in_process_wall_s": summary(inproc) if inproc else None,
        "peak_rss_mib_max": max(rss),
        "all_stopped": all(r.get("stop") is True for r in records),
        "train_iter": [r.get("train_iter") for r in records],
        "env_step": [r.get("env_step") for r in records],
        "records": records,
        "problems": problems,
    }


# --- 2. collector throughput (in process) -----------------------------------------------------------


def build_collector(config: str, tmp: str) -> tuple[Any, Any, Any, Any]:
    """(compiled cfg, policy, manager, collector) for a dizoo config, as ``ding`` builds them, with 8 envs."""
    import torch

    from ding_lite.config import compile_config, read_config
    from ding_lite.envs import make_env_manager
    from ding_lite.policy import POLICY_REGISTRY
    from ding_lite.utils.log import ExperimentLogger
    from ding_lite.utils.rng import seed_everything
    from ding_lite.worker import SampleCollector

    main, create = read_config(CONFIG_DIR / config)
    cfg = compile_config((main, create), 0, save_cfg=False)
    seed_everything(0)
    torch.set_num_threads(1)  # as build_experiment does
    policy = POLICY_REGISTRY.get(str(cfg.policy.type))(cfg.policy)
    policy.seed(0)
    env = make_env_manager(cfg.env, cfg.env.manager, ENV_NUM)
    env.seed(0)
    logger = ExperimentLogger(tmp)
    collector = SampleCollector(cfg.policy.collect.collector, env, policy, logger)
    return cfg, policy, env, collector


def rate(fn: Callable[[], int], repeats: int) -> dict[str, Any]:
    """Steps per second of ``fn`` (which returns the env steps it made), median over ``repeats`` calls."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        steps = fn()
        rates.append(steps / (time.perf_counter() - start))
    return summary(rates)


def bench_collector(min_steps: int, repeats: int) -> dict[str, Any]:
    import numpy as np
    import torch

    from ding_lite.data import NStepTransitions
    from ding_lite.envs import CartPoleEnv, make_env_manager

    out: dict[str, Any] = {"env_num": ENV_NUM, "min_steps_per_repeat": min_steps, "repeats": repeats}
    with tempfile.TemporaryDirectory(prefix="ding_bench_collector_") as tmp:
        # PPO: collect_rollout, as the on-policy entry calls it (n_sample=256), and in big calls.
        cfg, policy, env, collector = build_collector("cartpole_ppo_config.py", tmp)
        n_sample = int(cfg.policy.collect.n_sample)
        collector.collect_rollout(n_sample * 4, 0)  # warm-up

        def rollout(per_call: int) -> Callable[[], int]:
            def run() -> int:
                start = collector.env_step
                while collector.env_step - start < min_steps:
                    collector.collect_rollout(per_call, 0)
                return collector.env_step - start

            return run

        big = n_sample * max(1, min_steps // (n_sample * 8))  # about 8 calls per repeat
        out["ppo_rollout_n256"] = {"n_sample": n_sample, **rate(rollout(n_sample), repeats)}
        out["ppo_rollout_big"] = {"n_sample": big, **rate(rollout(big), repeats)}

        # Policy forward alone, batch 8 (what the collector calls once per vector step).
        obs = env.reset()
        forward = policy.collect_mode.forward
        out["ppo_forward_us"] = forward_us(lambda: forward(obs, env_step=0), min_steps // ENV_NUM)
        model = policy.model
        obs_t = torch.as_tensor(obs)

        def torch_forward() -> Any:
            with torch.no_grad():
                return model.compute_actor(obs_t)

        out["ppo_torch_actor_forward_us"] = forward_us(torch_forward, min_steps // ENV_NUM)
        env.close()
        collector.logger.close()

        # DQN: collect_transitions with n-step assembly, n_sample=8 per call as the config, and one big call.
        cfg, policy, env, collector = build_collector("cartpole_dqn_config.py", tmp)
        n_sample = int(cfg.policy.collect.n_sample)
        nstep = NStepTransitions(ENV_NUM, *policy.nstep_and_gamma())
        collector.collect_transitions(2_000, 0, nstep)  # warm-up

        def transitions(per_call: int) -> Callable[[], int]:
            def run() -> int:
                start = collector.env_step
                while collector.env_step - start < min_steps:
                    collector.collect_transitions(per_call, 0, nstep)
                return collector.env_step - start

            return run

        out["dqn_transitions_n8"] = {"n_sample": n_sample, **rate(transitions(n_sample), repeats)}
        out["dqn_transitions_big"] = {"n_sample": min_steps, **rate(transitions(min_steps), repeats)}
        obs = env.reset()
        forward = policy.collect_mode.forward
        out["dqn_forward_us"] = forward_us(lambda: forward(obs, env_step=0), min_steps // ENV_NUM)
        env.close()
        collector.logger.close()

    # The manager alone: 8 cartpole envs, uniformly random actions drawn beforehand, no policy.
    env = make_env_manager({"type": "cartpole"}, {"type": "base"}, ENV_NUM)
    env.seed(0)
    env.reset()
    vec_steps = -(-min_steps // ENV_NUM)
    actions = np.random.default_rng(0).integers(0, 2, (vec_steps, ENV_NUM))

    def manager_only() -> int:
        for row in actions:
            env.step(row)
        return vec_steps * ENV_NUM

    manager_only()  # warm-up
    out["manager_only"] = rate(manager_only, repeats)
    env.close()

    # One CartPole env alone (python physics), for scale.
    single = CartPoleEnv({})
    single.seed(0)
    single.reset()
    flat_actions = actions.reshape(-1).tolist()

    def single_env() -> int:
        for action in flat_actions:
            _, _, terminated, truncated = single.step_list(action)
            if terminated or truncated:
                single.reset_list()
        return len(flat_actions)

    single_env()
    out["single_env"] = rate(single_env, repeats)
    single.close()
    return out


def forward_us(fn: Callable[[], Any], calls: int) -> dict[str, Any]:
    """Microseconds per call of ``fn``, median of 5 timed blocks of ``calls // 5`` calls."""
    calls = max(calls // 5, 100)
    for _ in range(calls):
        fn()
    blocks = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        blocks.append((time.perf_counter() - start) / calls * 1e6)
    return summary(blocks)


# --- 3. import cost ---------------------------------------------------------------------------------

IMPORT_BASE = "import torch, numpy"
IMPORT_LITE = "import torch, numpy, ding_lite, ding_lite.entry"


def time_python(code: str) -> Child:
    child = run_child([PYTHON, "-c", code], tempfile.gettempdir())
    if child.code != 0:
        raise RuntimeError(f"python -c {code!r} failed ({child.code}): {child.stderr.strip()[-400:]}")
    return child


def probe_ding_lite_import() -> tuple[float, dict[str, bool]]:
    """One ``python -X importtime`` run of the ding_lite import line.

    Returns the seconds Python itself reports for importing ding_lite and ding_lite.entry on top of torch
    and numpy (the top-level entries' cumulative times: insensitive to background load) and, for each name
    in HEAVY_MODULES, whether it ended up in ``sys.modules``.
    """
    probe = (
        f"{IMPORT_LITE}\nimport json, sys\nprint(json.dumps({{n: n in sys.modules for n in {list(HEAVY_MODULES)!r}}}))"
    )
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    total_us = 0
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        top_level = len(name) - len(name.lstrip()) == 1
        if top_level and name.strip().split(".")[0] == "ding_lite":
            total_us += int(parts[1])
    return total_us / 1e6, json.loads(proc.stdout)


def bench_import(runs: int) -> dict[str, Any]:
    # Untimed first probes: warm the file cache, measure with -X importtime, check the heavy modules.
    probes = [probe_ding_lite_import() for _ in range(max(1, runs // 2))]
    loaded = probes[0][1]
    base: list[Child] = []
    lite: list[Child] = []
    for _ in range(runs):  # interleaved so that background load hits both alike
        base.append(time_python(IMPORT_BASE))
        lite.append(time_python(IMPORT_LITE))
    base_wall, lite_wall = [c.wall for c in base], [c.wall for c in lite]
    base_cpu, lite_cpu = [c.cpu for c in base], [c.cpu for c in lite]
    return {
        "runs": runs,
        "torch_numpy_s": summary(base_wall),
        "torch_numpy_ding_lite_s": summary(lite_wall),
        "overhead_s": statistics.median(lite_wall) - statistics.median(base_wall),
        "torch_numpy_cpu_s": summary(base_cpu),
        "torch_numpy_ding_lite_cpu_s": summary(lite_cpu),
        "overhead_cpu_s": statistics.median(lite_cpu) - statistics.median(base_cpu),
        "importtime_ding_lite_s": summary([p[0] for p in probes]),
        "entry_imports": loaded,
    }


# --- report -----------------------------------------------------------------------------------------


def table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("figure", "measured", "target", "DI-engine")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(res: dict[str, Any]) -> list[str]:
    """Prints the summary table; returns the list of problems found."""
    problems: list[str] = []
    rows: list[tuple[str, str, str, str]] = []
    imp = res.get("import")
    if imp:
        rows.append(("import torch, numpy (bare, machine)", f"{imp['torch_numpy_s']['median']:.2f} s", "-", "-"))
        over = imp["overhead_s"]
        rows.append(
            (
                "import overhead of ding_lite + entry",
                f"{over:+.3f} s  [{verdict(over, TARGETS['import_overhead_s'])}]",
                f"<= {TARGETS['import_overhead_s']} s",
                "~1.9 s (3.3 s, deps 1.4 s)",
            )
        )
        over_cpu = imp["overhead_cpu_s"]
        rows.append(("  same, CPU time (user+sys) of the child", f"{over_cpu:+.3f} s", "-", "-"))
        own = imp["importtime_ding_lite_s"]["median"]
        rows.append(("  same, python -X importtime of ding_lite*", f"{own:.3f} s", "-", "-"))
        for name in ("tensorboardX", "gymnasium"):
            hit = imp["entry_imports"].get(name)
            rows.append((f"ding_lite.entry imports {name}", f"{'YES' if hit else 'no'}", "no", "-"))
            if hit:
                problems.append(f"importing ding_lite.entry imports {name}")
    for name in ("ppo", "dqn"):
        solve = res.get("solve", {}).get(name)
        if not solve:
            continue
        wall = solve["wall_s"]
        tag = verdict(wall["median"], TARGETS["solve_wall_s"])
        rows.append(
            (
                f"{solve['label']} to 195, whole process",
                f"{wall['median']:.2f} s (min {wall['min']:.2f}, max {wall['max']:.2f}) [{tag}]",
                f"<= {TARGETS['solve_wall_s']} s",
                f"{DI_ENGINE[name + '_wall_s']} s",
            )
        )
        rows.append((f"{solve['label']} whole process, CPU time", f"{solve['cpu_s']['median']:.2f} s", "-", "-"))
        if solve["in_process_wall_s"]:
            rows.append(
                (
                    f"{solve['label']} in-process wall_time_s",
                    f"{solve['in_process_wall_s']['median']:.2f} s",
                    "-",
                    "-",
                )
            )
        rows.append(
            (
                f"{solve['label']} train_iter / env_step",
                f"{_same(solve['train_iter'])} / {_same(solve['env_step'])}",
                "-",
                f"{DI_ENGINE[name + '_train_iter']} / {DI_ENGINE[name + '_env_step']}",
            )
        )
        rss = solve["peak_rss_mib_max"]
        rows.append(
            (
                f"{solve['label']} peak RSS (max of runs)",
                f"{rss:.0f} MiB [{verdict(rss, TARGETS['peak_rss_mib'])}]",
                f"<= {TARGETS['peak_rss_mib']:.0f} MiB",
                f"{DI_ENGINE['peak_rss_mib']:.0f} MiB",
            )
        )
        if not solve["all_stopped"]:
            problems.append(f"{solve['label']}: not every run reached the stop value")
        problems += [f"{solve['label']}: {p}" for p in solve["problems"]]
    col = res.get("collector")
    if col:
        target = f">= {TARGETS['collector_steps_per_s']:,.0f}/s"
        for key, label in (
            ("ppo_rollout_n256", "collector PPO collect_rollout n_sample=256"),
            ("ppo_rollout_big", f"collector PPO collect_rollout n_sample={col['ppo_rollout_big']['n_sample']}"),
            ("dqn_transitions_n8", "collector DQN collect_transitions n_sample=8"),
            (
                "dqn_transitions_big",
                f"collector DQN collect_transitions n_sample={col['dqn_transitions_big']['n_sample']}",
            ),
        ):
            value = col[key]["median"]
            tag = verdict(value, TARGETS["collector_steps_per_s"], higher_is_better=True)
            rows.append((label, f"{value:,.0f} env steps/s [{tag}]", target, DI_ENGINE["collector_steps_per_s"]))
        rows.append(
            ("manager alone (8 envs, random actions)", f"{col['manager_only']['median']:,.0f} env steps/s", "-", "-")
        )
        rows.append(
            ("one CartPoleEnv alone", f"{col['single_env']['median']:,.0f} env steps/s", "-", "~150,000/s (Gymnasium)")
        )
        rows.append(("PPO collect forward, batch 8", f"{col['ppo_forward_us']['median']:.1f} us/call", "-", "-"))
        rows.append(
            (
                "PPO torch actor forward, batch 8",
                f"{col['ppo_torch_actor_forward_us']['median']:.1f} us/call",
                "-",
                "~31 us",
            )
        )
        rows.append(("DQN collect forward, batch 8", f"{col['dqn_forward_us']['median']:.1f} us/call", "-", "-"))
    log(table(rows))
    return problems


def _same(values: list[Any]) -> str:
    distinct = sorted({str(v) for v in values})
    return distinct[0] if len(distinct) == 1 else "varies: " + ",".join(distinct)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="whole-process runs per algorithm (default 5)")
    parser.add_argument("--quick", action="store_true", help="smoke check: 1 run each, fewer steps (< 60 s)")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(1, args.runs)
    import_runs = 2 if args.quick else 7
    min_steps = 10_000 if args.quick else 50_000
    repeats = 3

    import numpy
    import torch

    res: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "revision": git_revision(),
        "quick": args.quick,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": numpy.__version__,
            "nproc": os.cpu_count(),
            "sched_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "loadavg_start": [round(v, 2) for v in os.getloadavg()],
            "dont_write_bytecode": bool(sys.flags.dont_write_bytecode),
        },
        "targets": TARGETS,
        "di_engine": DI_ENGINE,
    }
    machine = res["machine"]
    log(f"ding_lite bench  {res['date']}  rev {res['revision']}")
    log(
        f"machine: python {machine['python']}  torch {machine['torch']}  numpy {machine['numpy']}  "
        f"nproc {machine['nproc']}  load average {machine['loadavg_start']}"
    )
    if machine["dont_write_bytecode"]:
        log("note: PYTHONDONTWRITEBYTECODE is set: ding_lite's modules are compiled from source at every import")
    log(f"targets (issue): {json.dumps(TARGETS)}")
    log(f"DI-engine 0.5.3 on this machine class: {json.dumps(DI_ENGINE)}")
    log(f"\n[3] import cost ({import_runs} interleaved runs each)")
    res["import"] = bench_import(import_runs)
    log(
        f"  import torch, numpy: {res['import']['torch_numpy_s']['median']:.2f} s; with ding_lite, ding_lite.entry: "
        f"{res['import']['torch_numpy_ding_lite_s']['median']:.2f} s"
    )
    log(
        f"\n[2] collector throughput ({ENV_NUM} cartpole envs, >= {min_steps:,} env steps per repeat, "
        f"{repeats} repeats)"
    )
    res["collector"] = bench_collector(min_steps, repeats)
    log(f"\n[1] whole-process runs to the stop value ({runs} run(s) each, fresh temp dir as cwd)")
    res["solve"] = {name: bench_solve(name, runs) for name in SOLVE_RUNS}
    res["machine"]["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    log(f"\nsummary (load avg at end {res['machine']['loadavg_end']}; nproc {res['machine']['nproc']})")
    problems = report(res)
    res["problems"] = problems
    if problems:
        log("\nproblems:")
        for problem in problems:
            log(f"  - {problem}")
    log(json.dumps(res, separators=(",", ":")))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
