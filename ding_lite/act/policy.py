"""ACTPolicy: the ACT network plus its normalisation, LeRobot 0.4.4's inference API, and the training loss.

Batches are dicts keyed by LeRobot's feature names: 'observation.state' (B, S), 'observation.environment_state'
(B, V), one (B, 3, H, W) float image in [0, 1] per camera, and for training 'action' (B, chunk_size, A) with
'action_is_pad' (B, chunk_size). Values are NumPy arrays or torch tensors in env units; they are cast to float32,
and an input missing its batch dim (a 1-D state, a 3-D image) gets one, as LeRobot's to_batch step does.
Normalisation happens inside; every action returned is un-normalised, in env units.

The state dict holds only ``model.*`` (the normalisation stats travel in the processor files, see pretrained.py).
"""

from __future__ import annotations

import collections
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ding_lite.act.config import ACTION_KEY, ENV_KEY, STATE_KEY, ACTConfig
from ding_lite.act.model import ACT
from ding_lite.act.normalize import EPS, Normalizer, Stats, stats_from_json
from ding_lite.act.pretrained import load_state_strict, read_folder, write_folder
from ding_lite.errors import DingLiteError

ACTION_PAD_KEY = "action_is_pad"


class ACTInputError(DingLiteError, ValueError):
    """A batch given to the policy lacks a feature or has a shape the config does not accept."""


class TemporalEnsembler:
    """ACT's temporal ensembling: every step's action is the average of all chunks that predicted it, weighted by
    w_m = exp(-coeff * m) with m = 0 for the OLDEST prediction (coeff > 0 favours older predictions).

    Kept incrementally: after each call the ensemble holds chunk_size - 1 future steps and, per step, how many
    predictions it has averaged (capped at chunk_size).
    """

    def __init__(self, coeff: float, chunk_size: int) -> None:
        self.weights = torch.exp(-coeff * torch.arange(chunk_size, dtype=torch.float32))
        self.cumulative = torch.cumsum(self.weights, dim=0)
        self.chunk_size = chunk_size
        self.reset()

    def reset(self) -> None:
        self.ensembled: Tensor | None = None  # (B, steps, A)
        self.counts: Tensor | None = None  # (steps, 1), long

    def update(self, chunk: Tensor) -> Tensor:
        """Fold in a new (B, chunk_size, A) chunk; return the (B, A) action for this step and drop it."""
        weights, cumulative = self.weights.to(chunk.device), self.cumulative.to(chunk.device)
        if self.ensembled is None or self.counts is None:
            ensembled, counts = chunk.clone(), torch.ones(self.chunk_size, 1, dtype=torch.long, device=chunk.device)
        else:
            ensembled = self.ensembled * cumulative[self.counts - 1]
            ensembled = (ensembled + chunk[:, :-1] * weights[self.counts]) / cumulative[self.counts]
            counts = torch.clamp(self.counts + 1, max=self.chunk_size)
            ensembled = torch.cat([ensembled, chunk[:, -1:]], dim=1)
            counts = torch.cat([counts, torch.ones_like(counts[-1:])])
        self.ensembled, self.counts = ensembled[:, 1:], counts[1:]
        return ensembled[:, 0]


def as_float_tensor(value: Any) -> Tensor:
    """A NumPy array, tensor or nested list as a float32 tensor (no copy when it already is one)."""
    tensor = value if isinstance(value, Tensor) else torch.as_tensor(np.asarray(value))
    return tensor.to(torch.float32)


