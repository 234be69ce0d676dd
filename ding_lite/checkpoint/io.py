"""The on-disk checkpoint: one ``torch.save``d dict, written atomically, read without unpickling code.

Keys (DI-engine's, so each side can read the other's files)::

    model, target_model, optimizer / optimizer_*   the policy's learn-mode state
    last_iter                                      train iterations done (int)
    last_step                                      collector env steps done (int)
    ding_lite                                      ding_lite's extras: {'format_version': int, ...}

Write protocol: serialise into ``<name>.tmp-<pid>`` in the same directory, flush and fsync, rename over
the final name, fsync the directory. A crash leaves either the old file or the new one, never a torn file.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import torch

from ding_lite.errors import CheckpointError

MODEL = "model"
TARGET_MODEL = "target_model"
LAST_ITER = "last_iter"
LAST_STEP = "last_step"
EXTRAS = "ding_lite"
FORMAT_VERSION = 1
CKPT_DIR = "ckpt"
BEST_NAME = "ckpt_best.pth.tar"


def iteration_name(train_iter: int) -> str:
    return f"iteration_{train_iter}.pth.tar"


def write_atomic(path: str | Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so that readers see the old file or the whole new one."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Serialise ``state`` with torch.save and write it atomically; returns the final path."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        write_atomic(path, buffer.getvalue())
    except OSError as err:
        raise CheckpointError(
            f"could not write checkpoint '{path}': {err.strerror or err}; earlier checkpoints are untouched"
        ) from err
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``: tensors and plain data only, never code.

    Raises FileNotFoundError naming a missing path and CheckpointError for a file that is not a usable
    checkpoint (truncated, garbled, or holding pickled objects).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint '{file}' does not exist")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "unsupported content"
        raise CheckpointError(
            f"checkpoint '{file}' holds pickled objects that ding_lite refuses to load ({first})"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(f"checkpoint '{file}' is unreadable (truncated or not a checkpoint): {err}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint '{file}' holds a {type(state).__name__}, not a dict of state")
    return state
