"""``policy.bc_pretrain``: SAC's observation encoder starts from a behaviour-cloning model's.

```python
policy=dict(type='sac', model=dict(..., obs_encoder=dict(features={'observation.state': [0, 10],
                                                                   'observation.environment_state': [4, 6]},
                                                         latent_dim=64)),
            bc_pretrain=dict(pretrained_path='reacher_act_seed0/checkpoints/last/pretrained_model',
                             policy_type='act'))
```

From an ACT ``pretrained_model/`` folder (ding_lite's or LeRobot's):

- ``encoder_robot_state_input_proj`` -> ``state_encoder.0`` and ``encoder_env_state_input_proj`` ->
  ``env_encoder.0`` (features -> dim_model, so ``latent_dim`` must equal the ACT's ``dim_model``);
- the ACT preprocessor's normalisation of each feature -> the encoder's ``shift``/``scale`` buffers. Every
  mode LeRobot has is affine, so it is read off the normaliser at 0 and 1 and is exact for each.

From a ding_lite BC folder (``policy_type='bc'``): the MLP's first Linear, which reads the whole observation,
and its ``obs_mean``/``obs_std`` -> ``state_encoder``, when the encoder's one feature is the whole observation.

Pixel SAC (``obs_shape`` with an image: no ``obs_encoder``, a conv encoder for the actor and one for the
critics) starts from a ding_lite BC model with a camera feature: its convolutions ``conv.*`` (the same
:func:`~ding_lite.model.pixels.conv_stack` layout, on frames in [0, 1] in both) -> ``actor_encoder.conv.*``
and ``critic_encoder.conv.*``. What follows the convolutions differs (BC appends the normalised state to the
flat features, SAC the raw state), so it is not copied. ACT's ResNet-18 backbone does not fit these small
convolutions and is refused with that reason.

The mapping is by name through :func:`ding_lite.checkpoint.partial.partial_load`, which reports what was
loaded, mismatched, missing (the LayerNorms, which BC models do not have) and left out. Nothing loaded is an
error, and so is a tensor of the wrong shape (the encoder would start half-initialised).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ding_lite.checkpoint.partial import LoadReport, partial_load
from ding_lite.errors import ConfigError
from ding_lite.model.obs_encoder import ObservationEncoder

ACT_PROJECTIONS = {"observation.state": "encoder_robot_state_input_proj",
                   "observation.environment_state": "encoder_env_state_input_proj"}  # fmt: skip
ENCODER_MODULES = {"observation.state": "state_encoder", "observation.environment_state": "env_encoder"}


def bc_pretrain(encoder: ObservationEncoder | None, cfg: Mapping[str, Any]) -> LoadReport:
    """Load the BC model named by ``cfg`` (``pretrained_path``, ``policy_type``) into ``encoder``."""
    path, kind = _source(cfg)
    if encoder is None:
        raise ConfigError("policy.bc_pretrain needs policy.model.obs_encoder, the SAC encoder it starts")
    if kind == "act":
        state = act_encoder_state(Path(path))
    elif kind == "bc":
        state = bc_encoder_state(Path(path))
    else:
        raise ConfigError(f"policy.bc_pretrain.policy_type is {kind!r}; use 'act' or 'bc'")
    return _load(encoder, state, path, "make obs_encoder.latent_dim its dim_model and obs_encoder.features its inputs")


def bc_pretrain_pixels(actor_encoder: nn.Module, critic_encoder: nn.Module, cfg: Mapping[str, Any]) -> LoadReport:
    """Load the convolutions of the BC model named by ``cfg`` into both conv encoders of a pixel SAC."""
    path, kind = _source(cfg)
    if kind == "act":
        raise ConfigError(f"policy.bc_pretrain: '{path}' is an ACT, whose ResNet-18 backbone does not fit pixel "
                          "SAC's conv encoders; start from a ding_lite BC model with a camera feature "
                          "(policy_type='bc')")  # fmt: skip
    if kind != "bc":
        raise ConfigError(f"policy.bc_pretrain.policy_type is {kind!r}; use 'bc' for pixel observations")
    conv = bc_conv_state(Path(path))
    state = {f"{side}.{key}": tensor for side in ("actor_encoder", "critic_encoder") for key, tensor in conv.items()}
    both = nn.ModuleDict({"actor_encoder": actor_encoder, "critic_encoder": critic_encoder})
    return _load(both, state, path, "record the BC model's camera frames at the env's image_size")


def _source(cfg: Mapping[str, Any]) -> tuple[str, str]:
    path, kind = str(cfg.get("pretrained_path") or ""), str(cfg.get("policy_type", "act"))
    if not path:
        raise ConfigError("policy.bc_pretrain.pretrained_path is empty; give an ACT or BC pretrained_model/ folder")
    if not Path(path).is_dir():
        raise ConfigError(f"policy.bc_pretrain.pretrained_path '{path}' is not a folder; give a pretrained_model/")
    return path, kind


def _load(target: nn.Module, state: Mapping[str, torch.Tensor], path: str, advice: str) -> LoadReport:
    report = partial_load(target, state, source=path, strict=False)
    if report.mismatched or not report.loaded:
        shapes = "; ".join(f"{k} {tuple(a)} there, {tuple(b)} here" for k, a, b in report.mismatched) or "no names fit"
        raise ConfigError(f"policy.bc_pretrain: '{path}' does not fit the SAC encoder ({shapes}); {advice}")
    return report


def affine_of(normalizer: Any, feature: str, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(shift, scale)`` with normalize(x) == (x - shift) / scale, read off the (affine) normaliser."""
    at_zero = normalizer.normalize(feature, torch.zeros(1, size, dtype=torch.float64))[0]
    slope = normalizer.normalize(feature, torch.ones(1, size, dtype=torch.float64))[0] - at_zero
    scale = 1.0 / slope
    return (-at_zero * scale).float(), scale.float()


