"""Atomic file writes: a reader sees the old file or the whole new one, never a part (temporary file,
fsync, rename, fsync of the directory). Temporary names end in ``.tmp-<pid>``, so globs such as
``*.parquet`` never match a file being written."""

from __future__ import annotations

import os
from pathlib import Path


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
