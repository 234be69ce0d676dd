"""One compute thread for torch and for NumPy's BLAS during training.

The networks here are small: a matrix product of a 64-row batch takes microseconds, and handing it to a
second thread costs more than it saves (OpenBLAS's worker threads also spin, taking the core the
environments would use). Torch has ``set_num_threads``; NumPy's bundled OpenBLAS is set through its own
``*_set_num_threads`` symbol, found among the libraries the process has loaded.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger("ding_lite")

_PREFIXES = ("scipy_openblas_", "openblas_")  # NumPy >= 2 wheels, older NumPy wheels and plain OpenBLAS
_SUFFIXES = ("64_", "")


def loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux; empty elsewhere)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    paths = {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line.lower()}
    return sorted(p for p in paths if p.startswith("/"))


def _openblas_calls(verb: str) -> list[Any]:
    """``openblas_{verb}_num_threads`` of every loaded OpenBLAS, under whichever symbol name it exports."""
    calls = []
    for path in loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        names = [f"{prefix}{verb}_num_threads{suffix}" for prefix in _PREFIXES for suffix in _SUFFIXES]
        found = next((getattr(lib, name) for name in names if hasattr(lib, name)), None)
        if found is None:
            log.debug("no %s_num_threads found in %s", verb, path)
        else:
            calls.append(found)
    return calls


def blas_threads() -> list[int]:
    """The thread count of each loaded OpenBLAS (NumPy's), in ``loaded_openblas()`` order."""
    return [int(get()) for get in _openblas_calls("get")]


def set_blas_threads(count: int) -> None:
    for put in _openblas_calls("set"):
        put(ctypes.c_int(count))


def single_thread_compute() -> None:
    """Use one thread for torch's and NumPy's numeric kernels (a no-op where a setter is not found)."""
    torch.set_num_threads(1)
    set_blas_threads(1)
