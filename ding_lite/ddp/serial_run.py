"""``DistributedExperiment``: ``ding -m serial`` (DQN, SAC) as one rank of a torchrun job, data parallel.

Every rank runs the loop of :mod:`ding_lite.entry.serial_entry` on its own collector envs, replay buffer and
n-step windows (seeded with ``seed + 1000 * rank``: envs, the policy's exploration generator, the buffer's
sampler and the global generators after the model is built; every rank builds the model from ``seed``, so
the weights start equal). Each optimizer averages its gradients over the ranks before every step
(:mod:`ding_lite.ddp.grad_sync`), so the weights stay identical on every rank. What differs, here:

- ``collector.env_step`` is the count of every rank: after each collect the ranks add up what each collected
  (``rank_env_steps`` holds each rank's own total), so logs, ``--env-step``, the exploration schedule and
  checkpoints see the sum;
- updates start once every rank's buffer holds a batch (all ranks update together, or none does);
- rank 0 alone writes (its learner and logger; the others have :mod:`ding_lite.ddp.replica`'s) and evaluates;
  the stop decision (stop value reached, a stop signal on any rank) reaches every rank at the same point;
- rank 0's checkpoints hold every rank's training state: at each save, every rank sends its own (replay
  buffer, n-step windows, envs mid-episode, generators, ...) to rank 0 (:mod:`ding_lite.ddp.state_transfer`),
  which stores the others' under ``rank_states``, beside ``world_size`` and ``rank_env_steps``.

Resume (with the same world size only): every rank loads the weights, optimizers and counters from the
checkpoint; rank 0 restores its own training state and sends each other rank its part, so the run continues
exactly as the uninterrupted one. An evaluation that finds a new best makes every rank take part in the
``ckpt_best`` save, after rank 0 has told them so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ding_lite.actors.config import engine_of
from ding_lite.checkpoint import io as ckpt_io
from ding_lite.config.compile import save_config_files
from ding_lite.ddp.collectives import agree_on_stop, all_reduce_max, all_reduce_sum, lead_decides
from ding_lite.ddp.grad_sync import average_gradients_before_steps
from ding_lite.ddp.replica import ReplicaLearner
from ding_lite.ddp.state_transfer import recv_state, send_state
from ding_lite.ddp.world import LEAD_RANK, World
from ding_lite.entry import training_state
from ding_lite.entry.build import Experiment
from ding_lite.errors import ConfigError

RANK_SEED_STRIDE = 1000  # rank r collects with seed + 1000 * r
BEST_CHECKPOINT = "ckpt_best.pth.tar"  # the name entry.build's save_best writes


def collect_seed(seed: int, world: World | None) -> int:
    """The seed of this rank's collector envs, exploration, replay sampling and global generators."""
    return seed if world is None else seed + RANK_SEED_STRIDE * world.rank


def prepare_distributed_config(cfg: Any, source: str) -> None:
    """Before the ranks connect: refuse Ray actors, and make the policy learn with torch (whose gradients
    are averaged); its NumPy backend (``policy.learn.backend='auto'`` picks it for small MLPs) is not."""
    if engine_of(cfg.policy) == "ray":
        raise ConfigError(f"policy.distributed.engine='ray' in {source} does not run under torchrun; unset it, "
                          "or run without torchrun")  # fmt: skip
    backend = str(cfg.policy.learn.get("backend", "auto"))
    if backend == "numpy":
        raise ConfigError(f"policy.learn.backend='numpy' in {source} does not run under torchrun (gradients are "
                          "averaged with torch); use 'auto' or 'torch'")  # fmt: skip
    cfg.policy.learn.backend = "torch"


