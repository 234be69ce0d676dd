"""``TrainCycle``: the train iterations that one collected rollout gives an on-policy learner.

A cycle makes ``epochs`` passes over the rollout in shuffled minibatches; each minibatch is one train
iteration. The cycle is explicit state (rollout, behaviour log-probabilities, current epoch, its shuffle
order and position, and the epoch's advantages), so a checkpoint written between two minibatches can
hold it and a resumed run continues with exactly the minibatches the uninterrupted run would have used.
The rollout's ``obs`` may be a dict of tensors (``obs_type='pixels_state'``); frames stay uint8.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from ding_lite.utils.obs import map_obs

# (rollout) -> (advantage, value, return), each (T, N); may update running statistics
AdvantageFn = Callable[[Mapping[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


class TrainCycle:
    def __init__(
        self,
        rollout: Mapping[str, torch.Tensor],
        old_logp: torch.Tensor,
        *,
        epochs: int,
        batch_size: int,
        recompute_adv: bool,
        advantages: AdvantageFn,
    ) -> None:
        self.rollout = dict(rollout)
        self.old_logp = old_logp
        self.epochs = epochs
        self.batch_size = batch_size
        self.recompute_adv = recompute_adv
        self._advantages = advantages
        self.total = int(old_logp.shape[0])
        self.epoch = -1
        self.order: torch.Tensor | None = None
        self.pos = 0
        self.adv = self.value = self.ret = torch.zeros(0)

    def next_batch(self) -> dict[str, torch.Tensor] | None:
        """The next minibatch, or None when every epoch is done."""
        if self.order is None or self.pos >= self.total:
            if self.epoch + 1 >= self.epochs:
                return None
            if self.epoch < 0 or self.recompute_adv:
                adv, value, ret = self._advantages(self.rollout)
                self.adv, self.value, self.ret = adv.reshape(-1), value.reshape(-1), ret.reshape(-1)
            self.epoch += 1
            self.order = torch.randperm(self.total)
            self.pos = 0
        idx = self.order[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        total = self.total
        action = self.rollout["action"]
        return {
            "obs": map_obs(lambda obs: obs.reshape(total, *obs.shape[2:])[idx], self.rollout["obs"]),
            "action": action.reshape(self.total, *action.shape[2:])[idx],
            "logp_old": self.old_logp[idx],
            "adv": self.adv[idx],
            "value_old": self.value[idx],
            "return": self.ret[idx],
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "rollout": self.rollout,
            "old_logp": self.old_logp,
            "epoch": self.epoch,
            "order": self.order,
            "pos": self.pos,
            "adv": self.adv,
            "value": self.value,
            "ret": self.ret,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rollout = dict(state["rollout"])
        self.old_logp = state["old_logp"]
        self.total = int(self.old_logp.shape[0])
        self.epoch, self.order, self.pos = int(state["epoch"]), state["order"], int(state["pos"])
        self.adv, self.value, self.ret = state["adv"], state["value"], state["ret"]
