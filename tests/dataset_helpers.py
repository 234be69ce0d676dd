"""Helpers for the dataset tests (``tests/test_dataset*.py``): the LeRobot fixture, small datasets whose
every value follows from the episode index, and a recording child process for the kill -9 tests.

Run as a script, this module is that child::

    python dataset_helpers.py ROOT EPISODES BUDGET
    python dataset_helpers.py --fork BASE EPISODES BUDGET [BUDGET ...]

It records ``EPISODES`` episodes of :func:`kill_episode` into a new dataset at ``ROOT`` with
``DatasetWriter``, printing ``commit <episodes> <bytes>`` after each ``save_episode_arrays`` returns and
``write <file> <start> <size>`` before each file it writes. With ``BUDGET >= 0`` it sends itself SIGKILL
once it has written ``BUDGET`` bytes: a kill at a chosen byte of the recording, whatever file is being
written then (a budget equal to the start of a file's write kills just before that file, i.e. after the
previous file was renamed into place). ``--fork`` imports once and forks one recorder per budget, into
``BASE/ds<i>``, then prints ``status <i> <signal that ended it, or 0>`` for each.
"""

from __future__ import annotations

import builtins
import json
import os
import shutil
import signal
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

TESTS = Path(__file__).resolve().parent
REACHER = TESTS / "fixtures" / "lerobot" / "reacher_expert"

# meta/info.json keys of a LeRobot v3.0 dataset, in LeRobot 0.4.4's order (../shared/LEROBOT.md section 2)
INFO_KEYS = [
    "codebase_version", "robot_type", "total_episodes", "total_frames", "total_tasks", "chunks_size",
    "data_files_size_in_mb", "video_files_size_in_mb", "fps", "splits", "data_path", "video_path", "features",
]  # fmt: skip
STAT_KEYS = {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}
DEFAULT_FEATURES = ("timestamp", "frame_index", "episode_index", "index", "task_index")

# --- the kill -9 recording: every value follows from (episode, frame) -------------------------------------
KILL_FPS = 20
KILL_LENGTH = 100
KILL_FEATURES: dict[str, dict[str, Any]] = {
    "observation.state": {"dtype": "float32", "shape": [4], "names": None},
    "observation.image": {"dtype": "image", "shape": [8, 8, 3], "names": ["height", "width", "channels"]},
    "action": {"dtype": "float32", "shape": [1], "names": None},
    "next.done": {"dtype": "bool", "shape": [1], "names": None},
}


def kill_episode(episode: int, length: int = KILL_LENGTH) -> tuple[dict[str, np.ndarray], str]:
    """Episode ``episode`` of the kill recording: its arrays (frames, *shape) and its task. A new task
    every second episode, so ``tasks.parquet`` is rewritten during some saves and not others."""
    t = np.arange(length)
    state = np.stack([episode + t / 1000, episode * 2.0 - t, np.sin(episode + t), t % 7], axis=1)
    pattern = np.arange(3 * 8 * 8).reshape(1, 3, 8, 8)
    values = {
        "observation.state": state.astype(np.float32),
        "observation.image": ((episode * 31 + t.reshape(-1, 1, 1, 1) + pattern) % 256).astype(np.uint8),
        "action": ((t % 11) - 5 + episode * 0.25).reshape(length, 1).astype(np.float32),
        "next.done": (t == length - 1).reshape(length, 1),
    }
    return values, f"task {episode // 2}"


