"""ACT's ``select_action`` for a batch of envs whose episodes start at different steps.

LeRobot's ``select_action`` keeps one action queue (or one temporal ensemble) for the whole batch, which is
right only while every env starts its episodes together. An evaluator whose envs auto-reset one by one
needs one per env: here every row of the batch has its own queue of ``n_action_steps`` actions, or its own
:class:`TemporalEnsembler`, and :meth:`PerEnvActions.restart` forgets the rows whose episode just began.
The model runs once for the whole batch in every step where some row needs a chunk, so envs in step give
the same model calls and actions as LeRobot's single queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor

from ding_lite.act.policy import ACTPolicy, TemporalEnsembler


class PerEnvActions:
    def __init__(self, policy: ACTPolicy, n_envs: int) -> None:
        self.policy = policy
        self.n_envs = n_envs
        self.n_steps = policy.config.n_action_steps
        self.queue: Tensor | None = None  # (n_envs, n_action_steps, A), env units
        self.taken = torch.full((n_envs,), self.n_steps, dtype=torch.long)  # actions used per row; full = refill
        coeff = policy.config.temporal_ensemble_coeff
        chunk = policy.config.chunk_size
        self.ensemblers = None if coeff is None else [TemporalEnsembler(coeff, chunk) for _ in range(n_envs)]

    def restart(self, rows: Iterable[int]) -> None:
        """The envs of ``rows`` begin new episodes: their next action comes from a new chunk alone."""
        for row in rows:
            self.taken[int(row)] = self.n_steps
            if self.ensemblers is not None:
                self.ensemblers[int(row)].reset()

    @torch.no_grad()
    def act(self, batch: Mapping[str, Any]) -> Tensor:
        """The (n_envs, A) actions of this step, in env units."""
        if self.ensemblers is not None:
            chunk = self.policy.predict_action_chunk(batch)  # ensembling commutes with the affine unnormalisation
            return torch.cat([ens.update(chunk[row : row + 1]) for row, ens in enumerate(self.ensemblers)])
        refill = self.taken >= self.n_steps
        if bool(refill.any()):
            chunk = self.policy.predict_action_chunk(batch)[:, : self.n_steps]
            self.queue = chunk if self.queue is None else torch.where(refill[:, None, None], chunk, self.queue)
            self.taken[refill] = 0
        assert self.queue is not None
        action = self.queue[torch.arange(self.n_envs), self.taken]
        self.taken += 1
        return action
