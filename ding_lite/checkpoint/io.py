"""The on-disk checkpoint: one ``torch.save``d dict, written atomically, read without unpickling code.

Keys (DI-engine's, so each side can read the other's files)::

    model, target_model, optimizer / optimizer_*   the policy's learn-mode state
    last_iter                                      train iterations done (int)
    last_step                                      collector env steps done (int)
    ding_lite                                      ding_lite's extras: {'format_version': int, ...}

Integrity: a ``torch.save`` file is a zip archive; ding_lite writes ``ding_lite-sha256:<hex>`` into the
archive's comment, the SHA-256 of the file as it would be without that comment. ``torch.load`` ignores
zip comments, so DI-engine and PyTorch still read the file; ding_lite checks it on every load. Files
without the comment (DI-engine's) load unchecked.

Write protocol: serialise into ``<name>.tmp-<pid>`` in the same directory, flush and fsync, rename over
the final name, fsync the directory. A crash leaves either the old file or the new one, never a torn file.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import struct
from pathlib import Path
from typing import Any

import torch

from ding_lite.errors import CheckpointError
from ding_lite.utils.files import write_atomic

MODEL = "model"
TARGET_MODEL = "target_model"
LAST_ITER = "last_iter"
LAST_STEP = "last_step"
EXTRAS = "ding_lite"
FORMAT_VERSION = 1
CKPT_DIR = "ckpt"
BEST_NAME = "ckpt_best.pth.tar"
CHECKSUM_PREFIX = b"ding_lite-sha256:"
_EOCD = b"PK\x05\x06"  # zip end-of-central-directory signature; the record is 22 bytes + comment


def iteration_name(train_iter: int) -> str:
    return f"iteration_{train_iter}.pth.tar"


def _end_record(data: bytes) -> int:
    """Offset of the zip end record whose comment runs exactly to the end of ``data``, or -1."""
    start = len(data)
    while True:
        at = data.rfind(_EOCD, max(0, len(data) - 22 - 65535), start)
        if at < 0 or at + 22 > len(data):
            return -1
        (comment_len,) = struct.unpack("<H", data[at + 20 : at + 22])
        if at + 22 + comment_len == len(data):
            return at
        start = at


def add_checksum(payload: bytes) -> bytes:
    """``payload`` (a torch.save zip without comment) with its SHA-256 written into the zip comment."""
    at = _end_record(payload)
    if at < 0 or at + 22 != len(payload):
        raise ValueError("payload is not a zip archive without a comment")
    comment = CHECKSUM_PREFIX + hashlib.sha256(payload).hexdigest().encode()
    return payload[: at + 20] + struct.pack("<H", len(comment)) + comment


def checksum_problem(data: bytes) -> str | None:
    """Why ``data`` is not an intact checkpoint file, or None (intact, or written without a checksum)."""
    if not data:
        return "the file is empty"
    at = _end_record(data)
    if at < 0:
        return "the file is truncated or not a torch checkpoint (no zip end record)"
    comment = data[at + 22 :]
    if not comment.startswith(CHECKSUM_PREFIX):
        return None
    original = data[: at + 20] + b"\x00\x00"
    if hashlib.sha256(original).hexdigest().encode() != comment[len(CHECKSUM_PREFIX) :]:
        return "checksum mismatch: the contents changed after it was written"
    return None


def has_checksum(data: bytes) -> bool:
    at = _end_record(data)
    return at >= 0 and data[at + 22 :].startswith(CHECKSUM_PREFIX)


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Serialise ``state`` with torch.save, add the checksum and write it atomically; returns the path."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    try:
        write_atomic(path, add_checksum(buffer.getvalue()))
    except OSError as err:
        raise CheckpointError(
            f"could not write checkpoint '{path}': {err.strerror or err}; earlier checkpoints are untouched"
        ) from err
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``: tensors and plain data only, never code.

    Raises FileNotFoundError naming a missing path and CheckpointError for a file that is not a usable
    checkpoint (empty, truncated, failing its checksum, garbled, or holding pickled objects).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint '{file}' does not exist")
    data = file.read_bytes()
    problem = checksum_problem(data)
    if problem is not None:
        raise CheckpointError(f"checkpoint '{file}' is unusable: {problem}")
    return parse_checkpoint(data, file)


def _refusal_reason(message: str) -> str | None:
    """The line of torch's weights-only error naming what was refused (not its advice to load unsafely)."""
    for line in message.splitlines():
        line = line.strip()
        if line.startswith(("Trying to load unsupported GLOBAL", "Unsupported global", "Unsupported class")):
            return line.rstrip(".")
    return None


def parse_checkpoint(data: bytes, file: Path) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` of checkpoint bytes, with user-facing errors naming ``file``."""
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _refusal_reason(str(err))
        if reason is None:
            raise CheckpointError(f"checkpoint '{file}' is unreadable (its pickled index is corrupt)") from None
        raise CheckpointError(
            f"checkpoint '{file}' holds pickled objects that ding_lite refuses to load ({reason}); "
            "nothing from it was run"
        ) from None
    except Exception as err:  # a garbled file can break torch's reader in many ways
        raise CheckpointError(
            f"checkpoint '{file}' is unreadable (truncated or not a checkpoint): {type(err).__name__}: {err}"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint '{file}' holds a {type(state).__name__}, not a dict of state")
    return state
