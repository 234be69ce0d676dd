"""``record`` / ``ding record``: roll out a policy in the config's env and write a LeRobot v3.0 dataset.

The policy is a checkpoint or ``pretrained_model/`` folder (``load_path``, played greedily) or a scripted
controller passed from Python (``controller(obs_batch) -> action_batch``). The config's
``collector_env_num`` envs are stepped together; each finished episode is saved at once (durable: see
:mod:`ding_lite.datasets.writer`), until ``episodes`` have been recorded in this session.

Frames are ``observation.state`` (the observation), ``action`` (in the env's own units), ``next.reward``,
``next.done`` and the task. Env ``i`` is seeded with ``seed + i + (episodes already in the dataset)``,
so a resumed recording does not repeat the first session's episodes. ``meta/recording.json`` lists what
produced each session's episodes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ding_lite import __version__
from ding_lite.datasets.format import DatasetError
from ding_lite.datasets.writer import DatasetWriter
from ding_lite.entry.build import ConfigInput, load_input_config
from ding_lite.envs import VectorEnvManager, make_env_manager
from ding_lite.envs.base import EnvSpec
from ding_lite.errors import ConfigError
from ding_lite.utils.files import write_atomic

Controller = Callable[[np.ndarray], np.ndarray]
RECORDING_PATH = "meta/recording.json"


def record(
    input_cfg: ConfigInput,
    out: str | Path,
    episodes: int,
    *,
    load_path: str | Path | None = None,
    controller: Controller | None = None,
    task: str = "",
    noise: float = 0.0,
    seed: int = 0,
    resume: bool = False,
    fps: int | None = None,
    quiet: bool = False,
    source: str | None = None,
) -> dict[str, Any]:
    """Record ``episodes`` episodes into ``out``; returns a summary (episodes, frames, seconds, path)."""
    from ding_lite.config import compile_config
    from ding_lite.utils.rng import seed_everything
    from ding_lite.utils.threads import single_thread_compute

    if episodes < 1:
        raise ConfigError(f"--episodes is {episodes}; record at least 1 episode")
    if noise < 0:
        raise ConfigError(f"--noise is {noise}; it must be >= 0")
    main, create, source = load_input_config(input_cfg, source)
    cfg = compile_config((main, create), seed, source=source, save_cfg=False)
    seed_everything(seed)
    single_thread_compute()
    env = make_env_manager(cfg.env, cfg.env.manager, int(cfg.env.collector_env_num))
    spec = env.spec
    act = controller if controller is not None else _policy_actor(cfg, load_path, source)
    writer = (
        DatasetWriter.resume(out)
        if resume
        else DatasetWriter.create(out, fps or env_fps(env), dataset_features(spec), robot_type=str(cfg.env.type))
    )
    _check_fits(writer, spec, out)
    first = writer.total_episodes
    task = task or (writer.tasks[-1] if writer.tasks else str(cfg.exp_name))
    started = time.perf_counter()
    frames = _roll_out(env, writer, act, episodes, task, noise, seed + first, quiet)
    env.close()
    writer.finalize()
    seconds = time.perf_counter() - started
    _note_session(Path(out), source, load_path, controller, noise, seed, first, writer.total_episodes, task)
    return {"path": str(out), "episodes": writer.total_episodes - first, "frames": frames, "seconds": seconds,
            "total_episodes": writer.total_episodes}  # fmt: skip


def dataset_features(spec: EnvSpec) -> dict[str, dict[str, Any]]:
    """The features one frame of this env records."""
    if spec.action_kind == "discrete":
        action = {"dtype": "int64", "shape": [1], "names": None}
    else:
        action = {"dtype": "float32", "shape": [spec.action_shape], "names": None}
    return {
        "observation.state": {"dtype": "float32", "shape": list(spec.obs_shape), "names": None},
        "action": action,
        "next.reward": {"dtype": "float32", "shape": [1], "names": None},
        "next.done": {"dtype": "bool", "shape": [1], "names": None},
    }


def env_fps(env: VectorEnvManager) -> int:
    """Steps per second of simulated time: the env's ``fps``, else 1 / its time step, else 30."""
    inner = env.envs[0]
    found = getattr(inner, "fps", None)
    if found is None:
        gym_env = getattr(inner, "env", None)
        found = getattr(gym_env, "metadata", {}).get("render_fps") if gym_env is not None else None
    return round(float(found)) if found else 30


