"""The checkpoint directory ``<exp>/ckpt/``: the ``latest`` pointer, retention, and choosing what to resume.

Layout and invariants::

    iteration_<N>.pth.tar   state after exactly N train iterations (periodic, final, or on a signal)
    ckpt_best.pth.tar       state right after the evaluation that set the best mean return
    latest                  one line: the file name of the newest complete checkpoint (not a symlink)

``latest`` is rewritten (atomically) only after the checkpoint it names is complete. Retention deletes
``iteration_*`` files beyond the newest ``keep_last_n`` only after a newer one is complete, and never the
file ``latest`` names or ``ckpt_best``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ding_lite.checkpoint.io import BEST_NAME, checksum_problem, has_checksum, parse_checkpoint, write_atomic
from ding_lite.errors import CheckpointError, DingLiteError

log = logging.getLogger("ding_lite")

LATEST = "latest"
_ITERATION = re.compile(r"^iteration_(\d+)\.pth\.tar$")


def write_latest(ckpt_dir: Path, name: str) -> None:
    write_atomic(ckpt_dir / LATEST, (name + "\n").encode())


def read_latest(ckpt_dir: Path) -> str | None:
    try:
        name = (ckpt_dir / LATEST).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if name and "/" not in name else None


def iteration_files(ckpt_dir: Path) -> list[tuple[int, Path]]:
    """``(N, path)`` of every ``iteration_<N>.pth.tar``, oldest iteration first."""
    found = [(int(m.group(1)), p) for p in ckpt_dir.glob("iteration_*.pth.tar") if (m := _ITERATION.match(p.name))]
    return sorted(found)


def prune_iterations(ckpt_dir: Path, keep_last_n: int) -> list[Path]:
    """Delete ``iteration_*`` files beyond the newest ``keep_last_n`` (0 keeps all); returns those deleted."""
    if keep_last_n <= 0:
        return []
    protected = {read_latest(ckpt_dir), BEST_NAME}
    files = [p for _, p in iteration_files(ckpt_dir)]
    deleted = []
    for path in files[: max(0, len(files) - keep_last_n)]:
        if path.name not in protected:
            path.unlink(missing_ok=True)
            deleted.append(path)
    return deleted


def checkpoint_problem(path: Path, deep: bool = True) -> str | None:
    """Why ``path`` is not a usable checkpoint (unreadable, torn, failing its checksum, pickled...), or None.

    ``deep=False`` trusts a file whose ding_lite checksum matches without parsing it (loading still refuses
    anything but tensors and plain data); files without a checksum are always parsed.
    """
    try:
        data = path.read_bytes()
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    problem = checksum_problem(data)
    if problem is not None:
        return problem
    if not deep and has_checksum(data):
        return None
    try:
        state = parse_checkpoint(data, path)
    except CheckpointError as err:
        return str(err).split(": ", 1)[-1] if ": " in str(err) else str(err)
    if "model" not in state:
        return "it holds no 'model' entry"
    return None


def remove_stale_temporaries(ckpt_dir: Path) -> None:
    """Temporary files left by a process killed while writing (never a complete checkpoint)."""
    for path in ckpt_dir.glob("*.tmp-*"):
        path.unlink(missing_ok=True)


def _progress(path: Path) -> tuple[int, int, int]:
    """Sort key, most advanced last: train iteration (from ``iteration_<N>`` or the file's ``last_iter``),
    then whether ``latest`` names it, then modification time."""
    match = _ITERATION.match(path.name)
    if match:
        train_iter = int(match.group(1))
    else:
        try:
            train_iter = int(parse_checkpoint(path.read_bytes(), path).get("last_iter", -1))
        except (CheckpointError, OSError, ValueError, TypeError):
            train_iter = -1
    is_latest = int(read_latest(path.parent) == path.name)
    return train_iter, is_latest, path.stat().st_mtime_ns


def find_resume_checkpoint(ckpt_dir: Path) -> Path:
    """The newest checkpoint that verifies: the highest train iteration (``latest`` and then modification
    time break ties), whatever ``latest`` says, since a process killed right after writing a checkpoint
    may not have moved ``latest`` yet.

    Every newer file that fails verification is skipped with one warning naming it and the reason.
    Raises DingLiteError when nothing valid is there.
    """
    if not ckpt_dir.is_dir():
        raise DingLiteError(f"nothing to resume: '{ckpt_dir}' does not exist (start the run without --resume)")
    remove_stale_temporaries(ckpt_dir)
    candidates = sorted(ckpt_dir.glob("*.pth.tar"), key=_progress, reverse=True)
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            return path
        log.warning("skipping checkpoint %s: %s", path, problem)
    raise DingLiteError(f"nothing to resume: no valid checkpoint in '{ckpt_dir}'")
