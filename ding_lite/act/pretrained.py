"""ACT ``pretrained_model/`` folders in LeRobot 0.4.4's layout, read and written without pickle.

Layout (every file is JSON or safetensors)::

    <folder>/
        config.json                                                     ACTConfig, draccus dump (config.py)
        model.safetensors                                               the policy state dict, keys 'model.*'
        policy_preprocessor.json                                        rename, to_batch, device, normalizer
        policy_preprocessor_step_3_normalizer_processor.safetensors     flat '<feature>.<stat>' float32 stats
        policy_postprocessor.json                                       unnormalizer, device
        policy_postprocessor_step_0_unnormalizer_processor.safetensors  flat '<feature>.<stat>' float32 stats

A folder written here loads in LeRobot (``ACTPolicy.from_pretrained`` and ``PolicyProcessorPipeline.from_pretrained``),
and LeRobot's folders (with or without its extra ``train_config.json``) load here. Each file is written atomically;
the device in the processor files is always "cpu", so the folder loads on a host without CUDA.

Reading is strict, unlike LeRobot's: weights that miss a key, carry an extra one, or have a shape the config does not
build are one :class:`CheckpointError` naming the file, the keys and the shapes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import Tensor, nn

from ding_lite.act.config import ACTConfig, Feature
from ding_lite.act.normalize import Normalizer, unflatten_stats
from ding_lite.errors import CheckpointError
from ding_lite.utils.files import write_atomic

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PREPROCESSOR_FILE = "policy_preprocessor.json"
POSTPROCESSOR_FILE = "policy_postprocessor.json"
NORMALIZER_STEP = "normalizer_processor"
UNNORMALIZER_STEP = "unnormalizer_processor"
NORMALIZER_STATE_FILE = f"policy_preprocessor_step_3_{NORMALIZER_STEP}.safetensors"
UNNORMALIZER_STATE_FILE = f"policy_postprocessor_step_0_{UNNORMALIZER_STEP}.safetensors"
DEVICE_STEP = {"registry_name": "device_processor", "config": {"device": "cpu", "float_dtype": None}}


def resolve_folder(folder: str | Path) -> Path:
    """The folder holding config.json: ``folder`` itself, or its ``pretrained_model/`` child."""
    folder = Path(folder)
    if not (folder / CONFIG_FILE).is_file() and (folder / "pretrained_model" / CONFIG_FILE).is_file():
        return folder / "pretrained_model"
    if not (folder / CONFIG_FILE).is_file():
        raise CheckpointError(f"'{folder}' is not an ACT pretrained_model folder (it has no {CONFIG_FILE})")
    return folder


def read_safetensors(path: Path) -> dict[str, Tensor]:
    try:
        return load_file(str(path))
    except FileNotFoundError:
        raise CheckpointError(f"'{path}' does not exist; an ACT pretrained_model folder needs it") from None
    except SafetensorError as err:
        raise CheckpointError(f"'{path}' is not a readable safetensors file ({err})") from None


def load_state_strict(module: nn.Module, state: dict[str, Tensor], source: Path) -> None:
    """Load ``state`` into ``module`` only if keys and shapes match exactly; else one error listing every problem."""
    expected = module.state_dict()
    problems = [f"missing key '{k}' (shape {list(v.shape)})" for k, v in expected.items() if k not in state]
    problems += [f"unexpected key '{k}' (shape {list(v.shape)})" for k, v in state.items() if k not in expected]
    problems += [
        f"key '{k}' has shape {list(state[k].shape)} in the file, the model from {CONFIG_FILE} needs {list(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if problems:
        raise CheckpointError(f"'{source}' does not fit the ACT built from its {CONFIG_FILE}: " + "; ".join(problems))
    module.load_state_dict(state, strict=True)


def read_normalizer(folder: Path, json_name: str, step_name: str, features: dict[str, Feature]) -> Normalizer:
    """The (un)normaliser step of a processor JSON file, with its stats; ``features`` are the config's."""
    path = folder / json_name
    try:
        pipeline = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"'{path}' does not exist; an ACT policy needs its normalisation stats") from None
    except json.JSONDecodeError as err:
        raise CheckpointError(f"'{path}' is not valid JSON: {err}") from None
    steps = [s for s in pipeline.get("steps", []) if isinstance(s, dict) and s.get("registry_name") == step_name]
    if len(steps) != 1 or "state_file" not in steps[0]:
        raise CheckpointError(f"'{path}' needs exactly one '{step_name}' step with a state_file")
    step_cfg: dict[str, Any] = steps[0].get("config", {})
    for name, spec in step_cfg.get("features", {}).items():
        if name in features and list(features[name].shape) != list(spec.get("shape", [])):
            raise CheckpointError(
                f"'{path}': feature '{name}' has shape {spec.get('shape')}, "
                f"but {CONFIG_FILE} says {list(features[name].shape)}"
            )
    state_path = folder / steps[0]["state_file"]
    stats = unflatten_stats(read_safetensors(state_path))
    norm_map = step_cfg.get("norm_map", {})
    return Normalizer(features, norm_map, stats, eps=float(step_cfg.get("eps", 1e-8)), source=f"'{state_path}'")


