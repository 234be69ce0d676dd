"""Checkpoints that cannot hurt: corrupted and malicious files, failed writes, retention, the resume guard,
and ``ding ckpt inspect`` / ``ding ckpt verify``.

End-to-end tests run ``ding`` in subprocesses on copies of one short DQN experiment (100 train iterations,
a checkpoint every 50) shared by the module; the write protocol itself is unit-tested by making
``os.replace`` / ``os.fsync`` fail, since a kill inside a checkpoint write cannot be timed from outside.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import resource
import shlex
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from resume_helpers import (
    DI_ENGINE_FIXTURES,
    DQN_BASE,
    EXP,
    assert_identical,
    check_ok,
    ckpt_dir,
    copy_experiment,
    describe,
    ding,
    ding_many,
    iteration_numbers,
    latest_name,
    load,
    snapshot,
    write_config,
)

from ding_lite.checkpoint import io as ckpt_io
from ding_lite.checkpoint import store
from ding_lite.errors import CheckpointError, DingLiteError
from ding_lite.utils import files as atomic_files

N = 100  # train iterations of the shared experiment
SAVE_EVERY = 50
EVAL_FREQ = 40
TRAINING_STATE = {"config", "rng", "policy_rng", "learner", "collector", "evaluator", "buffer", "loop", "logs"}


def dqn_config(folder: Path, **options: Any) -> Path:
    """The shared experiment's config, with ``options`` overriding write_config's arguments."""
    args: dict[str, Any] = {"save_every": SAVE_EVERY, "eval_freq": EVAL_FREQ, **options}
    return write_config(folder / "dqn.py", DQN_BASE, **args)


def train_args(config: Path, n: int = N, *extra: str, seed: int = 0) -> list[str]:
    return ["-m", "serial", "-c", str(config), "-s", str(seed), "--train-iter", str(n), *extra]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The experiment dir of a straight DQN run of N iterations (copy it before changing anything)."""
    cwd = tmp_path_factory.mktemp("base")
    check_ok(ding(*train_args(dqn_config(cwd)), cwd=cwd))
    exp_dir = cwd / EXP
    assert iteration_numbers(exp_dir) == [50, 100] and latest_name(exp_dir) == "iteration_100.pth.tar"
    return exp_dir


