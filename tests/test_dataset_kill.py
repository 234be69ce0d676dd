"""Durability of recording (issue 10): once ``save_episode`` has returned, the episode survives a
``kill -9`` at any later moment. The earlier episodes read back intact (every value as the writer was
given it), and ``DatasetWriter.resume`` removes what the interrupted save left and appends.

Three ways of cutting a recording short:

- a real SIGKILL from this process once ``meta/info.json`` counts k committed episodes, while the child
  keeps recording (the kill lands wherever the child happens to be);
- the child killing itself at a chosen byte of what it writes (``dataset_helpers``: budgets found by a
  calibration run, so each moment is reproducible: inside a file, or just after a file was renamed);
- in-process, ``write_atomic`` raising on a file of the commit (the save stops there).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from dataset_helpers import (
    KILL_FEATURES,
    KILL_FPS,
    KILL_LENGTH,
    assert_kill_episodes_intact,
    copy_dataset,
    episode_rows,
    kill_episode,
    read_info,
)

import ding_lite.datasets.writer as writer_module
from ding_lite.datasets.verify import verify
from ding_lite.datasets.writer import DatasetWriter

HELPER = Path(__file__).resolve().with_name("dataset_helpers.py")
CALIBRATION_EPISODES = 4
POLL_KILLS = (1, 3, 6)  # committed episodes seen in meta/info.json before the SIGKILL


def _child(root: Path, episodes: int, budget: int) -> subprocess.Popen[str]:
    """The recorder of ``dataset_helpers`` (see its docstring), output piped here."""
    command = [sys.executable, str(HELPER), str(root), str(episodes), str(budget)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@dataclass
class Write:
    file: str
    start: int
    size: int


@dataclass
class Calibration:
    writes: list[Write]
    commits: list[int]  # bytes written when episode i + 1 was committed (save returned)

    def writes_of(self, episode: int) -> list[Write]:
        """The files written while saving episode ``episode`` (0-based)."""
        low = self.commits[episode - 1] if episode else 0
        return [w for w in self.writes if low <= w.start < self.commits[episode]]

    def write(self, episode: int, prefix: str) -> Write:
        found = [w for w in self.writes_of(episode) if w.file.startswith(prefix)]
        assert len(found) == 1, f"saving episode {episode} wrote {[w.file for w in self.writes_of(episode)]}"
        return found[0]

    def committed_at(self, budget: int) -> int:
        """Episodes committed when the child dies at byte ``budget``: info.json renamed for each commit
        whose last byte lies within the budget."""
        return sum(1 for c in self.commits if c <= budget)


def _calibration(log: list[str]) -> Calibration:
    writes, commits = [], []
    for line in log:
        kind, *fields = line.split()
        if kind == "write":
            writes.append(Write(fields[0], int(fields[1]), int(fields[2])))
        elif kind == "commit":
            commits.append(int(fields[1]))
    return Calibration(writes, commits)


def _kill_after(root: Path, k: int) -> tuple[int, list[str]]:
    """Record into ``root`` until meta/info.json counts ``k`` episodes, then SIGKILL the recorder at once
    (it is busy saving the next episode). Returns the episodes committed at the kill and the recorder's
    output up to then."""
    child = _child(root, 200, -1)
    assert child.stdout is not None
    log = []
    for line in child.stdout:  # blocks until the child reports a commit: no polling by the clock
        log.append(line)
        if line.startswith("commit") and read_info(root)["total_episodes"] >= k:
            child.send_signal(signal.SIGKILL)
            break
    _, err = child.communicate(timeout=600)
    assert child.returncode == -signal.SIGKILL, f"the recorder ended before committing {k} episodes: {err}"
    committed = int(read_info(root)["total_episodes"])
    assert k <= committed < 200
    return committed, log


@pytest.fixture(scope="module")
def killed_after(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, int, list[str]]]:
    """k -> (dataset root after a SIGKILL once k episodes were committed, episodes committed, the log)."""
    base = tmp_path_factory.mktemp("killed_after")
    with ThreadPoolExecutor(len(POLL_KILLS)) as pool:
        found = list(pool.map(lambda k: _kill_after(base / f"k{k}", k), POLL_KILLS))
    return {k: (base / f"k{k}", committed, log) for k, (committed, log) in zip(POLL_KILLS, found)}


@pytest.fixture(scope="module")
def calibration(killed_after: dict[int, tuple[Path, int, list[str]]]) -> Calibration:
    """Where each byte of a recording goes, from the log of the recording killed after the most episodes
    (every run writes the same bytes: the data follow from the episode index)."""
    found = _calibration(killed_after[max(POLL_KILLS)][2])
    assert len(found.commits) >= CALIBRATION_EPISODES
    found.commits = found.commits[:CALIBRATION_EPISODES]
    return found


def _into(prefix: str, fraction: float = 0.5, back: int = 0) -> Callable[[Calibration], int]:
    """The byte ``fraction`` of the way through the third save's write of ``prefix``, minus ``back``."""

    def budget(c: Calibration) -> int:
        write = c.write(2, prefix)
        return write.start + int(write.size * fraction) - back

    return budget


