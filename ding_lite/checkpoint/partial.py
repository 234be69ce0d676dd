"""Loading weights by name and shape, with a report of what was loaded, skipped and left new.

This is the "load weights" door (resume is the other): only tensors whose name and shape fit are
copied; everything else keeps the model's fresh initialisation and is listed in the report:

- ``loaded``: copied;  ``mismatched``: same name, other shape (both shapes given);
- ``missing``: in the model, not in the source;  ``unexpected``: in the source, not in the model;
- ``excluded``: left out by ``exclude`` / ``include`` patterns;
- ``grown`` (only with ``grow=True``): the model's tensor is larger in some dimensions; the source fills
  its leading slice, new output rows keep their fresh initialisation and new input columns of a weight
  matrix are zeroed, so the grown model first computes what the old one did on the old inputs.

DI-engine's alias keys (``actor.0.*`` = ``encoder.*`` and so on: one parameter under two names) are
folded onto the first name the model gives each parameter, so they are never reported twice.
Patterns are globs (``head.*``) or plain prefixes (``head`` matches ``head.A.0.weight``). ``rename_map``
maps source key prefixes to model key prefixes before anything else.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ding_lite.errors import CheckpointError


@dataclass
class LoadReport:
    source: str
    loaded: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, list[int], list[int]]] = field(default_factory=list)  # key, source, model
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    grown: list[tuple[str, list[int], list[int]]] = field(default_factory=list)  # key, source, model

    def table(self) -> str:
        rows = [
            f"load report for {self.source}",
            f"  loaded      {len(self.loaded):4d}",
            f"  mismatched  {len(self.mismatched):4d}"
            + "".join(f"\n      {k}: source {tuple(a)} vs model {tuple(b)}" for k, a, b in self.mismatched),
            f"  missing     {len(self.missing):4d}" + "".join(f"\n      {k}" for k in self.missing),
            f"  unexpected  {len(self.unexpected):4d}" + "".join(f"\n      {k}" for k in self.unexpected),
            f"  excluded    {len(self.excluded):4d}" + "".join(f"\n      {k}" for k in self.excluded),
        ]
        if self.grown:
            rows.append(
                f"  grown       {len(self.grown):4d}"
                + "".join(f"\n      {k}: source {tuple(a)} into model {tuple(b)}" for k, a, b in self.grown)
            )
        return "\n".join(rows)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def matches(key: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) or key == p or key.startswith(p + ".") for p in patterns)


def rename(key: str, rename_map: Mapping[str, str]) -> str:
    """Apply the longest matching prefix of ``rename_map`` (prefixes end at a dot or the key's end)."""
    for old in sorted(rename_map, key=len, reverse=True):
        if key == old or key.startswith(old + "."):
            return rename_map[old] + key[len(old) :]
    return key


def canonical_names(model: nn.Module) -> dict[str, str]:
    """Every state_dict key -> the first key naming the same tensor (aliases fold onto it)."""
    first: dict[tuple[int, tuple[int, ...]], str] = {}
    out = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        ident = (tensor.data_ptr(), tuple(tensor.shape))
        out[key] = first.setdefault(ident, key) if tensor.numel() > 0 else key
    return out


def partial_load(
    model: nn.Module,
    source_state: Mapping[str, Any],
    *,
    source: str,
    strict: bool = True,
    exclude: Sequence[str] = (),
    include: Sequence[str] = (),
    rename_map: Mapping[str, str] | None = None,
    hint: str = " (load it with pretrained=dict(path=..., strict=False) to keep only what fits)",
    grow: bool = False,
) -> LoadReport:
    """Copy the fitting tensors of ``source_state`` into ``model``; with ``strict`` anything else is an error
    (raised before any tensor is copied)."""
    report = LoadReport(source)
    canonical = canonical_names(model)
    own = model.state_dict()
    picked: dict[str, torch.Tensor] = {}
    for key, tensor in source_state.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        new = rename(key, rename_map or {})
        name = canonical.get(new, new)  # patterns apply to a parameter under any of its names
        names = (new, name)
        if (include and not any(matches(n, include) for n in names)) or any(matches(n, exclude) for n in names):
            if name not in report.excluded:
                report.excluded.append(name)
            continue
        picked.setdefault(name, tensor)
    for key in own:
        if canonical[key] != key:
            continue  # an alias: its parameter is reported under its first name
        if key not in picked:
            if not matches(key, exclude) and (not include or matches(key, include)):
                report.missing.append(key)
        elif tuple(picked[key].shape) != tuple(own[key].shape):
            entry = (key, list(picked[key].shape), list(own[key].shape))
            (report.grown if grow and _fits_inside(picked[key], own[key]) else report.mismatched).append(entry)
        else:
            report.loaded.append(key)
    report.unexpected = [k for k in picked if k not in own]
    if strict and (report.mismatched or report.missing or report.unexpected):
        raise CheckpointError(
            f"'{source}' does not fit the model: "
            + "; ".join(
                [f"{k} source {tuple(a)} vs model {tuple(b)}" for k, a, b in report.mismatched]
                + [f"{k} missing" for k in report.missing]
                + [f"{k} unexpected" for k in report.unexpected]
            )
            + hint
        )
    with torch.no_grad():
        for key in report.loaded:
            own[key].copy_(picked[key])
        for key, old_shape, _ in report.grown:
            target = own[key]
            if target.dim() == 2 and old_shape[1] < target.shape[1]:
                target[:, old_shape[1] :] = 0.0  # new inputs start without influence
            target[tuple(slice(0, n) for n in old_shape)].copy_(picked[key])
    return report


def _fits_inside(source: torch.Tensor, target: torch.Tensor) -> bool:
    return source.dim() == target.dim() and all(a <= b for a, b in zip(source.shape, target.shape))
