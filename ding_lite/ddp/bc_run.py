"""``DistributedBCRun``: ``ding -m bc`` as one rank of a torchrun job.

Every rank runs the same loop as a single process (:mod:`ding_lite.entry.serial_entry_bc`) on its share of
each global batch (:mod:`ding_lite.ddp.sampler`), its loss going through DDP (:mod:`ding_lite.ddp.loss`).
What differs, here:

- rank 0 alone writes (exports, config files, result.json; its learner and logger write checkpoints and logs,
  the other ranks have :mod:`ding_lite.ddp.replica`'s);
- rank 0 alone validates, on the whole validation set in batches of the global batch size, exactly as one
  process would; every rank gets the numbers (so the best-checkpoint decision is the same everywhere);
- a stop signal on any rank stops every rank after the same update;
- ``samples_seen`` (the ``*_step`` axis) counts every rank's samples;
- checkpoints record the world size, and a resume needs the same one.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from typing import Any

from ding_lite.datasets import LeRobotDataset
from ding_lite.ddp.collectives import agree_on_stop, lead_decides
from ding_lite.ddp.loss import distribute_policy
from ding_lite.ddp.replica import RankSeedHook
from ding_lite.ddp.sampler import ShardedSampler
from ding_lite.ddp.world import World
from ding_lite.entry.serial_entry_bc import BCRun


@dataclass
class DistributedBCRun(BCRun):
    """Built by ``build_bc`` with ``world`` set and the sampler sharded."""

    sampler: ShardedSampler

    def __post_init__(self) -> None:
        world, sampler = self.ranks, self.sampler
        distribute_policy(self.policy, world.size, lambda: sampler.padding)
        self.learner.register_hook(RankSeedHook(int(self.cfg.seed), world.rank))

    @property
    def ranks(self) -> World:
        assert self.world is not None, "a DistributedBCRun needs its world"
        return self.world

    @property
    def global_batch_size(self) -> int:
        return int(self.cfg.policy.learn.batch_size) * self.ranks.size

    def measure_validation(self, dataset: LeRobotDataset) -> dict[str, float]:
        measured: dict[str, float] = lead_decides(lambda: super(DistributedBCRun, self).measure_validation(dataset))
        return measured

    def check_stop_request(self) -> None:
        agree_on_stop(self.stop_request)
        super().check_stop_request()

    def export(self, name: str) -> None:
        if self.ranks.lead:
            super().export(name)

    def write_config(self) -> None:
        if self.ranks.lead:
            super().write_config()

    def write_result(self, interrupted: str | None = None) -> dict[str, Any]:
        if self.ranks.lead:
            return super().write_result(interrupted)
        return self.result(interrupted)

    def close(self) -> None:
        """Also free the DDP module now, before the process group is destroyed: its reducer sits in reference
        cycles, and collected at the interpreter's exit, after gloo's teardown, it aborted about one process
        in twenty ("terminate called without an active exception")."""
        super().close()
        self.policy.loss_forward = None
        gc.collect()  # DDP's reducer and hooks form reference cycles

    def capture(self) -> dict[str, Any]:
        return {**super().capture(), "world_size": self.ranks.size}