# Moments while saving the third episode (index 2), which also adds a task, plus two random bytes.
_rng = random.Random(2024)
_RANDOM = (_rng.random(), _rng.random())
MOMENTS: dict[str, Callable[[Calibration], int]] = {
    "half-way through the data file": _into("data/"),
    "at the start of the episodes file": _into("meta/episodes/", 0.0),
    "half-way through stats.json": _into("meta/stats.json"),
    "info.json short of its last byte": _into("meta/info.json", 1.0, back=1),
    "just after the third commit": lambda c: c.commits[2],
    "random byte 1": lambda c: c.commits[0] + int(_RANDOM[0] * (c.commits[-1] - c.commits[0])),
    "random byte 2": lambda c: c.commits[0] + int(_RANDOM[1] * (c.commits[-1] - c.commits[0])),
}  # fmt: skip


@pytest.fixture(scope="module")
def killed_at_bytes(calibration: Calibration, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """moment -> (dataset root after the recorder killed itself there, episodes committed by then)."""
    base = tmp_path_factory.mktemp("killed_at_bytes")
    budgets = [budget_of(calibration) for budget_of in MOMENTS.values()]
    command = [sys.executable, str(HELPER), "--fork", str(base), str(CALIBRATION_EPISODES), *map(str, budgets)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    statuses = dict(line.split()[1:] for line in done.stdout.splitlines() if line.startswith("status"))
    found = {}
    for number, (moment, budget) in enumerate(zip(MOMENTS, budgets)):
        assert statuses[str(number)] == str(int(signal.SIGKILL)), f"{moment}: not killed at byte {budget}"
        found[moment] = (base / f"ds{number}", calibration.committed_at(budget))
    return found


def _resume_and_append(root: Path, committed: int) -> None:
    writer = DatasetWriter.resume(root)
    assert writer.total_episodes == committed
    values, task = kill_episode(committed)
    assert writer.save_episode_arrays(values, task) == committed
    writer.finalize()
    assert_kill_episodes_intact(root, committed + 1)
    assert verify(root) == []  # stats.json recomputed for exactly the episodes kept
    info = read_info(root)
    assert (info["total_episodes"], info["total_frames"]) == (committed + 1, (committed + 1) * KILL_LENGTH)


# --- SIGKILL from outside, after k committed episodes -----------------------------------------------------
@pytest.mark.parametrize("k", POLL_KILLS)
def test_kill_9_after_k_committed_episodes_leaves_them_readable(
    killed_after: dict[int, tuple[Path, int, list[str]]], k: int, tmp_path: Path
) -> None:
    source, committed, _ = killed_after[k]
    assert_kill_episodes_intact(copy_dataset(source, tmp_path / "ds"), committed)


@pytest.mark.parametrize("k", POLL_KILLS)
def test_resume_after_kill_9_after_k_episodes_appends_an_episode(
    killed_after: dict[int, tuple[Path, int, list[str]]], k: int, tmp_path: Path
) -> None:
    source, committed, _ = killed_after[k]
    _resume_and_append(copy_dataset(source, tmp_path / "ds"), committed)


# --- SIGKILL at chosen bytes of the recording ---------------------------------------------------------------
def test_calibrated_moments_fall_where_named(calibration: Calibration) -> None:
    """The byte moments are what their names say: every save writes its data, episodes row and stats
    once each and ``info.json`` last (the commit), and the moments of the third save kill it uncommitted."""
    for episode in range(CALIBRATION_EPISODES):
        files = [w.file for w in calibration.writes_of(episode)]
        assert files[-1] == "meta/info.json", files
        for prefix in ("data/", "meta/episodes/", "meta/stats.json"):
            calibration.write(episode, prefix)  # exactly one write of each
    for moment in ("half-way through the data file", "at the start of the episodes file", "half-way through stats.json",
                   "info.json short of its last byte"):  # fmt: skip
        assert calibration.committed_at(MOMENTS[moment](calibration)) == 2, moment
    assert calibration.committed_at(MOMENTS["just after the third commit"](calibration)) == 3


@pytest.mark.parametrize("moment", MOMENTS)
def test_kill_9_at_a_byte_moment_leaves_committed_episodes_readable(
    killed_at_bytes: dict[str, tuple[Path, int]], moment: str, tmp_path: Path
) -> None:
    source, committed = killed_at_bytes[moment]
    root = copy_dataset(source, tmp_path / "ds")
    assert read_info(root)["total_episodes"] == committed
    assert_kill_episodes_intact(root, committed)


@pytest.mark.parametrize("moment", MOMENTS)
def test_resume_after_kill_9_at_a_byte_moment_appends_an_episode(
    killed_at_bytes: dict[str, tuple[Path, int]], moment: str, tmp_path: Path
) -> None:
    source, committed = killed_at_bytes[moment]
    _resume_and_append(copy_dataset(source, tmp_path / "ds"), committed)


# --- a commit cut short in-process --------------------------------------------------------------------------
CUTS = ("meta/episodes", "meta/stats.json", "meta/info.json")  # the write that fails; earlier ones landed


@pytest.fixture(params=CUTS)
def cut_commit(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Two committed episodes, then a third whose save stops at the write of ``request.param``."""
    root = tmp_path / "ds"
    writer = DatasetWriter.create(root, fps=KILL_FPS, features=KILL_FEATURES)
    for episode in range(2):
        writer.save_episode_arrays(*kill_episode(episode))
    real = writer_module.write_atomic
    cut = str(request.param)

    def failing(path: Any, payload: bytes) -> None:
        if Path(path).relative_to(root).as_posix().startswith(cut):
            raise OSError(f"simulated crash before writing {path}")
        real(path, payload)

    monkeypatch.setattr(writer_module, "write_atomic", failing)
    with pytest.raises(OSError, match="simulated crash"):
        writer.save_episode_arrays(*kill_episode(2))
    monkeypatch.setattr(writer_module, "write_atomic", real)
    # the cut left the third episode's frames on disk, uncommitted
    frames = sum(pq.read_metadata(path).num_rows for path in root.glob("data/*/*.parquet"))
    assert frames == 3 * KILL_LENGTH
    assert read_info(root)["total_episodes"] == 2
    yield root


def test_commit_cut_short_leaves_committed_episodes_readable(cut_commit: Path) -> None:
    assert_kill_episodes_intact(cut_commit, 2)


def test_resume_removes_what_a_commit_cut_short_left(cut_commit: Path) -> None:
    writer = DatasetWriter.resume(cut_commit)
    assert writer.total_episodes == 2
    frames = sum(pq.read_metadata(path).num_rows for path in cut_commit.glob("data/*/*.parquet"))
    assert frames == 2 * KILL_LENGTH  # the uncommitted frames are gone
    assert [row["episode_index"] for row in episode_rows(cut_commit)] == [0, 1]
    stats = json.loads((cut_commit / "meta/stats.json").read_text())
    assert stats["index"]["count"] == [2 * KILL_LENGTH] and stats["index"]["max"] == [2 * KILL_LENGTH - 1]
    assert_kill_episodes_intact(cut_commit, 2)
    assert verify(cut_commit) == []
    _resume_and_append(cut_commit, 2)
