"""Starting a policy from trained weights, freezing parts of it, and exporting it for deployment."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ding_lite.checkpoint.partial import LoadReport, matches, partial_load
from ding_lite.checkpoint.pretrained import read_weights
from ding_lite.errors import ConfigError

if TYPE_CHECKING:
    from ding_lite.policy.base import Policy

log = logging.getLogger("ding_lite")


def trainable(params: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """The parameters an optimizer should own: frozen ones (``requires_grad=False``) are left out."""
    return [p for p in params if p.requires_grad]


def freeze(model: nn.Module, prefixes: Sequence[str]) -> int:
    """Freeze every parameter under the given module-name prefixes; returns how many values are frozen."""
    if not prefixes:
        return 0
    frozen = 0
    for prefix in prefixes:
        hits = [(n, p) for n, p in model.named_parameters(remove_duplicate=False) if matches(n, [prefix])]
        if not hits:
            tops = sorted({n.split(".")[0] for n, _ in model.named_parameters()})
            raise ConfigError(f"policy.freeze: '{prefix}' matches no parameter; top-level modules: {', '.join(tops)}")
        for _, param in hits:
            if param.requires_grad:
                param.requires_grad_(False)
                frozen += param.numel()
    log.info("froze %d parameters under %s", frozen, ", ".join(prefixes))
    return frozen


def load_pretrained(policy: Policy, spec: Mapping[str, Any], exp_dir: Path | None) -> LoadReport:
    """Load weights only (no optimizer, no counters) from ``spec['path']``, print the report and write
    ``<exp_dir>/load_report.json``.

    ``spec``: ``path``, ``strict`` (every tensor must fit), ``exclude``/``include`` patterns, ``rename_map``.
    A ``pretrained_model/`` folder whose features differ from the config is refused unless ``strict`` is off.
    """
    path = str(spec["path"])
    weights, meta = read_weights(path)
    strict = bool(spec.get("strict", True))
    if meta is not None and strict:
        differences = policy.pretrained_feature_differences(meta)
        if differences:
            raise ConfigError(
                f"pretrained model '{path}' has other features than this config: {'; '.join(differences)} "
                "(set pretrained=dict(path=..., strict=False) to load what fits)"
            )
    report = partial_load(
        policy.model,
        weights,
        source=path,
        strict=strict,
        exclude=list(spec.get("exclude") or []),
        include=list(spec.get("include") or []),
        rename_map=dict(spec.get("rename_map") or {}),
        grow=bool(spec.get("grow", False)),
    )
    policy.sync_targets()
    log.info("%s", report.table())
    if not report.loaded:
        log.warning("nothing was loaded from %s: every tensor keeps its fresh initialisation", path)
    if exp_dir is not None:
        report.write(exp_dir / "load_report.json")
    return report


def pretrained_spec(policy_cfg: Mapping[str, Any]) -> dict[str, Any] | None:
    """The effective pretrained settings: ``pretrained.path`` wins over ``pretrained_path``; None when unset."""
    spec = dict(policy_cfg.get("pretrained") or {})
    if not spec.get("path"):
        spec["path"] = policy_cfg.get("pretrained_path") or ""
    return spec if spec["path"] else None
