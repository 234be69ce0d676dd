"""``ding record`` and ``ding dataset info | verify`` (issue 10, parts 3 and 5).

- ``ding record`` then ``ding record --resume`` appends new episodes, and ``meta/recording.json`` lists
  both sessions; what ``record`` writes (actions in the env's own units, fps from the env).
- ``ding dataset info --json`` prints ``info.json``'s totals, fps and features; ``ding dataset verify``
  passes a good dataset.
- Every bad input is one sentence naming the file: exit status 2 from ``info`` (a user error) and 1 with
  a ``BAD ...`` line from ``verify``, never a traceback. The whole table runs in-process through
  ``ding_lite.entry.cli.main`` (what the ``ding`` script runs); one case also runs as a real process.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import RunDing
from dataset_helpers import (
    REACHER,
    copy_dataset,
    data_file_of,
    episode_rows,
    episodes_file_of,
    read_info,
)

from ding_lite.datasets import LeRobotDataset
from ding_lite.datasets.writer import DatasetWriter
from ding_lite.entry.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "dizoo_configs"
PENDULUM = CONFIGS / "pendulum_sac_config.py"
PENDULUM_STEPS = 200


# --- ding record ----------------------------------------------------------------------------------------------
@dataclass
class Recorded:
    root: Path
    first_session: dict[str, np.ndarray]  # arrays after the first session
    checkpoint: Path


@pytest.fixture(scope="module")
def recorded(run_ding: RunDing, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """A few SAC iterations give a checkpoint; two ``ding record`` sessions of 2 and 3 episodes."""
    work = tmp_path_factory.mktemp("record")
    shutil.copy(PENDULUM, work / PENDULUM.name)
    trained = run_ding("-m", "serial", "-c", PENDULUM.name, "-s", "0", "--train-iter", "50", "-q", cwd=work)
    assert trained.returncode == 0, trained.stderr
    checkpoint = work / "pendulum_sac_seed0/ckpt/ckpt_best.pth.tar"
    assert checkpoint.is_file()
    common = ["record", "-c", PENDULUM.name, "--load-path", str(checkpoint), "--out", "ds", "-q"]
    first = run_ding(*common, "--episodes", "2", "--task", "swing up", cwd=work)
    assert first.returncode == 0, first.stderr
    ds = LeRobotDataset(work / "ds")
    snapshot = {name: ds.arrays(name).copy() for name in ds.features}
    second = run_ding(*common, "--episodes", "3", "--resume", cwd=work)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in first.stderr + second.stderr
    return Recorded(work / "ds", snapshot, checkpoint)


def test_record_resume_appends_episodes(recorded: Recorded) -> None:
    info = read_info(recorded.root)
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (5, 5 * PENDULUM_STEPS, 1)
    ds = LeRobotDataset(recorded.root)
    assert ds.num_episodes == 5 and len(ds) == 5 * PENDULUM_STEPS
    assert ds.tasks == ["swing up"]  # the resumed session kept the dataset's task
    assert [ds.episode_range(e) for e in range(5)] == [(200 * e, 200 * e + 200) for e in range(5)]
    for name, values in recorded.first_session.items():  # the first session's episodes are untouched
        np.testing.assert_array_equal(ds.arrays(name)[: 2 * PENDULUM_STEPS], values, err_msg=name)
    np.testing.assert_array_equal(ds.arrays("episode_index")[:, 0], np.repeat(np.arange(5), PENDULUM_STEPS))


def test_resumed_session_records_episodes_unlike_the_first(recorded: Recorded) -> None:
    ds = LeRobotDataset(recorded.root)
    starts = ds.arrays("observation.state")[[ds.episode_range(e)[0] for e in range(5)]]
    for a in range(5):
        for b in range(a + 1, 5):
            assert not np.array_equal(starts[a], starts[b]), f"episodes {a} and {b} start in the same state"


def test_recording_json_lists_both_sessions(recorded: Recorded) -> None:
    sessions = json.loads((recorded.root / "meta/recording.json").read_text())
    assert [s["episodes"] for s in sessions] == [[0, 2], [2, 5]]
    assert all(s["policy"] == str(recorded.checkpoint) for s in sessions)
    assert [s["task"] for s in sessions] == ["swing up", "swing up"]


def test_recorded_frames_have_reward_done_and_one_task(recorded: Recorded) -> None:
    ds = LeRobotDataset(recorded.root)
    item = ds[0]
    assert tuple(item["next.reward"].shape) == (1,) and tuple(item["next.done"].shape) == (1,)
    assert tuple(item["observation.state"].shape) == (3,) and tuple(item["action"].shape) == (1,)
    np.testing.assert_array_equal(ds.arrays("next.done")[:, 0], np.arange(len(ds)) % PENDULUM_STEPS == 199)
    rewards = ds.arrays("next.reward")
    assert np.all(rewards <= 0) and np.all(rewards >= -16.3)  # pendulum's cost bound (ding_lite/envs/pendulum.py)
    assert item["task"] == "swing up"


def test_record_writes_actions_in_the_envs_native_units(tmp_path: Path) -> None:
    """The dizoo pendulum config has ``act_scale=True``: the policy acts in [-1, 1] and the env turns 0.5
    into a torque of 1.0 N*m (its EnvSpec bounds, [-2, 2], are the native units). The dataset holds the
    torque, as the issue asks ("actions in the env's own units")."""
    from ding_lite.entry.record import record

    def half(obs: np.ndarray) -> np.ndarray:
        return np.full((len(obs), 1), 0.5, np.float32)

    record(str(PENDULUM), tmp_path / "ds", 1, controller=half, quiet=True)
    actions = LeRobotDataset(tmp_path / "ds").arrays("action")
    np.testing.assert_array_equal(actions, np.full((PENDULUM_STEPS, 1), 1.0, np.float32))


def test_record_takes_fps_from_the_envs_time_step(tmp_path: Path) -> None:
    """ding_lite's pendulum advances 0.05 s per step: 20 frames per second of simulated time, so frame 20
    is at timestamp 1.0 s (record's docstring: the env's fps, else 1 / its time step)."""
    from ding_lite.entry.record import record
    from ding_lite.envs.pendulum import DT

    def zero(obs: np.ndarray) -> np.ndarray:
        return np.zeros((len(obs), 1), np.float32)

    record(str(PENDULUM), tmp_path / "ds", 1, controller=zero, quiet=True)
    assert read_info(tmp_path / "ds")["fps"] == round(1 / DT) == 20


# --- ding dataset info | verify on good datasets ----------------------------------------------------------------
def test_dataset_info_json_prints_what_info_json_says(recorded: Recorded, run_ding: RunDing) -> None:
    done = run_ding("dataset", "info", recorded.root, "--json", cwd=recorded.root.parent)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    info = read_info(recorded.root)
    for key in ("total_episodes", "total_frames", "fps", "features"):
        assert printed[key] == info[key], key


def test_dataset_info_json_on_the_lerobot_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dataset", "info", str(REACHER), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    info = read_info(REACHER)
    assert {k: printed[k] for k in ("total_episodes", "total_frames", "fps", "features")} == {
        k: info[k] for k in ("total_episodes", "total_frames", "fps", "features")
    }


def test_dataset_verify_passes_a_recorded_dataset(recorded: Recorded, run_ding: RunDing) -> None:
    done = run_ding("dataset", "verify", recorded.root, cwd=recorded.root.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK ") and "BAD" not in done.stdout


def test_dataset_verify_passes_the_lerobot_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    """The dataset LeRobot 0.4.4 wrote is sound: its stats match its data at the data's precision (its
    timestamp max 0.98 is float32(0.98) in the frames)."""
    status = main(["dataset", "verify", str(REACHER)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.startswith("OK ") and "BAD" not in out


# --- bad input ----------------------------------------------------------------------------------------------------
BAD_FEATURES = {
    "observation.state": {"dtype": "float32", "shape": [3], "names": None},
    "action": {"dtype": "float32", "shape": [1], "names": None},
}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 episodes of 10 frames, recorded in two sessions."""
    root = tmp_path_factory.mktemp("good") / "ds"
    rng = np.random.default_rng(3)
    writer = DatasetWriter.create(root, fps=10, features=BAD_FEATURES)
    for episode in range(4):
        if episode == 2:
            writer = DatasetWriter.resume(root)
        values = {"observation.state": rng.standard_normal((10, 3)).astype(np.float32),
                  "action": rng.standard_normal((10, 1)).astype(np.float32)}  # fmt: skip
        writer.save_episode_arrays(values, "t")
    assert main(["dataset", "verify", str(root)]) == 0
    return root