@dataclass
class DistributedExperiment(Experiment):
    rank_env_steps: list[int] = field(default_factory=list)  # the env steps each rank collected, by rank
    synced_env_step: int = 0  # collector.env_step when the ranks last added up their steps

    def __post_init__(self) -> None:
        self.rank_env_steps = [0] * self.ranks.size
        average_gradients_before_steps(self.policy, self.ranks.size)

    @property
    def ranks(self) -> World:
        assert self.world is not None, "a DistributedExperiment needs its world"
        return self.world

    def start(self) -> None:
        """Every rank loads the checkpoint (``before_run``); rank 0 restores its training state and sends each
        other rank its own (module docstring)."""
        self.learner.call_hook("before_run")
        state = self.learner.loaded_state if self.learner.resume_training else None
        extras = (state or {}).get(ckpt_io.EXTRAS, {})
        if self.ranks.lead:
            training_state.restore(self)
            for rank, part in enumerate(extras.get("rank_states", []), start=1):
                send_state(part, rank)
            save_config_files(self.cfg, self.exp_dir)
        elif "rank_states" in extras:
            training_state.restore_extras(self, recv_state(LEAD_RANK))
        if state is not None:  # a DI-engine checkpoint (no training state) resumes its counters only
            self.collector.env_step = int(self.learner.loaded_env_step or 0)
            self.rank_env_steps = [int(n) for n in extras.get("rank_env_steps", self.rank_env_steps)]
        self.synced_env_step = self.collector.env_step

    def after_collect(self) -> None:
        """Add up the env steps every rank collected since the last call (one all-reduce)."""
        own = self.collector.env_step - self.synced_env_step
        steps = all_reduce_sum([own if rank == self.ranks.rank else 0 for rank in range(self.ranks.size)])
        self.rank_env_steps = [total + int(n) for total, n in zip(self.rank_env_steps, steps)]
        self.synced_env_step += int(sum(steps))
        self.collector.env_step = self.synced_env_step

    def buffers_hold(self, batch_size: int) -> bool:
        assert self.buffer is not None
        return -all_reduce_max(-len(self.buffer)) >= batch_size

    def check_stop_request(self) -> None:
        agree_on_stop(self.stop_request)
        super().check_stop_request()

    def evaluate(self) -> bool:
        """Rank 0 evaluates when due; every rank learns whether the stop value was reached and whether the
        evaluation was the best so far, and then every rank takes part in saving ``ckpt_best``."""
        save_best, found_best = self.evaluator.save_best, []
        self.evaluator.save_best = lambda: found_best.append(True)  # saved below, with every rank
        try:
            reached, best = lead_decides(lambda: [Experiment.evaluate(self), bool(found_best)])
        finally:
            self.evaluator.save_best = save_best
        if best and self.ranks.lead:
            assert save_best is not None
            save_best()
        elif best:
            self.learner.save_checkpoint(BEST_CHECKPOINT)  # sends this rank's state
        return bool(reached)

    def capture(self) -> dict[str, Any]:
        """Rank 0: its training state and every other rank's (each sends its own here; config aside)."""
        own = super().capture()
        if not self.ranks.lead:
            send_state({key: value for key, value in own.items() if key != "config"}, LEAD_RANK)
            return own
        others = [recv_state(rank) for rank in range(1, self.ranks.size)]
        return {**own, "world_size": self.ranks.size, "rank_env_steps": list(self.rank_env_steps),
                "rank_states": others}  # fmt: skip

    def result(self, stop: bool, interrupted: str | None = None) -> dict[str, Any]:
        """Also the world size, each rank's env steps and how far the ranks' weights are apart (0.0: equal)."""
        divergence = weight_divergence(self.policy.model)
        return {**super().result(stop, interrupted), "world_size": self.ranks.size,
                "rank_env_steps": list(self.rank_env_steps), "weight_divergence": divergence}  # fmt: skip

    def write_result(self, stop: bool, interrupted: str | None = None) -> dict[str, Any]:
        if self.ranks.lead:
            return super().write_result(stop, interrupted)
        return self.result(stop, interrupted)


class StateSendingLearner(ReplicaLearner):
    """The learner of a rank other than 0: writes nothing, but at each of rank 0's checkpoint saves it
    captures its state, which :meth:`DistributedExperiment.capture` sends to rank 0."""

    def _write_checkpoint(self, name: str, logged: bool) -> Path:
        self.checkpoint_state()
        return self.ckpt_dir / name


def weight_divergence(model: torch.nn.Module) -> float:
    """The largest absolute difference between a floating-point weight of any rank and rank 0's."""
    tensors = [t.detach().reshape(-1).double() for t in model.state_dict().values() if t.is_floating_point()]
    mine = torch.cat(tensors) if tensors else torch.zeros(0, dtype=torch.float64)
    lead = mine.clone()
    dist.broadcast(lead, LEAD_RANK)
    largest = torch.tensor([float((mine - lead).abs().max()) if len(mine) else 0.0], dtype=torch.float64)
    dist.all_reduce(largest, op=dist.ReduceOp.MAX)
    return float(largest.item())
