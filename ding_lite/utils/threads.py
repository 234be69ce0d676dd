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

import torch

log = logging.getLogger("ding_lite")

_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads")


def loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux; empty elsewhere)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    paths = {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line.lower()}
    return sorted(p for p in paths if p.startswith("/"))


def single_thread_compute() -> None:
    """Use one thread for torch's and NumPy's numeric kernels (a no-op where a setter is not found)."""
    torch.set_num_threads(1)
    for path in loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(lib, name, None)
            if setter is not None:
                setter(ctypes.c_int(1))
                break
        else:
            log.debug("no thread setter found in %s", path)
