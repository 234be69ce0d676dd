"""LeRobot-style ``pretrained_model/`` folders: enough to deploy a policy, nothing to resume.

Layout::

    <dir>/pretrained_model/
        model.safetensors   the model's weights (each shared tensor once, under its first name)
        config.json         {"ding_lite_version", "policy_type", "policy": the policy config,
                             "input_features", "output_features", "normalization"}

Nothing here is pickled: weights are safetensors and the rest is JSON. :func:`read_weights` accepts such a
folder (or its parent), a ``.safetensors`` file, or a ding_lite / DI-engine ``.pth.tar`` checkpoint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

import ding_lite
from ding_lite.checkpoint.io import load_checkpoint, write_atomic
from ding_lite.checkpoint.partial import canonical_names
from ding_lite.errors import CheckpointError

PRETRAINED_DIR = "pretrained_model"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def features(policy_cfg: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Input and output features (names, shapes, action kind) of a policy config."""
    model = policy_cfg["model"]
    kind = "discrete" if policy_cfg["type"] == "dqn" or policy_cfg.get("action_space") == "discrete" else "continuous"
    obs_shape = model["obs_shape"]
    if isinstance(obs_shape, Mapping):  # frames and state (obs_type 'pixels_state'), named as LeRobot does
        inputs = {f"observation.{key}": {"shape": _shape(value)} for key, value in obs_shape.items()}
    elif len(_shape(obs_shape)) == 3:  # frames (obs_type 'pixels')
        inputs = {"observation.image": {"shape": _shape(obs_shape)}}
    else:
        inputs = {"observation": {"shape": _shape(obs_shape)}}
    outputs = {"action": {"shape": _shape(model["action_shape"]), "kind": kind}}
    return inputs, outputs


def _shape(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]


def _json_safe(tree: Any) -> Any:
    if isinstance(tree, Mapping):
        return {str(k): _json_safe(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_json_safe(v) for v in tree]
    if isinstance(tree, float) and not math.isfinite(tree):
        return str(tree)
    return tree


def _from_json_safe(tree: Any) -> Any:
    """Undo :func:`_json_safe`: the strings 'inf', '-inf' and 'nan' become floats again."""
    if isinstance(tree, dict):
        return {k: _from_json_safe(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_from_json_safe(v) for v in tree]
    return float(tree) if tree in ("inf", "-inf", "nan") else tree


def save_pretrained(
    model: nn.Module, policy_cfg: Mapping[str, Any], directory: str | Path, normalization: Mapping[str, Any]
) -> Path:
    """Write ``<directory>/pretrained_model/``; returns its path."""
    from safetensors.torch import save

    out = Path(directory) / PRETRAINED_DIR
    out.mkdir(parents=True, exist_ok=True)
    canonical = canonical_names(model)
    weights = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items() if canonical[k] == k}
    write_atomic(out / WEIGHTS_FILE, save(weights, metadata={"format": "pt", "writer": "ding_lite"}))
    inputs, outputs = features(policy_cfg)
    config = {
        "ding_lite_version": ding_lite.__version__,
        "policy_type": policy_cfg["type"],
        "policy": _json_safe(policy_cfg),
        "input_features": inputs,
        "output_features": outputs,
        "normalization": _json_safe(normalization),
    }
    write_atomic(out / CONFIG_FILE, (json.dumps(config, indent=2) + "\n").encode())
    return out


def pretrained_folder(path: Path) -> Path | None:
    """The ``pretrained_model`` folder at or under ``path``, if there is one."""
    for candidate in (path, path / PRETRAINED_DIR):
        if (candidate / WEIGHTS_FILE).is_file():
            return candidate
    return None


def read_weights(
    path: str | Path, what: str = "pretrained weights"
) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """``(model weights, config.json or None)`` from any weights source; nothing is unpickled."""
    from safetensors.torch import load_file

    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"{what} '{source}' not found")
    folder = pretrained_folder(source) if source.is_dir() else None
    if source.is_dir():
        if folder is None:
            raise CheckpointError(f"'{source}' holds no {PRETRAINED_DIR}/{WEIGHTS_FILE}")
        config_path = folder / CONFIG_FILE
        config = _from_json_safe(json.loads(config_path.read_text())) if config_path.is_file() else None
        return load_file(str(folder / WEIGHTS_FILE)), config
    if source.suffix == ".safetensors":
        return load_file(str(source)), None
    state = load_checkpoint(source)
    weights = state.get("model", state)
    if not isinstance(weights, Mapping) or not any(isinstance(v, torch.Tensor) for v in weights.values()):
        raise CheckpointError(f"'{source}' holds no model weights")
    return {k: v for k, v in weights.items() if isinstance(v, torch.Tensor)}, None


def feature_differences(saved: Mapping[str, Any], policy_cfg: Mapping[str, Any]) -> list[str]:
    """One line per feature whose shape (or action kind) differs between config.json and ``policy_cfg``."""
    inputs, outputs = features(policy_cfg)
    lines = []
    for group, own in (("input_features", inputs), ("output_features", outputs)):
        for name, spec in own.items():
            theirs = saved.get(group, {}).get(name)
            if theirs is None:
                lines.append(f"{name}: not in the pretrained model, config has shape {tuple(spec['shape'])}")
            elif list(theirs.get("shape", [])) != spec["shape"] or theirs.get("kind", spec.get("kind")) != spec.get(
                "kind"
            ):
                lines.append(
                    f"{name}: pretrained {tuple(theirs.get('shape', []))} {theirs.get('kind', '')}".rstrip()
                    + f" vs config {tuple(spec['shape'])} {spec.get('kind', '')}".rstrip()
                )
    return lines
