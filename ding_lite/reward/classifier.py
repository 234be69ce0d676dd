"""The reward classifier's model and its ``pretrained_model/`` folder.

The model answers "did the transition that led to this observation succeed?" with one logit
(``P(success) = sigmoid(logit)``). Inputs: the state features concatenated and normalised with the
dataset's mean and std (buffers ``obs_mean``/``obs_std``, so the folder is all a deployment needs), and at
most one camera frame, float (C, H, W) in [0, 1], through ``conv`` (the convolutions of the pixel models,
:func:`ding_lite.model.pixels.conv_stack`), flattened before the state. The head is LeRobot's
``classifier_head`` layout: Linear(inputs -> hidden_dim), Dropout(dropout_rate), LayerNorm, ReLU,
Linear(hidden_dim -> 1).

Folder layout (nothing pickled)::

    pretrained_model/
        model.safetensors   the model's state dict
        config.json         {"type": "reward_classifier", "num_classes": 2, "hidden_dim", "dropout_rate",
                             "input_features": {name: {"type": "STATE"|"VISUAL", "shape"}} in input order,
                             "output_features", "env_observation", "label", "ding_lite_version",
                             "policy_type", "policy": the whole policy config}

The field names are LeRobot's where they apply, but LeRobot cannot load the folder: its classifier is a
frozen HF-Hub ResNet10 (``model_name``) with per-camera spatial embeddings, which this model does not have.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import ding_lite
from ding_lite.checkpoint.io import write_atomic
from ding_lite.checkpoint.pretrained import CONFIG_FILE, PRETRAINED_DIR, WEIGHTS_FILE, _json_safe
from ding_lite.errors import ConfigError
from ding_lite.model.pixels import conv_stack

POLICY_TYPE = "reward_classifier"


@dataclass(frozen=True)
class ClassifierSpec:
    """The inputs and sizes of a classifier: what the env wrapper matches the env's observations against."""

    state_features: dict[str, int]  # name -> flattened size, in input order
    image_feature: str | None = None
    image_shape: tuple[int, int, int] | None = None
    hidden_dim: int = 256
    dropout_rate: float = 0.1
    env_observation: dict[str, tuple[int, int]] = field(default_factory=dict)  # feature -> env state slice

    @property
    def state_dim(self) -> int:
        return sum(self.state_features.values())

    @classmethod
    def from_model_config(cls, model: Mapping[str, Any]) -> ClassifierSpec:
        """From ``policy.model`` once ``features`` is filled in (``{name: {"type", "shape"}}``)."""
        if not model.get("features"):
            raise ConfigError("policy.model.features is unset; ding -m bc fills it in from the dataset")
        if int(model.get("num_classes", 2)) != 2:
            raise ConfigError(
                f"policy.model.num_classes is {model['num_classes']}; the reward classifier is binary (2)"
            )
        states, images = {}, []
        for name, feature in model["features"].items():
            if feature["type"] == "VISUAL":
                images.append((str(name), frame_shape(feature["shape"])))
            else:
                states[str(name)] = int(np.prod(feature["shape"]))
        if len(images) > 1:
            raise ConfigError(f"policy.model.obs_features names {len(images)} camera features "
                              f"({', '.join(n for n, _ in images)}); the reward classifier takes one")  # fmt: skip
        slices = {str(k): (int(v[0]), int(v[1])) for k, v in (model.get("env_observation") or {}).items()}
        image_name, image_shape = images[0] if images else (None, None)
        return cls(states, image_name, image_shape, int(model["hidden_dim"]), float(model["dropout_rate"]), slices)