class ACTPolicy(nn.Module):
    """ACT with its normaliser (inputs and 'action') and un-normaliser ('action'); see the module docstring."""

    def __init__(self, config: ACTConfig, normalizer: Normalizer, unnormalizer: Normalizer) -> None:
        super().__init__()
        self.config = config
        self.model = ACT(config)
        self.normalizer = normalizer
        self.unnormalizer = unnormalizer
        self.reset()

    @classmethod
    def from_stats(
        cls, config: ACTConfig, stats: Mapping[str, Mapping[str, Any]], source: str = "dataset stats"
    ) -> ACTPolicy:
        """A freshly initialised policy normalising with a dataset's stats (stats.json layout: {feature: {stat: list}}).

        Every feature whose mode needs stats must have them (else :class:`StatsError` naming the feature).
        """
        parsed: Stats = stats_from_json(stats)
        features = {**config.input_features, **config.output_features}
        norm_map = config.normalization_mapping
        normalizer = Normalizer(features, norm_map, parsed, eps=EPS, source=source)
        unnormalizer = Normalizer(config.output_features, norm_map, parsed, eps=EPS, source=source)
        return cls(config, normalizer, unnormalizer)

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> ACTPolicy:
        """Load a LeRobot or ding_lite ACT pretrained_model folder strictly; the policy is returned in eval mode."""
        root, config, state, normalizer, unnormalizer = read_folder(folder)
        policy = cls(config, normalizer, unnormalizer)
        load_state_strict(policy, state, root / "model.safetensors")
        return policy.eval()

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write a pretrained_model folder that LeRobot 0.4.4 loads (see pretrained.py); returns its path."""
        return write_folder(folder, self.config, self.state_dict(), self.normalizer, self.unnormalizer)

    def optim_param_groups(self) -> list[dict[str, Any]]:
        """LeRobot's two AdamW groups: the backbone gets ``optimizer_lr_backbone``, everything else the default lr."""
        named = [(n, p) for n, p in self.named_parameters() if p.requires_grad]
        groups: list[dict[str, Any]] = [{"params": [p for n, p in named if not n.startswith("model.backbone")]}]
        backbone = [p for n, p in named if n.startswith("model.backbone")]
        if backbone:
            groups.append({"params": backbone, "lr": self.config.optimizer_lr_backbone})
        return groups

    # -- batches ------------------------------------------------------------------------------------------------
    def _normalised_inputs(self, batch: Mapping[str, Any]) -> tuple[Tensor | None, Tensor | None, list[Tensor]]:
        device = self.model.action_head.weight.device
        out: dict[str, Tensor] = {}
        for name, feature in self.config.input_features.items():
            if name not in batch:
                raise ACTInputError(f"batch has no '{name}'; this ACT takes {list(self.config.input_features)}")
            x = as_float_tensor(batch[name]).to(device)
            if x.dim() == len(feature.shape):
                x = x.unsqueeze(0)
            if feature.type == "VISUAL":
                ok = x.dim() == 4 and x.shape[1] == feature.shape[0]
            else:
                ok = tuple(x.shape[1:]) == feature.shape
            if not ok:
                expected = ", ".join(str(d) for d in feature.shape)
                raise ACTInputError(f"'{name}' has shape {list(x.shape)}; this ACT takes (B, {expected})")
            out[name] = self.normalizer.normalize(name, x)
        images = [out[name] for name in self.config.image_features]
        return out.get(STATE_KEY), out.get(ENV_KEY), images

    def _normalised_chunk(self, batch: Mapping[str, Any]) -> Tensor:
        state, env_state, images = self._normalised_inputs(batch)
        return self.model(state, env_state, images)[0]

    # -- inference ----------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict_action_chunk(self, batch: Mapping[str, Any]) -> Tensor:
        """The un-normalised (B, chunk_size, A) float32 action chunk, in eval mode (zero latent, no dropout)."""
        self.eval()
        return self.unnormalizer.unnormalize(ACTION_KEY, self._normalised_chunk(batch))

    @torch.no_grad()
    def select_action(self, batch: Mapping[str, Any]) -> Tensor:
        """The (B, A) action for this step: from a queue refilled with the first n_action_steps of a new chunk when
        empty (one model call every n_action_steps calls), or by temporal ensembling (a model call every step)."""
        self.eval()
        if self.ensembler is not None:
            step = self.ensembler.update(self._normalised_chunk(batch))
        else:
            if not self.action_queue:
                chunk = self._normalised_chunk(batch)[:, : self.config.n_action_steps]
                self.action_queue.extend(chunk.transpose(0, 1))
            step = self.action_queue.popleft()
        return self.unnormalizer.unnormalize(ACTION_KEY, step)

    def reset(self) -> None:
        """Forget queued actions and the ensemble; call at the start of every episode."""
        self.action_queue: collections.deque[Tensor] = collections.deque(maxlen=self.config.n_action_steps)
        coeff = self.config.temporal_ensemble_coeff
        self.ensembler = None if coeff is None else TemporalEnsembler(coeff, self.config.chunk_size)

    # -- training -----------------------------------------------------------------------------------------------
    def forward(self, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, float]]:
        """(loss, {"l1_loss", "kld_loss"}) on a batch with 'action' and 'action_is_pad' in env units.

        The L1 is the mean over all B * chunk_size * A entries of |a - a_hat| with padded steps zeroed (they stay in
        the denominator), in normalised units. In training mode with ``use_vae`` the loss adds kl_weight times the
        KL divergence (summed over the latent, averaged over the batch) and the dict has "kld_loss". In eval mode
        the latent is zero and the loss is the L1 alone (a deterministic validation loss; LeRobot raises there).
        """
        state, env_state, images = self._normalised_inputs(batch)
        device = self.model.action_head.weight.device
        chunk, action_dim = self.config.chunk_size, self.config.action_feature.shape[0]
        action = as_float_tensor(batch[ACTION_KEY]).to(device)
        is_pad = torch.as_tensor(batch[ACTION_PAD_KEY]).to(device=device, dtype=torch.bool)
        if tuple(action.shape[1:]) != (chunk, action_dim) or tuple(is_pad.shape) != tuple(action.shape[:2]):
            raise ACTInputError(
                f"'action' has shape {list(action.shape)} and '{ACTION_PAD_KEY}' {list(is_pad.shape)}; "
                f"training needs (B, {chunk}, {action_dim}) and (B, {chunk})"
            )
        action = self.normalizer.normalize(ACTION_KEY, action)
        predicted, (mu, log_sigma_x2) = self.model(state, env_state, images, action, is_pad)
        l1_loss = (F.l1_loss(action, predicted, reduction="none") * ~is_pad.unsqueeze(-1)).mean()
        info = {"l1_loss": l1_loss.item()}
        if mu is None or log_sigma_x2 is None:
            return l1_loss, info
        kld = (-0.5 * (1 + log_sigma_x2 - mu.pow(2) - log_sigma_x2.exp())).sum(-1).mean()
        info["kld_loss"] = kld.item()
        return l1_loss + kld * self.config.kl_weight, info
