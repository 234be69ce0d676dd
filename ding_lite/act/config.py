"""ACTConfig: LeRobot 0.4.4's ACT configuration, field for field, and its ``config.json``.

``config.json`` is what LeRobot's draccus dump writes: a JSON object (indent 4) with ``"type": "act"`` first, then
every field below in declaration order. Features are ``{"type": "STATE", "shape": [10]}``, the normalisation map
is ``{"STATE": "MEAN_STD", ...}``, ``None`` is ``null``. Reading accepts a file that omits fields (their defaults
apply, as draccus does) and rejects an unknown key, a wrong ``type`` or a value of the wrong kind, naming the file
and the key. Writing then reading gives an equal config, and the written text equals LeRobot's for the same values.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ding_lite.errors import ConfigError

POLICY_TYPE = "act"
FEATURE_TYPES = ("STATE", "VISUAL", "ENV", "ACTION", "REWARD", "LANGUAGE")
NORM_MODES = ("MIN_MAX", "MEAN_STD", "IDENTITY", "QUANTILES", "QUANTILE10")
STATE_KEY = "observation.state"
ENV_KEY = "observation.environment_state"
ACTION_KEY = "action"


@dataclass(frozen=True)
class Feature:
    """One policy input or output: its LeRobot feature type (one of FEATURE_TYPES) and its per-sample shape."""

    type: str
    shape: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "shape": list(self.shape)}


def _default_norm_map() -> dict[str, str]:
    return {"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ACTION": "MEAN_STD"}


@dataclass
class ACTConfig:
    """LeRobot 0.4.4's ``ACTConfig`` (with the ``PreTrainedConfig`` base fields), same names, same defaults.

    ``device=None`` becomes ``"cpu"`` on construction (LeRobot auto-selects a device there too; ding_lite runs ACT
    on the CPU). Feature-dependent checks live in :meth:`validate_features`, since features are often filled in
    after construction (from a dataset).
    """

    # PreTrainedConfig base fields
    n_obs_steps: int = 1  # observation frames per step; ACT needs exactly 1
    input_features: dict[str, Feature] = field(default_factory=dict)  # 'observation.*' name -> Feature
    output_features: dict[str, Feature] = field(default_factory=dict)  # 'action' -> Feature
    device: str | None = None  # torch device the policy runs on
    use_amp: bool = False  # mixed precision (unused on the CPU)
    use_peft: bool = False  # LeRobot's PEFT fine-tuning switch (kept for the file format)
    push_to_hub: bool = True  # LeRobot's Hub upload switch (kept for the file format)
    repo_id: str | None = None  # Hub repository id
    private: bool | None = None  # Hub repository visibility
    tags: list[str] | None = None  # Hub model-card tags
    license: str | None = None  # Hub model-card license
    pretrained_path: str | None = None  # folder the weights came from
    # sequence and normalisation
    chunk_size: int = 100  # actions predicted per forward pass
    n_action_steps: int = 100  # actions executed from each chunk (<= chunk_size)
    normalization_mapping: dict[str, str] = field(default_factory=_default_norm_map)  # feature type -> mode
    # vision backbone
    vision_backbone: str = "resnet18"  # only resnet18 is built here
    pretrained_backbone_weights: str | None = "ResNet18_Weights.IMAGENET1K_V1"  # recorded, never downloaded
    replace_final_stride_with_dilation: bool = False  # must stay False: ResNet-18 blocks cannot dilate
    # transformer
    pre_norm: bool = False  # LayerNorm before (True) or after (False) each sublayer
    dim_model: int = 512  # token width
    n_heads: int = 8  # attention heads (dim_model % n_heads == 0)
    dim_feedforward: int = 3200  # hidden width of each feed-forward block
    feedforward_activation: str = "relu"  # 'relu' or 'gelu'
    n_encoder_layers: int = 4  # transformer encoder layers
    n_decoder_layers: int = 1  # transformer decoder layers
    # VAE
    use_vae: bool = True  # train with the CVAE latent (zero latent at inference)
    latent_dim: int = 32  # latent size
    n_vae_encoder_layers: int = 4  # layers of the VAE's own encoder
    # inference
    temporal_ensemble_coeff: float | None = None  # exp(-coeff * i) weights; needs n_action_steps == 1
    # training
    dropout: float = 0.1  # dropout in every transformer layer
    kl_weight: float = 10.0  # weight of the KL term in the loss
    optimizer_lr: float = 1e-5  # AdamW learning rate
    optimizer_weight_decay: float = 1e-4  # AdamW weight decay
    optimizer_lr_backbone: float = 1e-5  # learning rate of the backbone's parameters

    def __post_init__(self) -> None:
        if self.device is None:
            self.device = "cpu"
        problems = []
        if self.n_obs_steps != 1:
            problems.append(f"n_obs_steps must be 1 for ACT, got {self.n_obs_steps}")
        if self.n_action_steps > self.chunk_size:
            problems.append(f"n_action_steps ({self.n_action_steps}) must be <= chunk_size ({self.chunk_size})")
        if self.temporal_ensemble_coeff is not None and self.n_action_steps != 1:
            problems.append(f"temporal_ensemble_coeff needs n_action_steps == 1, got {self.n_action_steps}")
        if self.vision_backbone != "resnet18":
            problems.append(
                f"vision_backbone must be 'resnet18' (the only backbone built), got {self.vision_backbone!r}"
            )
        if self.replace_final_stride_with_dilation:
            problems.append("replace_final_stride_with_dilation must be false: ResNet-18's BasicBlock cannot dilate")
        if self.feedforward_activation not in ("relu", "gelu"):
            problems.append(f"feedforward_activation must be 'relu' or 'gelu', got {self.feedforward_activation!r}")
        if self.dim_model % self.n_heads:
            problems.append(f"dim_model ({self.dim_model}) must be divisible by n_heads ({self.n_heads})")
        for ftype, mode in self.normalization_mapping.items():
            if ftype not in FEATURE_TYPES or mode not in NORM_MODES:
                problems.append(
                    f"normalization_mapping entry {ftype!r}: {mode!r} (types {FEATURE_TYPES}, modes {NORM_MODES})"
                )
        for name, feat in {**self.input_features, **self.output_features}.items():
            if feat.type not in FEATURE_TYPES:
                problems.append(f"feature {name!r} has type {feat.type!r}, not one of {FEATURE_TYPES}")
        if problems:
            raise ConfigError("ACT config: " + "; ".join(problems))

    # -- features ---------------------------------------------------------------------------------------------
    @property
    def robot_state_feature(self) -> Feature | None:
        feat = self.input_features.get(STATE_KEY)
        return feat if feat is not None and feat.type == "STATE" else None

    @property
    def env_state_feature(self) -> Feature | None:
        feat = self.input_features.get(ENV_KEY)
        return feat if feat is not None and feat.type == "ENV" else None

    @property
    def image_features(self) -> dict[str, Feature]:
        """Cameras in the order of ``input_features``: the order their tokens enter the encoder."""
        return {name: feat for name, feat in self.input_features.items() if feat.type == "VISUAL"}

    @property
    def action_feature(self) -> Feature:
        feat = self.output_features.get(ACTION_KEY)
        if feat is None:
            raise ConfigError(f"ACT config: output_features needs '{ACTION_KEY}', has {sorted(self.output_features)}")
        return feat

    def validate_features(self) -> None:
        """LeRobot's rule: at least one camera or the environment state; plus an 'action' output."""
        if not self.image_features and self.env_state_feature is None:
            raise ConfigError(
                f"ACT config: input_features need a VISUAL feature or '{ENV_KEY}', have {sorted(self.input_features)}"
            )
        self.action_feature  # noqa: B018  (raises when missing)

    # -- config.json ------------------------------------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        """The draccus dump: 'type' first, then every field in declaration order."""
        out: dict[str, Any] = {"type": POLICY_TYPE}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("input_features", "output_features"):
                value = {name: feat.to_json() for name, feat in value.items()}
            elif isinstance(value, (dict, list)):
                value = json.loads(json.dumps(value))
            out[f.name] = value
        return out

    def to_json_text(self) -> str:
        return json.dumps(self.to_json_dict(), indent=4)

    @classmethod
    def from_json_dict(cls, data: dict[str, Any], source: str = "config") -> ACTConfig:
        """Parse a config.json object; ``source`` names the file in errors."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        policy_type = data.pop("type", POLICY_TYPE)
        if policy_type != POLICY_TYPE:
            raise ConfigError(f"{source}: key 'type' is {policy_type!r}; this loader reads '{POLICY_TYPE}' configs")
        hints = typing.get_type_hints(cls)
        known = [f.name for f in dataclasses.fields(cls)]
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(f"{source}: unknown key '{key}'{hint}; an ACT config.json has only {known}")
            if key in ("input_features", "output_features"):
                kwargs[key] = _features_from_json(value, f"{source}: key '{key}'")
            else:
                kwargs[key] = _check_kind(value, hints[key], f"{source}: key '{key}'")
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str | Path) -> ACTConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"'{path}' does not exist; an ACT pretrained_model folder needs a config.json") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"'{path}' is not valid JSON: {err}") from None
        return cls.from_json_dict(data, source=f"'{path}'")


def _features_from_json(value: Any, where: str) -> dict[str, Feature]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be an object of features, got {value!r}")
    out = {}
    for name, spec in value.items():
        ok = isinstance(spec, dict) and set(spec) == {"type", "shape"} and isinstance(spec["shape"], list)
        if not ok or not all(isinstance(d, int) and not isinstance(d, bool) for d in spec["shape"]):
            raise ConfigError(f'{where}: feature \'{name}\' must be {{"type": ..., "shape": [ints]}}, got {spec!r}')
        out[name] = Feature(type=spec["type"], shape=tuple(spec["shape"]))
    return out


def _check_kind(value: Any, hint: Any, where: str) -> Any:
    """The JSON value as the field's type (an int for a float field becomes a float); a value of another kind is
    an error, as with draccus."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        origin = typing.get_origin(option) or option
        if option is type(None) and value is None:
            return None
        if origin is bool and isinstance(value, bool):
            return value
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if origin in (str, dict, list) and isinstance(value, origin):
            return origin(value)
    raise ConfigError(f"{where} has value {value!r}, which is not a {hint}")
