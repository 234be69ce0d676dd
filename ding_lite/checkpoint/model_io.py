"""Strict loading of named tensors into a module, with errors that list every mismatch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def check_model_state(module: nn.Module, state: Mapping[str, Any], *, what: str) -> None:
    """Raise CheckpointError naming every key of ``state`` that does not fit ``module``."""
    problems = shape_mismatches(module, state)
    if problems:
        raise CheckpointError(f"{what} does not fit the configured model: " + "; ".join(problems))


def check_optimizer_state(optimizer: Any, state: Mapping[str, Any], *, what: str) -> None:
    """Raise CheckpointError when an optimizer state's parameter count or moment shapes do not fit."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    n_saved = sum(len(g["params"]) for g in state.get("param_groups", []))
    if n_saved != len(params):
        raise CheckpointError(f"{what} holds state for {n_saved} parameters, the model has {len(params)}")
    problems = []
    for index, param_state in state.get("state", {}).items():
        avg = param_state.get("exp_avg") if isinstance(param_state, Mapping) else None
        own = tuple(params[int(index)].shape)
        if isinstance(avg, torch.Tensor) and tuple(avg.shape) != own:
            problems.append(f"parameter {index} checkpoint {tuple(avg.shape)} vs model {own}")
    if problems:
        raise CheckpointError(f"{what} does not fit the configured model: " + "; ".join(problems))


def load_model_state(module: nn.Module, state: Mapping[str, Any], *, what: str) -> None:
    """Load ``state`` into ``module`` exactly; raise CheckpointError naming every key that does not fit."""
    check_model_state(module, state, what=what)
    module.load_state_dict(dict(state))


def load_learn_state(
    models: Sequence[tuple[nn.Module, Mapping[str, Any], str]],
    optimizers: Sequence[tuple[Any, Mapping[str, Any], str]],
) -> None:
    """Check every ``(target, state, name)`` first and load only if all fit, so a rejected checkpoint
    leaves the policy untouched."""
    for module, state, what in models:
        check_model_state(module, state, what=what)
    for optimizer, state, what in optimizers:
        check_optimizer_state(optimizer, state, what=what)
    for module, state, _ in models:
        module.load_state_dict(dict(state))
    for optimizer, state, _ in optimizers:
        optimizer.load_state_dict(dict(state))
