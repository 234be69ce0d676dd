"""Shared fixtures: running the ``ding`` command in a subprocess, as a user would; and no test leaking
process-wide state (compute threads, random generators, the default dtype) into the next."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ding_lite.utils.threads import blas_threads, set_blas_threads

# The console script installed next to the interpreter running the tests (``pip install -e .``);
# ``python -m ding_lite.entry.cli`` is the same program when the script is not there.
_DING_SCRIPT = Path(sys.executable).with_name("ding")
DING_COMMAND = [str(_DING_SCRIPT)] if _DING_SCRIPT.is_file() else [sys.executable, "-m", "ding_lite.entry.cli"]

RunDing = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session")
def run_ding() -> RunDing:
    """``run_ding(*args, cwd=dir)``: run ``ding *args`` in ``dir`` and return the finished process.

    Output is captured as text; the process is never checked here, so tests can assert on failures.
    The timeout only turns a hang into an error; it is far above any run's duration.
    """

    def run(*args: str | os.PathLike[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*DING_COMMAND, *(str(arg) for arg in args)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(autouse=True)
def _restore_process_state() -> Iterator[None]:
    """Pipelines run in-process set one compute thread and seed the global generators; tests that compare
    numbers must not depend on which test ran before them."""
    threads, blas = torch.get_num_threads(), blas_threads()
    torch_rng, numpy_rng, dtype = torch.get_rng_state(), np.random.get_state(), torch.get_default_dtype()
    yield
    torch.set_num_threads(threads)
    if blas:
        set_blas_threads(blas[0])
    torch.set_rng_state(torch_rng)
    np.random.set_state(numpy_rng)
    torch.set_default_dtype(dtype)
