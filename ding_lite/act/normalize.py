"""Normalising policy inputs and un-normalising its actions, with LeRobot 0.4.4's modes and arithmetic.

The mode of a feature comes from its *type* through the normalisation map (``{"STATE": "MEAN_STD", ...}``); a type
missing from the map is IDENTITY. Stats come by feature *name*, ``stats[name][stat]``, as float32 tensors:

- MEAN_STD:   y = (x - mean) / (std + eps);            x = y * std + mean        (eps always added, only forward)
- MIN_MAX:    y = 2 (x - min) / den - 1;               x = (y + 1) / 2 * den + min, den = max - min (eps where 0)
- QUANTILES:  MIN_MAX with q01 / q99;  QUANTILE10: MIN_MAX with q10 / q90;  IDENTITY: unchanged.

No clipping: values outside the stats range map outside [-1, 1]. eps is 1e-8.

Stats come from a dataset's ``meta/stats.json`` layout (``{feature: {stat: list}}``) or from LeRobot's normaliser
state files, flat ``"<feature>.<stat>"`` keys split at the LAST dot (``observation.state.mean``). All stats given
are kept (and saved again), including features the policy does not use, as LeRobot does.

Unlike LeRobot, which passes a feature through silently when its stats are missing, building a normaliser for a
feature whose mode needs stats it does not have is an error that names the feature and the stats. Note that
LeRobot's default map has no ENV entry, so ``observation.environment_state`` (type ENV) is IDENTITY and needs no
stats unless the map gets ``"ENV": ...``; that default is kept here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ding_lite.act.config import Feature
from ding_lite.errors import DingLiteError

EPS = 1e-8
STATS_FOR_MODE: dict[str, tuple[str, ...]] = {
    "MEAN_STD": ("mean", "std"),
    "MIN_MAX": ("min", "max"),
    "QUANTILES": ("q01", "q99"),
    "QUANTILE10": ("q10", "q90"),
    "IDENTITY": (),
}
Stats = dict[str, dict[str, Tensor]]


class StatsError(DingLiteError, ValueError):
    """Normalisation stats are missing or do not fit a feature; the message names the source, feature and shapes."""


def stats_from_json(stats: Mapping[str, Mapping[str, Any]]) -> Stats:
    """A dataset's stats.json content (lists or arrays) as float32 tensors; non-numeric entries are skipped."""
    out: Stats = {}
    for name, per_stat in stats.items():
        for stat, value in per_stat.items():
            array = np.asarray(value)
            if array.dtype.kind in "biuf":
                out.setdefault(name, {})[stat] = torch.from_numpy(array.astype(np.float32))
    return out


def unflatten_stats(flat: Mapping[str, Tensor]) -> Stats:
    """``{"observation.state.mean": t}`` -> ``{"observation.state": {"mean": t}}``, split at the last dot."""
    out: Stats = {}
    for key, tensor in flat.items():
        name, dot, stat = key.rpartition(".")
        if not dot:
            raise StatsError(f"normaliser state key {key!r} is not '<feature>.<stat>'")
        out.setdefault(name, {})[stat] = tensor.to(torch.float32)
    return out


def flatten_stats(stats: Stats) -> dict[str, Tensor]:
    """The inverse of :func:`unflatten_stats`: contiguous float32 CPU tensors, as LeRobot's state files hold."""
    return {
        f"{name}.{stat}": tensor.detach().to("cpu", torch.float32).contiguous()
        for name, per_stat in stats.items()
        for stat, tensor in per_stat.items()
    }


class Normalizer:
    """Normalises (or un-normalises) the named features it was built for; checks at build time that every feature
    whose mode needs stats has them with a shape that broadcasts to the feature's shape.

    ``source`` names where the stats came from (a file, or "dataset stats") in error messages.
    """

    def __init__(
        self,
        features: Mapping[str, Feature],
        norm_map: Mapping[str, str],
        stats: Stats,
        eps: float = EPS,
        source: str = "stats",
    ) -> None:
        self.features = dict(features)
        self.norm_map = dict(norm_map)
        self.stats = {name: dict(per_stat) for name, per_stat in stats.items()}
        self.eps = eps
        self.source = source
        for name, feature in self.features.items():
            self._check(name, feature)

    def mode(self, name: str) -> str:
        return self.norm_map.get(self.features[name].type, "IDENTITY")

    def _check(self, name: str, feature: Feature) -> None:
        mode = self.mode(name)
        if mode not in STATS_FOR_MODE:
            raise StatsError(f"{self.source}: feature '{name}' has unknown normalisation mode {mode!r}")
        have = self.stats.get(name, {})
        missing = [stat for stat in STATS_FOR_MODE[mode] if stat not in have]
        if missing:
            keys = ", ".join(f"'{name}.{stat}'" for stat in missing)
            raise StatsError(
                f"{self.source}: feature '{name}' ({feature.type}, {mode}) has no stats {keys}; "
                f"give stats for it or map type {feature.type} to IDENTITY"
            )
        for stat in STATS_FOR_MODE[mode]:
            shape = tuple(have[stat].shape)
            try:  # NumPy's rule: torch.broadcast_shapes would import torch.fx (a third of a second)
                fits = np.broadcast_shapes(shape, feature.shape) == feature.shape
            except ValueError:
                fits = False
            if not fits:
                raise StatsError(
                    f"{self.source}: key '{name}.{stat}' has shape {list(shape)}, which does not fit "
                    f"feature '{name}' of shape {list(feature.shape)}"
                )

    def _pair(self, name: str, like: Tensor) -> tuple[str, Tensor, Tensor]:
        mode = self.mode(name)
        if mode == "IDENTITY":
            return mode, like, like
        low_key, high_key = STATS_FOR_MODE[mode]  # (mean, std) or (low, high)
        per_stat = self.stats[name]
        return mode, per_stat[low_key].to(like), per_stat[high_key].to(like)

    def normalize(self, name: str, x: Tensor) -> Tensor:
        mode, a, b = self._pair(name, x)
        if mode == "IDENTITY":
            return x
        if mode == "MEAN_STD":
            return (x - a) / (b + self.eps)
        den = b - a
        den = torch.where(den == 0, torch.tensor(self.eps, dtype=x.dtype, device=x.device), den)
        return 2 * (x - a) / den - 1

    def unnormalize(self, name: str, y: Tensor) -> Tensor:
        mode, a, b = self._pair(name, y)
        if mode == "IDENTITY":
            return y
        if mode == "MEAN_STD":
            return y * b + a
        den = b - a
        den = torch.where(den == 0, torch.tensor(self.eps, dtype=y.dtype, device=y.device), den)
        return (y + 1) / 2 * den + a

    def state_dict(self) -> dict[str, Tensor]:
        """Every stat held, as LeRobot's normaliser state file: flat '<feature>.<stat>' float32 tensors."""
        return flatten_stats(self.stats)

    def config_json(self) -> dict[str, Any]:
        """The step's ``config`` in a LeRobot processor JSON file."""
        return {
            "eps": self.eps,
            "features": {name: feature.to_json() for name, feature in self.features.items()},
            "norm_map": dict(self.norm_map),
        }
