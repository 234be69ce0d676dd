"""Cutting a TensorBoard run back to the moment a checkpoint was written.

An event file is a sequence of TFRecord frames: ``u64 length``, ``u32 crc``, ``length`` bytes of a
serialised ``Event``, ``u32 crc``. The logger counts the scalar events it has written; a checkpoint stores
that count (after flushing). On resume :func:`truncate_scalar_events` keeps the first ``count`` scalar
events across the run's files (in file-name order, which is creation order), drops everything written
after the checkpoint, and leaves one file, so the resumed run's points continue the curves with no
duplicates and no steps going backwards.
"""

from __future__ import annotations

import struct
from pathlib import Path

from ding_lite.utils.files import write_atomic

_HEADER = 12  # u64 length + u32 crc of the length
_FOOTER = 4  # u32 crc of the data


def event_files(log_dir: Path) -> list[Path]:
    return sorted(p for p in log_dir.glob("events.out.tfevents.*") if p.is_file())


def read_frames(path: Path) -> list[bytes]:
    """Whole frames of one file, in order; a torn frame at the end (crash while writing) is dropped."""
    data = path.read_bytes()
    frames, at = [], 0
    while at + _HEADER <= len(data):
        (length,) = struct.unpack("<Q", data[at : at + 8])
        end = at + _HEADER + length + _FOOTER
        if end > len(data):
            break
        frames.append(data[at:end])
        at = end
    return frames


def _is_scalar(frame: bytes) -> bool:
    from tensorboardX.proto import event_pb2

    event = event_pb2.Event()
    event.ParseFromString(frame[_HEADER:-_FOOTER])
    return event.HasField("summary") and len(event.summary.value) > 0


def truncate_scalar_events(log_dir: Path, keep_scalars: int) -> int:
    """Keep the first ``keep_scalars`` scalar events of the run in ``log_dir``; returns how many were found."""
    files = event_files(log_dir)
    if not files:
        return 0
    kept: list[bytes] = []
    found = 0
    for index, path in enumerate(files):
        for frame in read_frames(path):
            if _is_scalar(frame):
                if found == keep_scalars:
                    break
                found += 1
                kept.append(frame)
            elif index == 0:
                kept.append(frame)  # the first file's header event (file_version)
        if found == keep_scalars:
            break
    write_atomic(files[0], b"".join(kept))
    for path in files[1:]:
        path.unlink()
    return found