# --- corrupted and malicious files ------------------------------------------------------------------------
class Pwned:
    """Unpickling this runs ``touch <marker>``: proof, if the marker appears, that a checkpoint ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[[str], int], tuple[str]]:
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def pickled_checkpoint(marker: Path, checksum: bool = False) -> bytes:
    """A torch.save file whose unpickling would create ``marker``; with ``checksum``, it also carries a
    valid ding_lite checksum (anyone can compute one), so only refusing to unpickle can stop it."""
    buffer = io.BytesIO()
    torch.save({"model": {"w": torch.zeros(2)}, "last_iter": 7, "payload": Pwned(marker)}, buffer)
    return ckpt_io.add_checksum(buffer.getvalue()) if checksum else buffer.getvalue()


def corrupt(kind: str, good: bytes, marker: Path) -> bytes:
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "empty":
        return b""
    if kind == "flipped":
        flipped = bytearray(good)
        flipped[len(good) // 2] ^= 0x01
        return bytes(flipped)
    if kind == "garbage":
        return random.Random(kind).randbytes(len(good))
    assert kind in ("pickled", "pickled_checksummed")
    return pickled_checkpoint(marker, checksum=kind == "pickled_checksummed")


KINDS = ["truncated", "empty", "flipped", "garbage", "pickled", "pickled_checksummed"]


def test_the_pickled_payload_runs_code_when_loaded_unsafely(tmp_path: Path) -> None:
    """The premise of the safe-loading tests: the payload really creates its file when unpickled."""
    marker = tmp_path / "armed"
    path = tmp_path / "armed.pth.tar"
    path.write_bytes(pickled_checkpoint(marker, checksum=True))
    assert ckpt_io.checksum_problem(path.read_bytes()) is None
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_bad_files_are_named_by_verify_inspect_and_load(tmp_path: Path, base: Path) -> None:
    """One experiment holding a bad file of every kind beside its good ones: one verify, one inspect each."""
    marker = tmp_path / "pwned"
    exp_dir = copy_experiment(base, tmp_path)
    good = (ckpt_dir(exp_dir) / "iteration_100.pth.tar").read_bytes()
    bad = {kind: f"{EXP}/ckpt/{kind}.pth.tar" for kind in KINDS}
    for kind, rel in bad.items():
        (tmp_path / rel).write_bytes(corrupt(kind, good, marker))

    verify, *inspects = ding_many(
        [(["ckpt", "verify", EXP], tmp_path)] + [(["ckpt", "inspect", rel], tmp_path) for rel in bad.values()]
    )

    assert verify.returncode != 0 and "Traceback" not in verify.stderr, describe(verify)
    lines = {line.split()[1].rstrip(":"): line for line in verify.stdout.splitlines() if line[:3] in ("OK ", "BAD")}
    assert {name for name, line in lines.items() if line.startswith("OK")} == {
        f"{EXP}/ckpt/{name}" for name in ("ckpt_best.pth.tar", "iteration_50.pth.tar", "iteration_100.pth.tar")
    }, describe(verify)
    problems = []
    for (kind, rel), inspect in zip(bad.items(), inspects):
        if not re.fullmatch(rf"BAD {re.escape(rel)}: \S.*", lines.get(rel, "")):
            problems.append(f"{kind}: verify does not name {rel} with a reason\n{describe(verify)}")
        if inspect.returncode == 0 and "verifies: NO" not in inspect.stdout:
            problems.append(f"{kind}: inspect neither fails nor says it does not verify\n{describe(inspect)}")
        if rel not in inspect.stdout + inspect.stderr or "Traceback" in inspect.stderr:
            problems.append(f"{kind}: inspect should name {rel} without a traceback\n{describe(inspect)}")
        try:
            ckpt_io.load_checkpoint(tmp_path / rel)
            problems.append(f"{kind}: load_checkpoint accepted {rel}")
        except CheckpointError as err:
            if str(tmp_path / rel) not in str(err):
                problems.append(f"{kind}: the CheckpointError does not name the file: {err}")
        if marker.exists():
            problems.append(f"{kind}: reading the checkpoint ran code from it")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", KINDS)
def test_resume_skips_a_bad_newest_checkpoint_and_continues_exactly(kind: str, tmp_path: Path, base: Path) -> None:
    marker = tmp_path / "pwned"
    exp_dir = copy_experiment(base, tmp_path)
    bad = ckpt_dir(exp_dir) / latest_name(exp_dir)
    bad.write_bytes(corrupt(kind, bad.read_bytes(), marker))
    newest = max(p.stat().st_mtime for p in ckpt_dir(exp_dir).iterdir()) + 10
    os.utime(bad, (newest, newest))
    others = sorted((p for p in ckpt_dir(exp_dir).glob("*.pth.tar") if p != bad), key=lambda p: p.stat().st_mtime)
    fallback = others[-1]

    proc = check_ok(ding(*train_args(dqn_config(tmp_path), N, "--resume"), cwd=tmp_path))

    rel = f"{EXP}/ckpt/{bad.name}"
    skipped = [line for line in proc.stderr.splitlines() if rel in line and "skip" in line]
    assert len(skipped) == 1 and re.search(rf"{re.escape(rel)}: \S", skipped[0]), describe(proc)
    assert f"resumed exactly from {EXP}/ckpt/{fallback.name} " in proc.stderr, describe(proc)
    assert not marker.exists(), "resuming ran code from the checkpoint"
    assert_identical(base, exp_dir, N)  # the skipped file was rewritten by the resumed run


@pytest.mark.parametrize(
    "kinds", [KINDS[:-1], ["pickled_checksummed"]], ids=["unreadable_or_pickled", "pickled_checksummed"]
)
def test_resume_with_every_checkpoint_bad_refuses_and_starts_nothing(
    kinds: list[str], tmp_path: Path, base: Path
) -> None:
    marker = tmp_path / "pwned"
    exp_dir = copy_experiment(base, tmp_path)
    good = (ckpt_dir(exp_dir) / "iteration_100.pth.tar").read_bytes()
    files = sorted(ckpt_dir(exp_dir).glob("*.pth.tar"))
    files += [ckpt_dir(exp_dir) / ckpt_io.iteration_name(n) for n in range(1, len(kinds) - len(files) + 1)]
    for i, path in enumerate(files):  # every kind in the group appears at least once
        path.write_bytes(corrupt(kinds[i % len(kinds)], good, marker))
    before = snapshot(ckpt_dir(exp_dir))
    result = (exp_dir / "result.json").read_bytes()

    proc = ding(*train_args(dqn_config(tmp_path), N, "--resume"), cwd=tmp_path)

    assert proc.returncode != 0, describe(proc)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ding: error:")]
    assert len(errors) == 1 and "nothing to resume" in errors[0], describe(proc)
    assert "Traceback" not in proc.stderr, describe(proc)
    for path in files:
        assert f"{EXP}/ckpt/{path.name}" in proc.stderr, f"{path.name} not named as skipped\n{describe(proc)}"
    assert snapshot(ckpt_dir(exp_dir)) == before, "a refused resume changed the checkpoints"
    assert (exp_dir / "result.json").read_bytes() == result, "a refused resume trained"
    assert not marker.exists(), "resuming ran code from a checkpoint"


# --- a write that fails part-way ------------------------------------------------------------------------
def test_write_failing_under_a_file_size_limit_stops_cleanly_and_keeps_earlier_checkpoints(
    tmp_path: Path, base: Path
) -> None:
    """The replay buffer grows, so iteration_100 is bigger than iteration_50: a limit between them lets the
    first checkpoints through and makes a later write fail part-way (EFBIG, SIGXFSZ ignored)."""
    small = (ckpt_dir(base) / "iteration_50.pth.tar").stat().st_size
    large = (ckpt_dir(base) / "iteration_100.pth.tar").stat().st_size
    assert large - small > 1000, (small, large)
    limit = (small + large) // 2

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = ding(*train_args(dqn_config(tmp_path)), cwd=tmp_path, preexec_fn=limit_file_size)

    assert proc.returncode != 0, describe(proc)
    assert "Traceback" not in proc.stderr, describe(proc)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ding: error:")]
    assert len(errors) == 1, describe(proc)
    named = re.search(rf"'({EXP}/ckpt/[^']+\.pth\.tar)'", errors[0])
    assert named, f"the error does not name the checkpoint file: {errors[0]}"
    exp_dir = tmp_path / EXP
    assert (ckpt_dir(exp_dir) / "iteration_50.pth.tar").is_file(), "the first checkpoints should fit the limit"
    assert not list(ckpt_dir(exp_dir).glob("*.tmp-*")), "a temporary file was left behind"
    for path in ckpt_dir(exp_dir).glob("*.pth.tar"):
        assert store.checkpoint_problem(path) is None, f"{path} does not verify after the failed write"
        assert "model" in load(path)
    assert (ckpt_dir(exp_dir) / latest_name(exp_dir)).is_file()
    assert store.checkpoint_problem(ckpt_dir(exp_dir) / latest_name(exp_dir)) is None


# --- retention -------------------------------------------------------------------------------------------
def test_retention_keeps_the_newest_keep_last_n_and_zero_keeps_all(tmp_path: Path) -> None:
    keep3, keep_all = tmp_path / "keep3", tmp_path / "keep_all"
    for folder in (keep3, keep_all):
        folder.mkdir()
    config3 = dqn_config(keep3, save_every=10, keep_last_n=3)
    config0 = dqn_config(keep_all, save_every=10, keep_last_n=0)
    procs = ding_many([(train_args(config3, 100), keep3), (train_args(config0, 60), keep_all)])
    for proc in procs:
        check_ok(proc)

    names = {p.name for p in ckpt_dir(keep3 / EXP).iterdir()}
    assert names == {"iteration_80.pth.tar", "iteration_90.pth.tar", "iteration_100.pth.tar",
                     "ckpt_best.pth.tar", "latest"}  # fmt: skip
    assert latest_name(keep3 / EXP) == "iteration_100.pth.tar"
    assert iteration_numbers(keep_all / EXP) == [10, 20, 30, 40, 50, 60]
    assert (ckpt_dir(keep_all / EXP) / "ckpt_best.pth.tar").is_file()


def test_retention_never_deletes_the_file_latest_names_or_ckpt_best(tmp_path: Path) -> None:
    for n in (10, 20, 30, 40, 50):
        (tmp_path / ckpt_io.iteration_name(n)).write_bytes(b"x")
    (tmp_path / ckpt_io.BEST_NAME).write_bytes(b"x")
    store.write_latest(tmp_path, "iteration_10.pth.tar")  # e.g. a run resumed from an old checkpoint

    deleted = store.prune_iterations(tmp_path, keep_last_n=2)

    assert sorted(p.name for p in deleted) == ["iteration_20.pth.tar", "iteration_30.pth.tar"]
    assert sorted(p.name for p in tmp_path.glob("*.pth.tar")) == [
        "ckpt_best.pth.tar", "iteration_10.pth.tar", "iteration_40.pth.tar", "iteration_50.pth.tar"
    ]  # fmt: skip


# --- the resume guard ------------------------------------------------------------------------------------
HARMFUL = {
    "learning_rate": ("main_config.policy.learn.learning_rate = 0.002", [],
                      "policy.learn.learning_rate", "0.001", "0.002"),
    "model_shape": ("main_config.policy.model.encoder_hidden_size_list = [128, 128, 32]", [],
                    "policy.model.encoder_hidden_size_list", "[128, 128, 64]", "[128, 128, 32]"),
    "env_type": ("create_config.env.type = 'gymnasium'\nmain_config.env.env_id = 'CartPole-v1'", [],
                 "env.type", "'cartpole'", "'gymnasium'"),
    "seed": ("", ["--load-path", f"{EXP}/ckpt/iteration_100.pth.tar"], "seed", "0", "1"),
}  # fmt: skip


def test_resume_guard_refuses_changes_that_break_exactness_naming_key_and_values(tmp_path: Path, base: Path) -> None:
    jobs, folders = [], {}
    for case, (edits, extra, *_) in HARMFUL.items():
        cwd = tmp_path / case
        exp_dir = copy_experiment(base, cwd)
        folders[case] = (exp_dir, snapshot(ckpt_dir(exp_dir)), (exp_dir / "result.json").read_bytes())
        seed = 1 if case == "seed" else 0  # one seed: -s keeps the exp_name, so this resumes the same experiment
        jobs.append((train_args(dqn_config(cwd, edits=edits), N, *extra, "--resume", seed=seed), cwd))

    problems = []
    for (case, (_, _, key, old, new)), proc in zip(HARMFUL.items(), ding_many(jobs)):
        exp_dir, ckpts, result = folders[case]
        errors = [line for line in proc.stderr.splitlines() if line.startswith("ding: error:")]
        if proc.returncode == 0 or len(errors) != 1 or "Traceback" in proc.stderr:
            problems.append(f"{case}: expected one 'ding: error:' line and a non-zero exit\n{describe(proc)}")
        elif not re.search(rf"{re.escape(key)}\W[^;]*{re.escape(old)}[^;]*{re.escape(new)}", errors[0]):
            problems.append(f"{case}: the error should name {key!r}, was {old}, now {new}; got: {errors[0]}")
        if snapshot(ckpt_dir(exp_dir)) != ckpts or (exp_dir / "result.json").read_bytes() != result:
            problems.append(f"{case}: the refused resume changed the experiment")
    assert not problems, "\n".join(problems)


def test_resume_guard_accepts_harmless_changes_with_one_warning_line(tmp_path: Path, base: Path) -> None:
    copy_experiment(base, tmp_path)
    config = dqn_config(tmp_path, save_every=25, eval_freq=80, edits="main_config.env.stop_value = 1e8")

    proc = check_ok(ding(*train_args(config, N + 10, "--resume"), cwd=tmp_path))

    changed = ["env.stop_value", "policy.eval.evaluator.eval_freq", "policy.learn.learner.hook.save_ckpt_after_iter"]
    warnings = [line for line in proc.stderr.splitlines() if any(key in line for key in changed)]
    assert len(warnings) == 1, describe(proc)
    assert all(key in warnings[0] for key in changed), warnings[0]
    assert "resumed exactly from" in proc.stderr
    assert load(ckpt_dir(tmp_path / EXP) / f"iteration_{N + 10}.pth.tar")["last_iter"] == N + 10


# --- ding ckpt inspect / verify --------------------------------------------------------------------------
def expected_tensors(state: dict[str, Any]) -> list[tuple[str, list[int], str]]:
    """(name, shape, dtype) of every tensor outside the ding_lite extras, named as inspect names them."""
    out: list[tuple[str, list[int], str]] = []

    def walk(node: Any, name: str) -> None:
        if isinstance(node, torch.Tensor):
            out.append((name, list(node.shape), str(node.dtype).removeprefix("torch.")))
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{name}.{key}")
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f"{name}.{i}")

    for key, value in state.items():
        if key != "ding_lite":
            walk(value, key)
    return out


def test_inspect_and_verify_describe_healthy_checkpoints(tmp_path: Path, base: Path) -> None:
    exp_dir = copy_experiment(base, tmp_path)
    path = ckpt_dir(exp_dir) / "iteration_100.pth.tar"
    rel = f"{EXP}/ckpt/iteration_100.pth.tar"
    text, as_json, verify = ding_many(
        [(["ckpt", "inspect", rel], tmp_path), (["ckpt", "inspect", rel, "--json"], tmp_path),
         (["ckpt", "verify", EXP], tmp_path)]
    )  # fmt: skip
    state = load(path)
    tensors = expected_tensors(state)
    assert len(tensors) > 20

    check_ok(text)
    for needle in ("verifies: yes", "format version 1", "policy: dqn", f"train_iter: {N}",
                   f"env_step: {state['last_step']}", "MB on disk"):  # fmt: skip
        assert needle in text.stdout, f"{needle!r} missing from:\n{text.stdout}"
    extras_line = next(line for line in text.stdout.splitlines() if "extras:" in line)
    assert all(name in extras_line for name in TRAINING_STATE), extras_line
    for name, shape, dtype in tensors:
        assert re.search(rf"^\s+{re.escape(name)}\s+{dtype}\s+{re.escape(str(tuple(shape)))}$", text.stdout, re.M), name

    info = json.loads(check_ok(as_json).stdout)
    assert info["verifies"] is True and info["has_checksum"] is True and info["problem"] is None
    assert (info["format_version"], info["policy_type"]) == (1, "dqn")
    assert (info["train_iter"], info["env_step"]) == (N, state["last_step"])
    assert info["replay_buffer_size"] == state["ding_lite"]["buffer"]["size"]
    assert set(info["extras"]) >= TRAINING_STATE
    assert [(t["name"], t["shape"], t["dtype"]) for t in info["tensors"]] == tensors
    assert info["file_bytes"] == path.stat().st_size
    assert info["tensor_bytes"] == sum(t["bytes"] for t in info["tensors"]) > 0

    check_ok(verify)
    assert verify.stdout.splitlines() == [
        f"OK  {EXP}/ckpt/ckpt_best.pth.tar",
        f"OK  {EXP}/ckpt/iteration_100.pth.tar",
        f"OK  {EXP}/ckpt/iteration_50.pth.tar",
        "3 ok, 0 bad",
    ]


def test_inspect_reads_di_engine_checkpoints_and_says_they_have_no_checksum(tmp_path: Path) -> None:
    fixtures = sorted(DI_ENGINE_FIXTURES.glob("*.pth.tar"))
    assert len(fixtures) == 3
    jobs = [(["ckpt", "inspect", fixtures[0]], tmp_path)]
    procs = ding_many(jobs + [(["ckpt", "inspect", f, "--json"], tmp_path) for f in fixtures])
    text = check_ok(procs[0]).stdout
    assert "verifies: yes" in text and "no checksum" in text, text
    for fixture, proc in zip(fixtures, procs[1:]):
        info = json.loads(check_ok(proc).stdout)
        state = load(fixture)
        assert info["verifies"] is True and info["has_checksum"] is False, fixture
        assert info["format_version"] is None and info["extras"] == []
        assert info["train_iter"] == state["last_iter"] > 0
        assert [(t["name"], t["shape"], t["dtype"]) for t in info["tensors"]] == expected_tensors(state)


# --- crash at any instant: the write protocol ------------------------------------------------------------
def boom(*args: Any, **kwargs: Any) -> None:
    raise OSError(28, "No space left on device")


def interrupt(*args: Any, **kwargs: Any) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize("failing", ["replace", "fsync"])
@pytest.mark.parametrize("error", [boom, interrupt], ids=["oserror", "killed"])
def test_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(
    failing: str, error: Callable[..., None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "iteration_10.pth.tar"
    path.write_bytes(b"old complete checkpoint")
    monkeypatch.setattr(atomic_files.os, failing, error)

    with pytest.raises((OSError, KeyboardInterrupt)):
        ckpt_io.write_atomic(path, b"new checkpoint that never lands")

    monkeypatch.undo()
    assert path.read_bytes() == b"old complete checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iteration_10.pth.tar"]


def test_failed_checkpoint_save_is_one_user_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "iteration_10.pth.tar"
    ckpt_io.save_checkpoint({"model": {"w": torch.ones(3)}, "last_iter": 10}, path)
    before = path.read_bytes()
    monkeypatch.setattr(atomic_files.os, "replace", boom)

    with pytest.raises(CheckpointError, match=re.escape(f"'{path}'")):
        ckpt_io.save_checkpoint({"model": {"w": torch.zeros(3)}, "last_iter": 10}, path)

    monkeypatch.undo()
    assert path.read_bytes() == before
    assert torch.equal(ckpt_io.load_checkpoint(path)["model"]["w"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iteration_10.pth.tar"]


def test_find_resume_checkpoint_ignores_and_removes_stale_temporaries(tmp_path: Path, base: Path) -> None:
    exp_dir = copy_experiment(base, tmp_path)
    folder = ckpt_dir(exp_dir)
    good = (folder / "iteration_100.pth.tar").read_bytes()
    stale = {
        "iteration_150.pth.tar.tmp-4242": good[: len(good) // 3],  # killed while writing
        "iteration_200.pth.tar.tmp-4243": good,  # killed between fsync and rename
        "latest.tmp-4243": b"iteration_200.pth.tar\n",
    }
    newest = max(p.stat().st_mtime for p in folder.iterdir()) + 10
    for name, data in stale.items():
        (folder / name).write_bytes(data)
        os.utime(folder / name, (newest, newest))

    assert store.find_resume_checkpoint(folder) == folder / "iteration_100.pth.tar"
    assert not list(folder.glob("*.tmp-*"))


def test_resume_picks_the_newest_complete_checkpoint_even_if_latest_lags(tmp_path: Path, base: Path) -> None:
    """A kill between renaming iteration_100 into place and rewriting ``latest`` leaves ``latest`` naming
    an older file; iteration_100 is complete and verifies, so it is the newest valid checkpoint."""
    exp_dir = copy_experiment(base, tmp_path)
    folder = ckpt_dir(exp_dir)
    store.write_latest(folder, "iteration_50.pth.tar")
    os.utime(folder / "latest", (os.stat(folder / "iteration_50.pth.tar").st_mtime,) * 2)

    assert store.find_resume_checkpoint(folder) == folder / "iteration_100.pth.tar"


def test_nothing_to_resume_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(DingLiteError, match="nothing to resume"):
        store.find_resume_checkpoint(tmp_path / "missing")
    (tmp_path / "ckpt").mkdir()
    with pytest.raises(DingLiteError, match="nothing to resume"):
        store.find_resume_checkpoint(tmp_path / "ckpt")
