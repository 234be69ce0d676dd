"""Specifications of the checkpoint file: DI-engine's keys in a plain ``torch.save``d dict, atomic writes,
and loading that never runs code from the file and names the file in every error."""

from __future__ import annotations

import builtins
import copy
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from ding_lite.checkpoint import io as ckpt_io
from ding_lite.config import compile_config, read_config
from ding_lite.errors import CheckpointError
from ding_lite.learner import BaseLearner
from ding_lite.policy import POLICY_REGISTRY
from ding_lite.utils import files as atomic_files
from ding_lite.utils.log import ExperimentLogger

CONFIG_DIR = Path(__file__).resolve().parents[1] / "dizoo_configs"


def sample_state() -> dict[str, Any]:
    gen = torch.Generator().manual_seed(0)
    return {
        "model": {"layer.weight": torch.randn(3, 4, generator=gen), "layer.bias": torch.randn(3, generator=gen)},
        "optimizer": {
            "state": {0: {"step": torch.tensor(5.0), "exp_avg": torch.randn(3, 4, generator=gen)}},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1]}],
        },
        "last_iter": 5,
        "last_step": 40,
        "ding_lite": {"format_version": ckpt_io.FORMAT_VERSION, "note": "x"},
    }


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert set(a) == set(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


def learner_checkpoint(kind: str, exp_dir: Path) -> tuple[Path, BaseLearner]:
    """A checkpoint written by a learner of the dizoo ``kind`` policy after one update."""
    main, create = read_config(CONFIG_DIR / f"cartpole_{kind}_config.py")
    cfg = compile_config((main, create), save_cfg=False)
    torch.manual_seed(0)
    policy = POLICY_REGISTRY.get(kind)(cfg.policy)
    learner = BaseLearner(
        cfg.policy.learn.learner, policy, exp_dir, ExperimentLogger(exp_dir, tensorboard=False), policy_type=kind
    )
    gen = torch.Generator().manual_seed(1)
    if kind == "dqn":
        batch = {
            "obs": torch.randn(8, 4, generator=gen),
            "action": torch.randint(0, 2, (8,), generator=gen),
            "reward": torch.rand(8, generator=gen),
            "gamma_n": torch.full((8,), 0.97),
            "done": torch.zeros(8, dtype=torch.bool),
            "next_obs": torch.randn(8, 4, generator=gen),
        }
        learner.train(batch, env_step=8)
    else:
        rollout = {
            "obs": torch.randn(4, 2, 4, generator=gen).numpy(),
            "action": torch.randint(0, 2, (4, 2), generator=gen).numpy(),
            "reward": torch.ones(4, 2).numpy(),
            "done": torch.zeros(4, 2, dtype=torch.bool).numpy(),
            "next_obs": torch.randn(4, 2, 4, generator=gen).numpy(),
        }
        learner.train(next(iter(policy.learn_mode.train_batches(rollout))), env_step=8)
    return learner.save_checkpoint(), learner


# --------------------------------------------------------------------------- writing and reading


def test_round_trip_gives_back_the_same_state(tmp_path: Path) -> None:
    state = sample_state()
    path = ckpt_io.save_checkpoint(copy.deepcopy(state), tmp_path / "ckpt" / "iteration_5.pth.tar")
    assert path == tmp_path / "ckpt" / "iteration_5.pth.tar"
    assert_same(ckpt_io.load_checkpoint(path), state)
    assert_same(torch.load(path, weights_only=True), state)


@pytest.mark.parametrize(
    ("kind", "keys"),
    [
        ("ppo", {"model", "optimizer", "last_iter", "last_step"}),
        ("dqn", {"model", "target_model", "optimizer", "last_iter", "last_step"}),
    ],
)
def test_learner_files_hold_di_engine_keys_and_ding_lite_extras(tmp_path: Path, kind: str, keys: set[str]) -> None:
    path, learner = learner_checkpoint(kind, tmp_path)
    assert path == tmp_path / "ckpt" / "iteration_1.pth.tar"
    saved = torch.load(path, weights_only=True)  # plain torch, as DI-engine loads it
    assert set(saved) == keys | {"ding_lite"}
    assert saved["last_iter"] == 1 and saved["last_step"] == 8
    assert isinstance(saved["last_iter"], int) and isinstance(saved["last_step"], int)
    assert saved["ding_lite"]["format_version"] == ckpt_io.FORMAT_VERSION
    assert saved["ding_lite"]["policy_type"] == kind
    assert_same(saved["model"], learner.policy.model.state_dict())
    optimizer = saved["optimizer"]
    assert set(optimizer) == {"state", "param_groups"}
    n_params = len(list(learner.policy.model.parameters()))
    assert optimizer["param_groups"][0]["params"] == list(range(n_params))
    assert set(optimizer["state"]) == set(range(n_params))
    assert all(set(s) == {"step", "exp_avg", "exp_avg_sq"} for s in optimizer["state"].values())
    assert all(float(s["step"]) == 1.0 for s in optimizer["state"].values())


def test_atomic_write_leaves_only_the_final_file(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    for i in range(3):
        ckpt_io.save_checkpoint(sample_state(), folder / ckpt_io.iteration_name(i))
    ckpt_io.save_checkpoint(sample_state(), folder / ckpt_io.iteration_name(0))  # overwrite
    assert sorted(p.name for p in folder.iterdir()) == [f"iteration_{i}.pth.tar" for i in range(3)]


def test_failed_write_keeps_the_previous_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ckpt_best.pth.tar"
    ckpt_io.save_checkpoint(sample_state(), path)
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic_files.os, "fsync", disk_full)
    newer = sample_state()
    newer["last_iter"] = 99
    with pytest.raises(CheckpointError, match="ckpt_best.pth.tar"):
        ckpt_io.save_checkpoint(newer, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt_best.pth.tar"]


def test_interrupted_write_keeps_the_previous_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "iteration_5.pth.tar"
    ckpt_io.save_checkpoint(sample_state(), path)
    before = path.read_bytes()

    def interrupted(src: Any, dst: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic_files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ckpt_io.save_checkpoint(sample_state(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["iteration_5.pth.tar"]


# --------------------------------------------------------------------------- refusing files


class NotState:
    """A class that is not tensors or plain data."""

    def __init__(self) -> None:
        self.value = 1


class RunsShell:
    """Unpickling calls ``os.system`` to create ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch '{self.path}'",))


class OpensFile:
    """Unpickling calls ``open(path, 'w')``, creating ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (builtins.open, (str(self.path), "w"))


@pytest.mark.parametrize("payload", ["instance", "os_system", "open"])
def test_pickled_objects_are_refused_without_running_them(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "side_effect_happened"
    obj = {"instance": NotState(), "os_system": RunsShell(marker), "open": OpensFile(marker)}[payload]
    path = tmp_path / "evil.pth.tar"
    torch.save({"model": obj, "last_iter": 1}, path)
    with pytest.raises(CheckpointError, match="evil.pth.tar"):
        ckpt_io.load_checkpoint(path)
    assert not marker.exists()


def test_refusal_names_the_blocked_global_and_does_not_advise_unsafe_loading(tmp_path: Path) -> None:
    marker = tmp_path / "side_effect_happened"
    path = tmp_path / "evil.pth.tar"
    torch.save({"model": RunsShell(marker)}, path)
    with pytest.raises(CheckpointError) as err:
        ckpt_io.load_checkpoint(path)
    message = str(err.value)
    assert "system" in message  # what was refused (posix.system)
    assert "weights_only` set to `False`" not in message


def _valid_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "valid.pth.tar"
    ckpt_io.save_checkpoint(sample_state(), path)
    return path.read_bytes()


def _zip_with_garbled_pickle(pickle_bytes: bytes) -> bytes:
    """A torch.save zip archive (no ding_lite checksum, like DI-engine's files) whose pickle is garbage."""
    buffer = io.BytesIO()
    torch.save(sample_state(), buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name in source.namelist():
            archive.writestr(name, pickle_bytes if name.endswith("data.pkl") else source.read(name))
    return out.getvalue()


@pytest.mark.parametrize("kind", ["truncated", "truncated_head", "empty", "text", "binary", "garbled_zip"])
def test_unreadable_files_raise_checkpoint_error_naming_the_file(tmp_path: Path, kind: str) -> None:
    data = _valid_bytes(tmp_path)
    content = {
        "truncated": data[: len(data) // 2],
        "truncated_head": data[:40],
        "empty": b"",
        "text": b"this is not a checkpoint\n" * 8,
        "binary": bytes(range(256)) * 4,
        "garbled_zip": _zip_with_garbled_pickle(b"this is not a pickle"),
    }[kind]
    path = tmp_path / f"broken_{kind}.pth.tar"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=f"broken_{kind}.pth.tar"):
        ckpt_io.load_checkpoint(path)


@pytest.mark.parametrize("kind", ["text", "binary", "garbled_zip"])
def test_garbage_file_is_not_reported_as_refused_pickled_objects(tmp_path: Path, kind: str) -> None:
    content = {
        "text": b"this is not a checkpoint\n" * 8,
        "binary": bytes(range(256)) * 4,
        "garbled_zip": _zip_with_garbled_pickle(b"not a pickle"),
    }[kind]
    path = tmp_path / "garbage.pth.tar"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as err:
        ckpt_io.load_checkpoint(path)
    assert "pickled objects" not in str(err.value)


def test_a_flipped_byte_in_a_written_checkpoint_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "iteration_5.pth.tar"
    state = sample_state()
    state["model"]["big"] = torch.zeros(4096)
    ckpt_io.save_checkpoint(state, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the tensor bytes: torch.load alone would not notice
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="iteration_5.pth.tar"):
        ckpt_io.load_checkpoint(path)


def test_non_dict_content_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.pth.tar"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(CheckpointError, match=r"list\.pth\.tar.*list"):
        ckpt_io.load_checkpoint(path)


def test_missing_file_raises_file_not_found_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "ckpt" / "iteration_404.pth.tar"
    with pytest.raises(FileNotFoundError, match="iteration_404.pth.tar"):
        ckpt_io.load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="ckpt"):
        ckpt_io.load_checkpoint(tmp_path / "ckpt")  # a directory is not a checkpoint file