def _edit_info(root: Path, **changes: Any) -> None:
    path = root / "meta/info.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}, indent=4))


def _shift_episode_end(root: Path, episode: int) -> None:
    row = episode_rows(root)[episode]
    path = episodes_file_of(root, row)
    table = pq.read_table(path)
    rows = table.to_pylist()
    for r in rows:
        if r["episode_index"] == episode:
            r["dataset_to_index"] += 1
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)


def _edit_stats(root: Path, feature: str, key: str, element: int, delta: float) -> None:
    path = root / "meta/stats.json"
    stats = json.loads(path.read_text())
    stats[feature][key][element] += delta
    path.write_text(json.dumps(stats, indent=4))


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _missing(root: Path, path: Path) -> str:
    path.unlink()
    return _relative(root, path)


def _truncated(root: Path, path: Path) -> str:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return _relative(root, path)


def _newer_version(root: Path, rows: list[dict[str, Any]]) -> str:
    _edit_info(root, codebase_version="v4.0")
    return "meta/info.json"


def _indices_off(root: Path, rows: list[dict[str, Any]]) -> str:
    _shift_episode_end(root, 1)
    return "meta/episodes"


# case -> change the dataset (given its episode rows) and return the file the sentence must name
BAD: dict[str, Callable[[Path, list[dict[str, Any]]], str]] = {
    "missing info.json": lambda root, rows: _missing(root, root / "meta/info.json"),
    "missing data file": lambda root, rows: _missing(root, data_file_of(root, rows[0])),
    "truncated data parquet": lambda root, rows: _truncated(root, data_file_of(root, rows[0])),
    "newer codebase_version": _newer_version,
    "episode indices that do not add up": _indices_off,
    "missing tasks.parquet": lambda root, rows: _missing(root, root / "meta/tasks.parquet"),
    "truncated episodes parquet": lambda root, rows: _truncated(root, episodes_file_of(root, rows[0])),
}