class RewardClassifierModel(nn.Module):
    """(state (B, state_dim) in env units, frame (B, C, H, W) in [0, 1] or None) -> success logits (B,)."""

    obs_mean: torch.Tensor
    obs_std: torch.Tensor

    def __init__(self, spec: ClassifierSpec) -> None:
        super().__init__()
        image_size = 0
        self.conv: nn.Module | None = None
        if spec.image_shape is not None:
            self.conv, image_size = conv_stack(spec.image_shape)
        self.classifier_head = nn.Sequential(
            nn.Linear(image_size + spec.state_dim, spec.hidden_dim),
            nn.Dropout(spec.dropout_rate),
            nn.LayerNorm(spec.hidden_dim),
            nn.ReLU(),
            nn.Linear(spec.hidden_dim, 1),
        )
        self.register_buffer("obs_mean", torch.zeros(spec.state_dim))
        self.register_buffer("obs_std", torch.ones(spec.state_dim))

    def forward(self, state: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        x = (state - self.obs_mean) / self.obs_std
        if self.conv is not None:
            if image is None:
                raise ValueError("this reward classifier observes a camera frame; pass the image")
            x = torch.cat([self.conv(image).flatten(1), x], dim=1)
        return self.classifier_head(x).squeeze(1)


def folder_config(spec: ClassifierSpec, policy_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """config.json's content (module docstring)."""
    inputs: dict[str, Any] = {name: {"type": "STATE", "shape": list(policy_cfg["model"]["features"][name]["shape"])}
                              for name in spec.state_features}  # fmt: skip
    if spec.image_feature is not None and spec.image_shape is not None:
        inputs[spec.image_feature] = {"type": "VISUAL", "shape": list(spec.image_shape)}
    label = policy_cfg["learn"]["label"]
    return {
        "type": POLICY_TYPE,
        "num_classes": 2,
        "hidden_dim": spec.hidden_dim,
        "dropout_rate": spec.dropout_rate,
        "input_features": inputs,
        "output_features": {str(label["feature"]): {"type": "REWARD", "shape": [1]}},
        "env_observation": {name: list(bounds) for name, bounds in spec.env_observation.items()},
        "label": {"feature": str(label["feature"]), "threshold": label["threshold"]},
        "ding_lite_version": ding_lite.__version__,
        "policy_type": POLICY_TYPE,
        "policy": _json_safe(policy_cfg),
    }


def save_folder(model: RewardClassifierModel, spec: ClassifierSpec, policy_cfg: Mapping[str, Any],
                directory: str | Path) -> Path:  # fmt: skip
    """Write ``<directory>/pretrained_model/``; returns its path."""
    from safetensors.torch import save

    out = Path(directory) / PRETRAINED_DIR
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    write_atomic(out / WEIGHTS_FILE, save(weights, metadata={"format": "pt", "writer": "ding_lite"}))
    text = json.dumps(folder_config(spec, policy_cfg), indent=2) + "\n"
    write_atomic(out / CONFIG_FILE, text.encode())
    return out


def spec_from_folder_config(config: Mapping[str, Any]) -> ClassifierSpec:
    states = {name: int(np.prod(f["shape"])) for name, f in config["input_features"].items() if f["type"] != "VISUAL"}
    images = [(name, frame_shape(f["shape"])) for name, f in config["input_features"].items() if f["type"] == "VISUAL"]
    image_name, image_shape = images[0] if images else (None, None)
    return ClassifierSpec(
        states,
        image_name,
        image_shape,
        int(config["hidden_dim"]),
        float(config["dropout_rate"]),
        {name: (int(b[0]), int(b[1])) for name, b in (config.get("env_observation") or {}).items()},
    )


def load_folder(path: str | Path, key: str) -> tuple[RewardClassifierModel, ClassifierSpec]:
    """The classifier (in eval mode) of a folder written by :func:`save_folder` (or its parent);
    ``key`` is the config key that named ``path``, for the error messages."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    source = Path(path)
    folder = next((c for c in (source, source / PRETRAINED_DIR) if (c / CONFIG_FILE).is_file()), None)
    if not source.exists():
        raise ConfigError(f"{key} '{source}' does not exist; point it at the checkpoints/best/pretrained_model "
                          "folder that `ding -m bc` with policy type 'reward_classifier' writes")  # fmt: skip
    if folder is None or not (folder / WEIGHTS_FILE).is_file():
        raise ConfigError(f"{key} '{source}' holds no {CONFIG_FILE} and {WEIGHTS_FILE}; point it at a reward "
                          "classifier's pretrained_model folder")  # fmt: skip
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
        weights = load_file(str(folder / WEIGHTS_FILE))
    except (json.JSONDecodeError, SafetensorError, OSError) as err:
        raise ConfigError(f"{key} '{folder}' cannot be read ({err}); export the classifier again") from None
    if config.get("type") != POLICY_TYPE:
        raise ConfigError(f"{key} '{folder}' is a '{config.get('type') or config.get('policy_type')}' model, not a "
                          "reward classifier; train one with policy type 'reward_classifier'")  # fmt: skip
    spec = spec_from_folder_config(config)
    model = RewardClassifierModel(spec)
    differences = _differences(model, weights)
    if differences:
        raise ConfigError(f"{key} '{folder}': {WEIGHTS_FILE} does not fit its config.json "
                          f"({'; '.join(differences)}); export the classifier again")  # fmt: skip
    model.load_state_dict(weights)
    return model.eval(), spec


def _differences(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> list[str]:
    """One entry per tensor that is missing, unexpected or of another shape."""
    own = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    lines = [f"{name} missing" for name in sorted(set(own) - set(weights))]
    lines += [f"{name} unexpected" for name in sorted(set(weights) - set(own))]
    lines += [f"{name} {tuple(weights[name].shape)} there, {shape} expected"
              for name, shape in own.items() if name in weights and tuple(weights[name].shape) != shape]  # fmt: skip
    return lines


def frame_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """A (C, H, W) triple from a shape list."""
    channels, height, width = (int(n) for n in shape)
    return channels, height, width