def act_encoder_state(folder: Path) -> dict[str, torch.Tensor]:
    from ding_lite.act.policy import ACTPolicy

    act = ACTPolicy.from_pretrained(folder)
    weights = act.model.state_dict()
    state: dict[str, torch.Tensor] = {}
    for feature, projection in ACT_PROJECTIONS.items():
        if f"{projection}.weight" not in weights:
            continue
        module = ENCODER_MODULES[feature]
        state[f"{module}.0.weight"] = weights[f"{projection}.weight"]
        state[f"{module}.0.bias"] = weights[f"{projection}.bias"]
        size = int(weights[f"{projection}.weight"].shape[1])
        shift, scale = affine_of(act.normalizer, feature, size)
        state[f"{module}_shift"], state[f"{module}_scale"] = shift, scale
    return state


def bc_encoder_state(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    weights = load_file(str(folder / "model.safetensors"))
    if "body.0.weight" not in weights or "obs_mean" not in weights:
        raise ConfigError(f"policy.bc_pretrain: '{folder}' is not a ding_lite BC model (no body.0.weight, obs_mean)")
    return {"state_encoder.0.weight": weights["body.0.weight"], "state_encoder.0.bias": weights["body.0.bias"],
            "state_encoder_shift": weights["obs_mean"], "state_encoder_scale": weights["obs_std"]}  # fmt: skip


def bc_conv_state(folder: Path) -> dict[str, torch.Tensor]:
    """The ``conv.*`` tensors of a ding_lite BC model with a camera feature."""
    from safetensors.torch import load_file

    weights = load_file(str(folder / "model.safetensors"))
    conv = {key: tensor for key, tensor in weights.items() if key.startswith("conv.")}
    if not conv:
        raise ConfigError(f"policy.bc_pretrain: '{folder}' is not a ding_lite BC model with a camera feature (no "
                          "conv.* weights); pixel SAC starts its conv encoders from one")  # fmt: skip
    return conv


def start_policy_from_bc(policy: Any, cfg: Mapping[str, Any], exp_dir: Path | None) -> LoadReport:
    """``policy.bc_pretrain`` at the start of a new run: load into the policy model's ``encoder``, log the
    report (and write it to ``<exp>/bc_pretrain_report.json``, unless ``exp_dir`` is None: a torchrun rank
    other than 0), and copy the result into the target nets."""
    import logging

    model = policy.model
    if getattr(model, "encoded", False):  # pixel SAC: its conv encoders
        report = bc_pretrain_pixels(model.actor_encoder, model.critic_encoder, cfg)
    else:
        report = bc_pretrain(getattr(model, "encoder", None), cfg)
    logging.getLogger(__name__).info("bc_pretrain:\n%s", report.table())
    if exp_dir is not None:
        exp_dir.mkdir(parents=True, exist_ok=True)
        report.write(exp_dir / "bc_pretrain_report.json")
    policy.sync_targets()
    return report