def _bad_copy(good: Path, tmp_path: Path, case: str) -> tuple[Path, str]:
    root = copy_dataset(good, tmp_path / "ds")
    rows = episode_rows(root)
    assert len(rows) == 4
    return root, BAD[case](root, rows)


def _one_sentence(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize("case", BAD)
def test_dataset_info_on_bad_input_is_one_sentence_naming_the_file(
    good: Path, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, named = _bad_copy(good, tmp_path, case)
    status = main(["dataset", "info", str(root)])
    out, err = capsys.readouterr()
    assert status == 2, out + err
    assert out == ""
    sentence = _one_sentence(err)
    assert sentence.startswith("ding: error: ")
    assert named in sentence, f"{case}: {sentence!r} does not name {named}"


@pytest.mark.parametrize("case", BAD)
def test_dataset_verify_on_bad_input_is_one_bad_line_naming_the_file(
    good: Path, tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, named = _bad_copy(good, tmp_path, case)
    status = main(["dataset", "verify", str(root)])
    out, err = capsys.readouterr()
    assert status == 1, out + err
    assert "Traceback" not in out + err
    sentence = _one_sentence(out)
    assert sentence.startswith("BAD ")
    assert named in sentence, f"{case}: {sentence!r} does not name {named}"


def test_truncated_parquet_as_a_process_exits_2_and_1_without_traceback(
    good: Path, tmp_path: Path, run_ding: RunDing
) -> None:
    root, named = _bad_copy(good, tmp_path, "truncated data parquet")
    info = run_ding("dataset", "info", root, cwd=tmp_path)
    assert info.returncode == 2 and info.stdout == ""
    assert named in _one_sentence(info.stderr)
    verify = run_ding("dataset", "verify", root, cwd=tmp_path)
    assert verify.returncode == 1 and "Traceback" not in verify.stderr
    assert _one_sentence(verify.stdout).startswith("BAD ") and named in verify.stdout


STATS_EDITS = {"mean": ("observation.state", "mean", 1, 0.5), "max": ("action", "max", 0, 1.0)}


@pytest.mark.parametrize("edit", STATS_EDITS)
def test_dataset_verify_finds_stats_that_do_not_match_the_data(
    good: Path, tmp_path: Path, edit: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_dataset(good, tmp_path / "ds")
    feature, key, element, delta = STATS_EDITS[edit]
    _edit_stats(root, feature, key, element, delta)
    status = main(["dataset", "verify", str(root)])
    out, err = capsys.readouterr()
    assert status == 1, out + err
    sentence = _one_sentence(out)
    assert sentence.startswith("BAD ") and "meta/stats.json" in sentence
    assert feature in sentence and key in sentence
    # info reports what the files say (stats included) and leaves checking them to verify
    assert main(["dataset", "info", str(root)]) == 0
    assert "Traceback" not in capsys.readouterr().err