def _policy_actor(cfg: Any, load_path: str | Path | None, source: str) -> Controller:
    from ding_lite.checkpoint.partial import partial_load
    from ding_lite.checkpoint.pretrained import read_weights
    from ding_lite.policy import POLICY_REGISTRY

    path = str(load_path or cfg.policy.load_path or "")
    if not path:
        raise ConfigError(f"nothing to record with: pass --load-path (a checkpoint or pretrained_model/) for {source}")
    weights, _ = read_weights(path, what="checkpoint")
    policy = POLICY_REGISTRY.get(str(cfg.policy.type))(cfg.policy)
    partial_load(policy.model, weights, source=path, strict=True, hint="")
    forward: Controller = policy.eval_mode.forward
    return forward


def _check_fits(writer: DatasetWriter, spec: EnvSpec, out: str | Path) -> None:
    wanted = dataset_features(spec)
    for name, entry in wanted.items():
        have = writer.features.get(name)
        if have is None or have.dtype != entry["dtype"] or list(have.shape) != entry["shape"]:
            got = "missing" if have is None else f"{have.dtype} {list(have.shape)}"
            raise DatasetError(
                f"'{out}' records '{name}' as {got} but this env gives {entry['dtype']} {entry['shape']}; "
                "record into a new folder"
            )


def _noisy(actions: np.ndarray, spec: EnvSpec, noise: float, rng: np.random.Generator) -> np.ndarray:
    if noise == 0:
        return actions
    if spec.action_kind == "discrete":
        random = rng.integers(0, spec.action_shape, size=actions.shape)
        return np.where(rng.random(actions.shape) < noise, random, actions)
    low = -1.0 if spec.action_low is None else spec.action_low
    high = 1.0 if spec.action_high is None else spec.action_high
    jitter = rng.standard_normal(actions.shape) * noise * (high - low) / 2
    return np.clip(actions + jitter, low, high).astype(actions.dtype, copy=False)


def _roll_out(
    env: VectorEnvManager,
    writer: DatasetWriter,
    act: Controller,
    episodes: int,
    task: str,
    noise: float,
    seed: int,
    quiet: bool,
) -> int:
    """Step all envs until ``episodes`` episodes have finished and been saved; returns frames written."""
    spec = env.spec
    rng = np.random.default_rng(seed)
    env.seed(seed)
    obs = env.reset()
    n = env.env_num
    pending: list[list[tuple[np.ndarray, np.ndarray, float]]] = [[] for _ in range(n)]
    saved = frames = 0
    shown = time.perf_counter()
    while saved < episodes:
        actions = _noisy(np.asarray(act(obs)), spec, noise, rng)
        step = env.step(actions)
        for i in range(n):
            pending[i].append((obs[i], actions[i], float(step.reward[i])))
        for ended in np.flatnonzero(step.done):
            if saved < episodes:
                frames += _save(writer, pending[ended], spec, task)
                saved += 1
            pending[ended] = []
        obs = step.obs
        if not quiet and time.perf_counter() - shown > 0.5:
            shown = time.perf_counter()
            _progress(saved, episodes, frames, writer.total_episodes)
    if not quiet:
        _progress(saved, episodes, frames, writer.total_episodes, end="\n")
    return frames


def _save(writer: DatasetWriter, steps: list[tuple[np.ndarray, np.ndarray, float]], spec: EnvSpec, task: str) -> int:
    length = len(steps)
    actions = np.stack([np.asarray(a) for _, a, _ in steps])
    values = {
        "observation.state": np.stack([o for o, _, _ in steps]).astype(np.float32),
        "action": actions.reshape(length, 1).astype(np.int64) if spec.action_kind == "discrete" else
        actions.reshape(length, -1).astype(np.float32),
        "next.reward": np.array([[r] for _, _, r in steps], dtype=np.float32),
        "next.done": (np.arange(length) == length - 1).reshape(length, 1),
    }  # fmt: skip
    writer.save_episode_arrays(values, task)
    return length


def _progress(saved: int, wanted: int, frames: int, total: int, end: str = "\r") -> None:
    sys.stderr.write(f"recorded {saved}/{wanted} episodes, {frames} frames ({total} episodes in the dataset){end}")
    sys.stderr.flush()


def _note_session(
    out: Path, source: str, load_path: Any, controller: Any, noise: float, seed: int, first: int, last: int, task: str
) -> None:
    path = out / RECORDING_PATH
    sessions = json.loads(path.read_text()) if path.is_file() else []
    producer = str(load_path) if load_path else getattr(controller, "__qualname__", type(controller).__name__)
    sessions.append({
        "episodes": [first, last], "ding_lite": __version__, "config": source.strip("'"), "policy": producer,
        "noise": noise, "seed": seed, "task": task, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })  # fmt: skip
    write_atomic(path, (json.dumps(sessions, indent=2) + "\n").encode())
