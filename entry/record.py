"""``record`` / ``ding record``: roll out a policy in the config's env and write a LeRobot v3.0 dataset.

The policy is a checkpoint or ``pretrained_model/`` folder (``load_path``, played greedily) or a scripted
controller passed from Python (``controller(obs_batch) -> action_batch``). The config's
``collector_env_num`` envs are stepped together; each finished episode is saved at once (durable: see
:mod:`ding_lite.datasets.writer`), until ``episodes`` have been recorded in this session.

Frames are the observation (``observation.state``; ``observation.image`` for pixel envs, uint8 PNG
frames; both for ``obs_type='pixels_state'``), ``action`` in the env's own units (pendulum's ``act_scale``
input in [-1, 1] is recorded as the torque it applies), ``next.reward``, ``next.done`` and the task.
With ``policy.intervention`` in the config (or ``intervention=`` a callable), the intervening controller
takes over where its rule says so (:mod:`ding_lite.intervention`): ``action`` is then the executed action
(the controller's where it intervened) and a bool column ``is_intervention`` (shape [1]) says where.
Env ``i`` is seeded with ``seed + i + (episodes already in the dataset)``, so a resumed recording does not
repeat the first session's episodes. ``meta/recording.json`` lists what
produced each session's episodes.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
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
from ding_lite.intervention.controller import Controller, acting_policy
from ding_lite.intervention.session import Intervention, build_intervention
from ding_lite.utils.files import write_atomic
from ding_lite.utils.obs import take

RECORDING_PATH = "meta/recording.json"
IN_FLIGHT = 4  # batches of finished episodes waiting for the writer thread, at most


def record(
    input_cfg: ConfigInput,
    out: str | Path,
    episodes: int,
    *,
    load_path: str | Path | None = None,
    controller: Controller | None = None,
    intervention: Controller | None = None,
    task: str = "",
    noise: float = 0.0,
    seed: int = 0,
    resume: bool = False,
    fps: int | None = None,
    quiet: bool = False,
    source: str | None = None,
) -> dict[str, Any]:
    """Record ``episodes`` episodes into ``out``; returns a summary (episodes, frames, seconds, path).

    ``controller`` is the policy recorded; ``intervention`` a controller that takes over from it (module
    docstring)."""
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
    takeover = build_intervention(cfg.policy, spec, env.env_num, intervention)
    flagged = takeover is not None
    writer = (
        DatasetWriter.resume(out)
        if resume
        else DatasetWriter.create(
            out, fps or env_fps(env), dataset_features(spec, flagged), robot_type=str(cfg.env.type)
        )
    )
    _check_fits(writer, spec, out, flagged)
    first = writer.total_episodes
    task = task or (writer.tasks[-1] if writer.tasks else str(cfg.exp_name))
    started = time.perf_counter()
    frames = _roll_out(env, writer, act, episodes, task, noise, seed + first, quiet, takeover)
    env.close()
    writer.finalize()
    seconds = time.perf_counter() - started
    producer = str(load_path) if load_path else getattr(controller, "__qualname__", type(controller).__name__)
    _note_session(Path(out), {
        "episodes": [first, writer.total_episodes], "ding_lite": __version__, "config": source.strip("'"),
        "policy": producer, "intervention": takeover.name if takeover is not None else None, "noise": noise,
        "seed": seed, "task": task,
    })  # fmt: skip
    return {"path": str(out), "episodes": writer.total_episodes - first, "frames": frames, "seconds": seconds,
            "total_episodes": writer.total_episodes}  # fmt: skip


def dataset_features(spec: EnvSpec, intervention: bool = False) -> dict[str, dict[str, Any]]:
    """The features one frame of this env records (``is_intervention`` too with an intervention controller)."""
    if spec.action_kind == "discrete":
        action = {"dtype": "int64", "shape": [1], "names": None}
    else:
        action = {"dtype": "float32", "shape": [spec.action_shape], "names": None}
    observation: dict[str, dict[str, Any]] = {}
    if spec.obs_type in ("pixels", "pixels_state"):
        _, height, width = spec.obs_shape
        observation["observation.image"] = {
            "dtype": "image", "shape": [height, width, 3], "names": ["height", "width", "channels"]
        }  # fmt: skip
    state_shape = spec.state_shape if spec.obs_type == "pixels_state" else spec.obs_shape
    if spec.obs_type != "pixels" and state_shape is not None:
        observation["observation.state"] = {"dtype": "float32", "shape": list(state_shape), "names": None}
    return {
        **observation,
        "action": action,
        "next.reward": {"dtype": "float32", "shape": [1], "names": None},
        "next.done": {"dtype": "bool", "shape": [1], "names": None},
        # ding_lite's addition: true on an episode's last frame when only a time limit ended it (next.done is
        # true at every ending, as LeRobot writes it); RL from the dataset bootstraps there, not at terminals
        "next.truncated": {"dtype": "bool", "shape": [1], "names": None},
        **({"is_intervention": {"dtype": "bool", "shape": [1], "names": None}} if intervention else {}),
    }


def env_fps(env: VectorEnvManager) -> int:
    """Steps per second of simulated time (the env's ``fps``: 1 / its time step), else 30."""
    found = env.envs[0].fps
    return round(float(found)) if found else 30


def _policy_actor(cfg: Any, load_path: str | Path | None, source: str) -> Controller:
    path = str(load_path or cfg.policy.load_path or "")
    if not path:
        raise ConfigError(f"nothing to record with: pass --load-path (a checkpoint or pretrained_model/) for {source}")
    forward: Controller = acting_policy(path, cfg.policy).eval_mode.forward
    return forward


def _check_fits(writer: DatasetWriter, spec: EnvSpec, out: str | Path, intervention: bool) -> None:
    wanted = dataset_features(spec, intervention)
    for name, entry in wanted.items():
        have = writer.features.get(name)
        if have is None or have.dtype != entry["dtype"] or list(have.shape) != entry["shape"]:
            got = "missing" if have is None else f"{have.dtype} {list(have.shape)}"
            raise DatasetError(
                f"'{out}' records '{name}' as {got} but this env gives {entry['dtype']} {entry['shape']}; "
                "record into a new folder"
            )


def _noisy(actions: np.ndarray, env: VectorEnvManager, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Actions with exploration noise, in the range ``step`` takes them (``input_action_bounds``)."""
    spec = env.spec
    if noise == 0:
        return actions
    if spec.action_kind == "discrete":
        random = rng.integers(0, spec.action_shape, size=actions.shape)
        return np.where(rng.random(actions.shape) < noise, random, actions)
    low, high = env.envs[0].input_action_bounds() or (-1.0, 1.0)
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
    intervention: Intervention | None = None,
) -> int:
    """Step all envs until ``episodes`` episodes have finished and been saved; returns frames written.

    Finished episodes are saved in order by one writer thread while the envs go on stepping (Parquet
    encoding and fsync release the GIL), those that end on the same step in one commit; at most
    ``IN_FLIGHT`` batches wait. A save that fails stops the run with
    its error; an episode counts as recorded once its save has returned.
    """
    spec = env.spec
    rng = np.random.default_rng(seed)
    env.seed(seed)
    obs = env.reset()
    n = env.env_num
    pending: list[Steps] = [[] for _ in range(n)]
    write_truncated = "next.truncated" in writer.features  # a dataset recorded before it existed goes without
    flagged = "is_intervention" in writer.features  # all False when this session has no controller
    if intervention is not None:
        intervention.restart_episodes()
    submitted = frames = 0
    saves: deque[Future[int]] = deque()
    shown = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ding-record-writer") as saver:
        while submitted < episodes:
            actions = _noisy(np.asarray(act(obs)), env, noise, rng)
            flags = np.zeros(n, dtype=bool)
            if intervention is not None:
                actions, flags = intervention.decide(obs, actions)
            step = env.step(actions)
            if intervention is not None:
                intervention.advance(flags, step.done | step.dropped)
            native = env.envs[0].native_action(actions)
            for i in range(n):
                pending[i].append((take(obs, i), native[i], float(step.reward[i]), bool(flags[i])))
            for lost in np.flatnonzero(step.dropped):  # its env worker failed: the episode is not recorded
                pending[lost] = []
            finished = []
            for ended in np.flatnonzero(step.done):
                if submitted < episodes:
                    finished.append((pending[ended], bool(step.truncated[ended]) if write_truncated else None))
                    submitted += 1
                pending[ended] = []
            if finished:  # episodes that end on the same step are saved in one commit
                saves.append(saver.submit(_save, writer, finished, spec, task, flagged))
            obs = step.obs
            while saves and (saves[0].done() or len(saves) > IN_FLIGHT):  # a failed save raises here
                frames += saves.popleft().result()
            if not quiet and time.perf_counter() - shown > 0.5:
                shown = time.perf_counter()
                _progress(submitted - len(saves), episodes, frames, writer.total_episodes)
        while saves:
            frames += saves.popleft().result()
    if not quiet:
        _progress(episodes, episodes, frames, writer.total_episodes, end="\n")
    return frames


Steps = list[tuple[Any, np.ndarray, float, bool]]  # observation, native action, reward, intervened


def _save(
    writer: DatasetWriter, finished: list[tuple[Steps, bool | None]], spec: EnvSpec, task: str, flagged: bool
) -> int:
    """Save whole episodes of steps, each with whether a time limit alone ended it (None: the dataset has no
    next.truncated), in one commit; ``flagged``: the dataset has ``is_intervention``. Returns frames."""
    writer.save_episodes([(_episode_values(steps, spec, truncated, flagged), task) for steps, truncated in finished])
    return sum(len(steps) for steps, _ in finished)


def _episode_values(steps: Steps, spec: EnvSpec, truncated: bool | None, flagged: bool) -> dict[str, np.ndarray]:
    length = len(steps)
    actions = np.stack([np.asarray(step[1]) for step in steps])
    observations = [step[0] for step in steps]
    values: dict[str, np.ndarray] = {
        "action": actions.reshape(length, 1).astype(np.int64) if spec.action_kind == "discrete" else
        actions.reshape(length, -1).astype(np.float32),
        "next.reward": np.array([[step[2]] for step in steps], dtype=np.float32),
        "next.done": (np.arange(length) == length - 1).reshape(length, 1),
    }  # fmt: skip
    if truncated is not None:
        values["next.truncated"] = values["next.done"] & truncated
    if flagged:
        values["is_intervention"] = np.array([[step[3]] for step in steps], dtype=bool)
    if spec.obs_type == "state":
        values["observation.state"] = np.stack(observations).astype(np.float32)
    elif spec.obs_type == "pixels":
        values["observation.image"] = np.stack(observations)
    else:
        values["observation.image"] = np.stack([o["image"] for o in observations])
        values["observation.state"] = np.stack([o["state"] for o in observations]).astype(np.float32)
    return values


def _progress(saved: int, wanted: int, frames: int, total: int, end: str = "\r") -> None:
    sys.stderr.write(f"recorded {saved}/{wanted} episodes, {frames} frames ({total} episodes in the dataset){end}")
    sys.stderr.flush()


def _note_session(out: Path, session: dict[str, Any]) -> None:
    """Append what produced this session's episodes to ``meta/recording.json``."""
    path = out / RECORDING_PATH
    sessions = json.loads(path.read_text()) if path.is_file() else []
    sessions.append({**session, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    write_atomic(path, (json.dumps(sessions, indent=2) + "\n").encode())
