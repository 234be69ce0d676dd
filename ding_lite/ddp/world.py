"""Which process of a ``torchrun`` job this one is, and the process group it trains in.

``torchrun --nproc_per_node=N`` starts N copies of a command with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT`` in their environment. :meth:`World.from_environment` reads them; outside
torchrun (or with one process) it returns None and nothing here is used: the single-process path does not
touch ``torch.distributed``.

Life cycle: the pipeline reads its config and dataset first (so a config error is raised by every process
alike, before any of them waits for the others), then :meth:`World.connect` joins the group, and
:meth:`World.close` leaves it when the run ends, however it ends. The backend is gloo for parameters on the
CPU (where ding_lite's policies train) and NCCL for parameters on a GPU.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist

from ding_lite.errors import CheckpointError, ConfigError, TrainingInterrupted

log = logging.getLogger("ding_lite")

LEAD_RANK = 0  # the process that writes: experiment directory, checkpoints, logs, exports, result.json


@dataclass
class World:
    """This process's ``rank`` among ``size`` processes (``local_rank`` on its machine)."""

    rank: int
    size: int
    local_rank: int = 0
    _joined: bool = field(default=False, repr=False)
    _log_level: int | None = field(default=None, repr=False)

    @property
    def lead(self) -> bool:
        """Whether this process writes (rank 0)."""
        return self.rank == LEAD_RANK

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> World | None:
        """The world torchrun describes in the environment; None for a single process."""
        env = os.environ if environ is None else environ
        if "WORLD_SIZE" not in env:
            return None
        try:
            size, rank, local_rank = (int(env.get(key, "0")) for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK"))
        except ValueError:
            raise ConfigError(
                f"WORLD_SIZE={env.get('WORLD_SIZE')!r}, RANK={env.get('RANK')!r} and LOCAL_RANK="
                f"{env.get('LOCAL_RANK')!r} must be integers; start distributed training with torchrun"
            ) from None
        if size <= 1:
            return None
        if not 0 <= rank < size:
            raise ConfigError(f"RANK={rank} is outside WORLD_SIZE={size}; start distributed training with torchrun")
        return cls(rank, size, local_rank)

    def connect(self, device: torch.device | None = None) -> None:
        """Join the process group (gloo, or NCCL for a CUDA ``device``); ranks other than 0 log warnings only."""
        device = device or torch.device("cpu")
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(self.local_rank)
        if not dist.is_initialized():
            dist.init_process_group(backend, rank=self.rank, world_size=self.size)
            self._joined = True
        if not self.lead:  # the same messages as rank 0's, once is enough
            self._log_level = log.level
            log.setLevel(logging.WARNING)

    def close(self, *, together: bool = False) -> None:
        """Leave the process group this world joined (a no-op when it joined none). ``together``: every rank is
        closing at this point of the same code (a finished or agreed-stopped run); each waits for the others
        first, since a process tearing gloo down while a peer is still connected can abort at exit."""
        if self._log_level is not None:
            log.setLevel(self._log_level)
            self._log_level = None
        if self._joined and dist.is_initialized():
            if together:
                dist.barrier()
            dist.destroy_process_group()
        self._joined = False


@contextmanager
def joined(world: World | None) -> Iterator[None]:
    """Leave ``world``'s process group (if it joined one) when the block ends: together with the other ranks
    when it ends normally or with an agreed stop (``TrainingInterrupted``), alone on any other exception."""
    if world is None:
        yield
        return
    try:
        yield
    except TrainingInterrupted:
        world.close(together=True)
        raise
    except BaseException:
        world.close()
        raise
    world.close(together=True)


def check_resume_world_size(saved: int, current: int, path: str | Path) -> None:
    """A run resumes only with the number of processes that wrote its checkpoint: the sampler's global batch
    and each rank's random numbers depend on it."""
    if saved != current:
        raise CheckpointError(
            f"checkpoint '{path}' was written by a run of {_processes(saved)} and cannot resume with "
            f"{_processes(current)}; resume it with {_launch(saved)}, or start a new run from its weights "
            f"with --load-path instead of --resume"
        )


def _processes(n: int) -> str:
    return "1 process" if n == 1 else f"{n} processes"


def _launch(n: int) -> str:
    return "plain ding (no torchrun)" if n == 1 else f"torchrun --nproc_per_node={n} (WORLD_SIZE={n})"


def launcher_words(environ: Mapping[str, str] | None = None) -> list[str]:
    """The start of a command that runs ``ding`` again as this process was started: ``ding``, or under
    torchrun ``torchrun --nproc_per_node=N [--nnodes=M] -m ding_lite.entry.cli``."""
    env = os.environ if environ is None else environ
    world = World.from_environment(env)
    if world is None:
        return ["ding"]
    per_node = int(env.get("LOCAL_WORLD_SIZE", world.size))
    nodes = [f"--nnodes={world.size // per_node}"] if per_node != world.size else []
    return ["torchrun", f"--nproc_per_node={per_node}", *nodes, "-m", "ding_lite.entry.cli"]
