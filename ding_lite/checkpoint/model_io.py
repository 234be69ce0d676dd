"""Strict loading of named tensors into a module, with errors that list every mismatch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ding_lite.errors import CheckpointError


def shape_mismatches(module: nn.Module, state: Mapping[str, Any]) -> list[str]:
    """One line per key whose tensor shape differs, and per missing or unexpected key."""
    own = module.state_dict()
    problems = []
    for key, value in own.items():
        if key not in state:
            problems.append(f"{key} missing (model {tuple(value.shape)})")
        elif not isinstance(state[key], torch.Tensor):
            problems.append(f"{key} is not a tensor in the checkpoint")
        elif tuple(state[key].shape) != tuple(value.shape):
            problems.append(f"{key} checkpoint {tuple(state[key].shape)} vs model {tuple(value.shape)}")
    problems += [
        f"{key} unexpected (checkpoint {tuple(getattr(state[key], 'shape', ()))})" for key in state if key not in own
    ]
    return problems


def load_model_state(module: nn.Module, state: Mapping[str, Any], *, what: str) -> None:
    """Load ``state`` into ``module`` exactly; raise CheckpointError naming every key that does not fit."""
    problems = shape_mismatches(module, state)
    if problems:
        raise CheckpointError(f"{what} does not fit the configured model: " + "; ".join(problems))
    module.load_state_dict(dict(state))


def load_optimizer_state(optimizer: Any, state: Mapping[str, Any], *, what: str) -> None:
    """Load an optimizer state dict, checking its per-parameter moment shapes against the parameters."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    saved_groups = state.get("param_groups", [])
    n_saved = sum(len(g["params"]) for g in saved_groups)
    if n_saved != len(params):
        raise CheckpointError(f"{what} holds state for {n_saved} parameters, the model has {len(params)}")
    problems = []
    for index, param_state in state.get("state", {}).items():
        avg = param_state.get("exp_avg") if isinstance(param_state, Mapping) else None
        if isinstance(avg, torch.Tensor) and tuple(avg.shape) != tuple(params[int(index)].shape):
            problems.append(
                f"parameter {index} checkpoint {tuple(avg.shape)} vs model {tuple(params[int(index)].shape)}"
            )
    if problems:
        raise CheckpointError(f"{what} does not fit the configured model: " + "; ".join(problems))
    optimizer.load_state_dict(dict(state))
