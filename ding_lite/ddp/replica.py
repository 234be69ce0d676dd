"""What a rank other than 0 uses instead of the writing parts: a learner that saves no checkpoint, a logger
that drops everything, and the hook that seeds each rank's random numbers.

Rank 0 writes everything (the experiment directory, checkpoints, exports, TensorBoard and text logs, the
config files, result.json, progress). The other ranks run the same loop, hooks included, so that every
collective happens on every rank at the same point; their writes just go nowhere.

Randomness in an update (ACT's dropout masks and CVAE samples) must differ between ranks, or they would all
drop the same units of different samples. Before every update each rank seeds torch's generator from
(seed, rank, train_iter): the numbers an update draws then depend on nothing else, so a run resumed from
rank 0's checkpoint draws exactly what the uninterrupted run drew, on every rank, without saving the other
ranks' generator states.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ding_lite.learner import BaseLearner
from ding_lite.learner.hooks import LearnerHook
from ding_lite.utils.log import ExperimentLogger


class ReplicaLearner(BaseLearner):
    """Trains, counts and runs hooks as rank 0's learner does; a checkpoint save returns rank 0's path and
    writes nothing."""

    def _write_checkpoint(self, name: str, logged: bool) -> Path:
        return self.ckpt_dir / name


class NullLogger(ExperimentLogger):
    """An :class:`ExperimentLogger` that writes nothing and creates no directory."""

    def scalar(self, tag: str, value: float, step: int) -> None:
        pass

    def text(self, worker: str, message: str) -> None:
        pass

    def flush(self) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {"scalar_events": 0, "text_bytes": {}}

    def restore(self, state: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


def rank_seed(seed: int, rank: int, train_iter: int) -> int:
    """A 63-bit seed for torch's generator, from NumPy's SeedSequence of (seed, rank, train_iter)."""
    words = np.random.SeedSequence([seed % 2**32, rank, train_iter]).generate_state(2, np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


class RankSeedHook(LearnerHook):
    """``before_iter``, first of all: ``torch.manual_seed(rank_seed(seed, rank, train_iter))``."""

    def __init__(self, seed: int, rank: int) -> None:
        super().__init__("ddp_rank_seed", "before_iter", priority=0)
        self.seed, self.rank = seed, rank

    def __call__(self, learner: BaseLearner) -> None:
        torch.manual_seed(rank_seed(self.seed, self.rank, learner.train_iter))
