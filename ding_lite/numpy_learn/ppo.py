"""PPO's update for the built-in ``VAC`` in NumPy: the same loss and gradients as the torch path.

The loss is DI-engine's: clipped surrogate on normalised advantages, clipped value loss weighted by
``value_weight``, minus ``entropy_weight`` times the entropy; then gradient clipping and Adam. Where
torch's ``min``/``max`` meet a tie the gradient is split in half, as torch does, so the two backends
compute the same gradients up to float rounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ding_lite.model.common import ReparameterizationHead
from ding_lite.model.numpy_infer import linears
from ding_lite.model.vac import VAC
from ding_lite.numpy_learn.actors import CategoricalActor, GaussianActor
from ding_lite.numpy_learn.adam import NumpyAdam
from ding_lite.numpy_learn.dense import DenseChain
from ding_lite.numpy_learn.params import ParamSet


def tie_split(
    first: np.ndarray, second: np.ndarray, pick_first: np.ndarray, d_first: np.ndarray, d_second: np.ndarray
) -> np.ndarray:
    """Gradient of an elementwise min/max: ``d_first`` where the first operand is picked, ``d_second`` where
    the second is, and their mean on ties (torch's convention)."""
    tie = first == second
    return np.where(tie, 0.5 * (d_first + d_second), np.where(pick_first, d_first, d_second))


class NumpyPPO:
    """Optimizer and update of a ``VAC`` (discrete or continuous actions); ``optimizer`` has torch Adam's
    ``state_dict`` layout."""

    def __init__(self, model: VAC, learn_cfg: Mapping[str, Any]) -> None:
        self.cfg = learn_cfg
        self.params = ParamSet(list(model.parameters()))
        self.optimizer = NumpyAdam(self.params, lr=float(learn_cfg["learning_rate"]))
        self.encoder = DenseChain(linears(model.encoder), self.params, relu_last=True)
        self.critic = DenseChain(linears(model.critic_head), self.params)
        head = model.actor_head
        self.actor: CategoricalActor | GaussianActor
        if isinstance(head, ReparameterizationHead):
            self.actor = GaussianActor(head, self.params)
        else:
            self.actor = CategoricalActor(DenseChain(linears(head), self.params))

    def value(self, obs: np.ndarray) -> np.ndarray:
        return self.critic(self.encoder(obs))[:, 0]

    def log_prob(self, obs: np.ndarray, action: np.ndarray) -> np.ndarray:
        return self.actor.log_prob(self.encoder(obs), action)

    def update(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        cfg = self.cfg
        clip = float(cfg["clip_ratio"])
        value_weight, entropy_weight = float(cfg["value_weight"]), float(cfg["entropy_weight"])
        obs, action = batch["obs"].numpy(), batch["action"].numpy()
        logp_old, raw_adv = batch["logp_old"].numpy(), batch["adv"].numpy()
        value_old, ret = batch["value_old"].numpy(), batch["return"].numpy()
        size = len(obs)
        adv = (raw_adv - raw_adv.mean()) / (raw_adv.std(ddof=1) + 1e-8) if cfg["adv_norm"] else raw_adv

        feature = self.encoder.forward(obs)
        logp, entropy = self.actor.forward(feature, action)
        value = self.critic.forward(feature)[:, 0]

        ratio = np.exp(logp - logp_old)
        in_range = (ratio >= 1 - clip) & (ratio <= 1 + clip)
        surr1, surr2 = ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv
        policy_loss = -np.minimum(surr1, surr2).mean()
        value_clipped = value_old + np.clip(value - value_old, -clip, clip)
        err1, err2 = (ret - value) ** 2, (ret - value_clipped) ** 2
        value_loss = 0.5 * np.maximum(err1, err2).mean()
        entropy_loss = entropy.mean()
        total = policy_loss + value_weight * value_loss - entropy_weight * entropy_loss

        d_ratio = tie_split(surr1, surr2, surr1 < surr2, adv, adv * in_range)
        d_logp = -d_ratio * ratio / size
        d_entropy = np.full(size, -entropy_weight / size, dtype=np.float32)
        delta_in_range = np.abs(value - value_old) <= clip
        d_value = tie_split(err1, err2, err1 > err2, -2 * (ret - value), -2 * (ret - value_clipped) * delta_in_range)
        d_value *= 0.5 * value_weight / size
        d_feature = self.actor.backward(d_logp, d_entropy)
        d_feature += self.critic.backward(d_value.astype(np.float32)[:, None])
        self.encoder.backward(d_feature, input_grad=False)
        self.params.clip(cfg["grad_clip_type"], float(cfg["grad_clip_value"]))
        self.optimizer.step()
        return {
            "cur_lr": self.optimizer.param_groups[0]["lr"],
            "total_loss": float(total),
            "policy_loss": float(policy_loss),
            "value_loss": float(value_loss),
            "entropy_loss": float(entropy_loss),
            "adv_max": float(raw_adv.max()),
            "adv_mean": float(raw_adv.mean()),
            "value_mean": float(value.mean()),
            "value_max": float(value.max()),
            "approx_kl": float((logp_old - logp).mean()),
            "clipfrac": float((np.abs(ratio - 1) > clip).mean()),
        }