def read_folder(folder: str | Path) -> tuple[Path, ACTConfig, dict[str, Tensor], Normalizer, Normalizer]:
    """(resolved folder, config, model state dict, normaliser, unnormaliser) of a pretrained_model folder."""
    root = resolve_folder(folder)
    config = ACTConfig.from_file(root / CONFIG_FILE)
    config.validate_features()
    state = read_safetensors(root / WEIGHTS_FILE)
    features = {**config.input_features, **config.output_features}
    normalizer = read_normalizer(root, PREPROCESSOR_FILE, NORMALIZER_STEP, features)
    unnormalizer = read_normalizer(root, POSTPROCESSOR_FILE, UNNORMALIZER_STEP, dict(config.output_features))
    return root, config, state, normalizer, unnormalizer


def processor_files(normalizer: Normalizer, unnormalizer: Normalizer) -> dict[str, bytes]:
    """The four processor files LeRobot's ``PolicyProcessorPipeline.save_pretrained`` writes for ACT."""
    pre = {
        "name": "policy_preprocessor",
        "steps": [
            {"registry_name": "rename_observations_processor", "config": {"rename_map": {}}},
            {"registry_name": "to_batch_processor", "config": {}},
            DEVICE_STEP,
            {"registry_name": NORMALIZER_STEP, "config": normalizer.config_json(), "state_file": NORMALIZER_STATE_FILE},
        ],
    }
    post = {
        "name": "policy_postprocessor",
        "steps": [
            {
                "registry_name": UNNORMALIZER_STEP,
                "config": unnormalizer.config_json(),
                "state_file": UNNORMALIZER_STATE_FILE,
            },
            DEVICE_STEP,
        ],
    }
    return {
        PREPROCESSOR_FILE: json.dumps(pre, indent=2).encode(),
        NORMALIZER_STATE_FILE: save(normalizer.state_dict()),
        POSTPROCESSOR_FILE: json.dumps(post, indent=2).encode(),
        UNNORMALIZER_STATE_FILE: save(unnormalizer.state_dict()),
    }


def write_folder(
    folder: str | Path, config: ACTConfig, state: dict[str, Tensor], normalizer: Normalizer, unnormalizer: Normalizer
) -> Path:
    """Write the six files of a pretrained_model folder (each atomically); returns the folder."""
    folder = Path(folder)
    weights = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    files = {CONFIG_FILE: config.to_json_text().encode(), WEIGHTS_FILE: save(weights)}
    files.update(processor_files(normalizer, unnormalizer))
    for name, payload in files.items():
        write_atomic(folder / name, payload)
    return folder
