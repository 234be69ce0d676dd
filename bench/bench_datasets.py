"""Dataset speed (issue 10's figures): reading, opening, recording.

Usage: .venv/bin/python bench/bench_datasets.py [--quick]

1. Items one by one: ``ds[i]`` at random indices of the LeRobot fixture (tests/fixtures/lerobot/
   reacher_expert, state only, 2,500 frames): frames/s (target 30,000; LeRobot 0.4.4: 7,000-9,000).
2. Batches of 64 with ACT's 10-step action window (``ds.batch(idx, windows={'action': range(10)})``, every
   feature of the fixture): frames/s (target 100,000; LeRobot 0.4.4 about 700 through a DataLoader).
3. Opening a 1,000,000-frame state-only dataset (the fixture's features, written by ``DatasetWriter``
   as 1,000 episodes of 1,000 frames): seconds from ``LeRobotDataset(root)`` to ready (target < 1 s),
   median of 3, with the file cache warm.
4. Recording pendulum with a small policy (a 2x64 tanh MLP controller in torch), state only, with
   ``entry.record.record`` in-process: frames/s including every per-episode durable save (target
   20,000); and with ``obs_type='pixels'`` 64x64 frames, a small conv controller (8 filters of 8x8 at
   stride 4, then a linear layer), frames drawn in NumPy and stored as PNG (target 2,000).

Each figure is the median of 3 repeats; the load average is printed at the start and the end (a busy
machine slows everything). The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ding_lite.datasets import LeRobotDataset
from ding_lite.datasets.writer import DatasetWriter
from ding_lite.utils.threads import single_thread_compute

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "lerobot" / "reacher_expert"


def items_per_second(ds: LeRobotDataset, count: int) -> float:
    order = np.random.default_rng(0).integers(0, len(ds), size=count)
    start = time.perf_counter()
    for i in order:
        ds[int(i)]
    return count / (time.perf_counter() - start)


def batch_frames_per_second(ds: LeRobotDataset, batches: int) -> float:
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(batches):
        ds.batch(rng.integers(0, len(ds), size=64), windows={"action": range(10)})
    return batches * 64 / (time.perf_counter() - start)


def write_big(root: Path, episodes: int, length: int) -> None:
    features = {
        "observation.state": {"dtype": "float32", "shape": [10], "names": None},
        "observation.environment_state": {"dtype": "float32", "shape": [2], "names": None},
        "action": {"dtype": "float32", "shape": [2], "names": None},
        "next.reward": {"dtype": "float32", "shape": [1], "names": None},
        "next.done": {"dtype": "bool", "shape": [1], "names": None},
    }
    writer = DatasetWriter.create(root, fps=50, features=features)
    rng = np.random.default_rng(0)
    for _ in range(episodes):
        done = np.zeros((length, 1), dtype=bool)
        done[-1] = True
        values = {
            "observation.state": rng.standard_normal((length, 10), dtype=np.float32),
            "observation.environment_state": rng.standard_normal((length, 2), dtype=np.float32),
            "action": rng.standard_normal((length, 2), dtype=np.float32),
            "next.reward": rng.standard_normal((length, 1), dtype=np.float32),
            "next.done": done,
        }
        writer.save_episode_arrays(values, "reach")
    writer.finalize()


def open_seconds(root: Path) -> float:
    start = time.perf_counter()
    ds = LeRobotDataset(root)
    seconds = time.perf_counter() - start
    assert len(ds) > 0
    return seconds


class TinyController:
    """A 2x64 tanh MLP in torch, as a small trained policy would be, acting on a batch of observations."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(3, 64), torch.nn.Tanh(), torch.nn.Linear(64, 64), torch.nn.Tanh(), torch.nn.Linear(64, 1)
        )

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return (2.0 * torch.tanh(self.net(torch.from_numpy(obs)))).numpy()


class TinyConvController:
    """8 filters of 8x8 at stride 4 over a 64x64 frame, then a linear layer to the torque."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 8, stride=4), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 15 * 15, 1)
        )

    @torch.no_grad()
    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return torch.tanh(self.net(torch.from_numpy(obs).float() / 255.0)).numpy()


def record_frames_per_second(folder: Path, episodes: int, pixels: bool = False) -> float:
    from ding_lite.config import read_config
    from ding_lite.entry.record import record

    main, create = read_config(REPO / "dizoo_configs" / "pendulum_sac_config.py")
    controller: Any = TinyController()
    if pixels:
        main["env"].update(obs_type="pixels", image_size=64)
        main["policy"]["model"]["obs_shape"] = [3, 64, 64]
        controller = TinyConvController()
    result = record((main, create), folder / "rec", episodes, controller=controller, task="swing up", quiet=True)
    return result["frames"] / result["seconds"]


def median_of(runs: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(runs), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts (a smoke check)")
    args = parser.parse_args()
    single_thread_compute()
    print(f"load average at start: {os.getloadavg()}")
    ds = LeRobotDataset(FIXTURE)
    figures: dict[str, Any] = {}
    figures["items_per_s"] = median_of([items_per_second(ds, 5_000 if args.quick else 30_000) for _ in range(3)])
    figures["batch64_window10_frames_per_s"] = median_of(
        [batch_frames_per_second(ds, 100 if args.quick else 1_000) for _ in range(3)]
    )
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big"
        episodes, length = (100, 1_000) if args.quick else (1_000, 1_000)
        start = time.perf_counter()
        write_big(big, episodes, length)
        figures["write_big_s"] = time.perf_counter() - start
        figures["open_frames"] = episodes * length
        open_seconds(big)  # warm the file cache
        figures["open_s"] = median_of([open_seconds(big) for _ in range(3)])
        record_runs = []
        for repeat in range(3):
            folder = Path(tmp) / f"record{repeat}"
            folder.mkdir()
            record_runs.append(record_frames_per_second(folder, 20 if args.quick else 200))
        figures["record_pendulum_state_frames_per_s"] = median_of(record_runs)
        pixel_runs = []
        for repeat in range(3):
            folder = Path(tmp) / f"pixels{repeat}"
            folder.mkdir()
            pixel_runs.append(record_frames_per_second(folder, 5 if args.quick else 40, pixels=True))
        figures["record_pendulum_pixels64_frames_per_s"] = median_of(pixel_runs)
    print(f"load average at end: {os.getloadavg()}")
    rows = [
        ("items one by one (fixture)", figures["items_per_s"]["median"], "frames/s", ">= 30,000"),
        ("batches of 64, 10-step action window", figures["batch64_window10_frames_per_s"]["median"], "frames/s",
         ">= 100,000"),
        (f"open a {figures['open_frames']:,}-frame dataset", figures["open_s"]["median"], "s", "< 1"),
        ("record pendulum, state only", figures["record_pendulum_state_frames_per_s"]["median"], "frames/s",
         ">= 20,000"),
        ("record pendulum, 64x64 frames", figures["record_pendulum_pixels64_frames_per_s"]["median"], "frames/s",
         ">= 2,000"),
    ]  # fmt: skip
    for name, value, unit, target in rows:
        print(f"{name:<42} {value:>12,.2f} {unit:<9} target {target}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