def assert_kill_episodes_intact(root: Path, episodes: int) -> None:
    """The dataset at ``root`` holds exactly ``episodes`` episodes of :func:`kill_episode`, every value
    as the writer was given it (images compared as uint8)."""
    from ding_lite.datasets import LeRobotDataset

    ds = LeRobotDataset(root, image_dtype="uint8")
    assert ds.num_episodes == episodes
    assert len(ds) == episodes * KILL_LENGTH
    # tasks.parquet may already list the task of an episode whose save was cut short (it is written
    # first); the committed episodes' tasks come first, in order
    assert ds.tasks[: (episodes + 1) // 2] == [f"task {i}" for i in range((episodes + 1) // 2)]
    task_index = ds.arrays("task_index")[:, 0]
    for episode in range(episodes):
        values, task = kill_episode(episode)
        start, stop = ds.episode_range(episode)
        assert (start, stop) == (episode * KILL_LENGTH, (episode + 1) * KILL_LENGTH)
        for name in ("observation.state", "action", "next.done"):
            np.testing.assert_array_equal(ds.arrays(name)[start:stop], values[name], err_msg=f"{name} ep {episode}")
        images = ds.batch(np.arange(start, stop), keys=["observation.image"])["observation.image"].numpy()
        np.testing.assert_array_equal(images, values["observation.image"], err_msg=f"image of episode {episode}")
        assert {ds.tasks[i] for i in task_index[start:stop]} == {task}
        np.testing.assert_array_equal(ds.arrays("episode_index")[start:stop, 0], np.full(KILL_LENGTH, episode))


# --- datasets on disk -------------------------------------------------------------------------------------
def copy_dataset(source: Path, target: Path) -> Path:
    """A writable copy of ``source`` (the fixture files may be read-only)."""
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


def read_info(root: Path) -> dict[str, Any]:
    info: dict[str, Any] = json.loads((root / "meta" / "info.json").read_text())
    return info


def episode_rows(root: Path) -> list[dict[str, Any]]:
    """Every row of ``meta/episodes/*/*.parquet``, files in name order (as LeRobot reads them)."""
    rows: list[dict[str, Any]] = []
    for path in sorted(root.glob("meta/episodes/*/*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def data_file_of(root: Path, row: Mapping[str, Any]) -> Path:
    return root / f"data/chunk-{int(row['data/chunk_index']):03d}/file-{int(row['data/file_index']):03d}.parquet"


def episodes_file_of(root: Path, row: Mapping[str, Any]) -> Path:
    chunk, file = int(row["meta/episodes/chunk_index"]), int(row["meta/episodes/file_index"])
    return root / f"meta/episodes/chunk-{chunk:03d}/file-{file:03d}.parquet"


# --- the recording child ------------------------------------------------------------------------------------
class _KillingFile:
    """A file opened for writing whose bytes count towards the budget; SIGKILL when it is spent."""

    def __init__(self, handle: Any, counter: _Counter, name: str) -> None:
        self._handle = handle
        self._counter = counter
        self._name = name
        self._announced = False

    def write(self, data: bytes) -> int:
        counter = self._counter
        if not self._announced:
            self._announced = True
            counter.announce(self._name, len(data))
        room = counter.budget - counter.written
        if counter.budget >= 0 and room < len(data):
            self._handle.write(data[: max(room, 0)])
            self._handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        counter.written += len(data)
        written: int = self._handle.write(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _KillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


class _Counter:
    def __init__(self, root: Path, budget: int) -> None:
        self.root = root
        self.budget = budget
        self.written = 0

    def announce(self, name: str, size: int) -> None:
        print(f"write {name} {self.written} {size}", flush=True)


def _child(root: Path, episodes: int, budget: int) -> None:
    from ding_lite.datasets.writer import DatasetWriter

    writer = DatasetWriter.create(root, fps=KILL_FPS, features=KILL_FEATURES)
    counter = _Counter(root, budget)
    real_open = builtins.open

    def counting_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        if "w" not in mode and "a" not in mode:
            return handle
        path = Path(os.fspath(file)).resolve()
        name = str(path.relative_to(root.resolve())) if path.is_relative_to(root.resolve()) else str(path)
        return _KillingFile(handle, counter, name.split(".tmp-")[0])

    builtins.open = counting_open  # every file the writer writes, whichever helper writes it
    for episode in range(episodes):
        values, task = kill_episode(episode)
        writer.save_episode_arrays(values, task)
        print(f"commit {episode + 1} {counter.written}", flush=True)
    writer.finalize()


def _fork(base: Path, episodes: int, budgets: list[int]) -> None:
    import ding_lite.datasets.writer  # noqa: F401  (imported once, before forking: the slow part)

    children = []
    for number, budget in enumerate(budgets):
        pid = os.fork()
        if pid == 0:  # the recorder: its output goes to a log next to its dataset
            log = os.open(base / f"ds{number}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(log, 1)
            _child(base / f"ds{number}", episodes, budget)
            sys.stdout.flush()
            os._exit(0)
        children.append(pid)
    for number, pid in enumerate(children):
        _, status = os.waitpid(pid, 0)
        print(f"status {number} {os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--fork":
        _fork(Path(sys.argv[2]), int(sys.argv[3]), [int(b) for b in sys.argv[4:]])
    else:
        _child(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
