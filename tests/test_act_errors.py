"""Every way an ACT folder, config or batch can be wrong gives one error, one line, naming the file, the key and
the shapes (STYLE.md habit 8), instead of LeRobot's logged warnings or silent pass-through."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from ding_lite.act import ACTConfig, ACTInputError, ACTPolicy, Feature, StatsError
from ding_lite.errors import CheckpointError, ConfigError

PRETRAINED = Path(__file__).parent / "fixtures" / "lerobot" / "act_reacher" / "pretrained_model"
NORMALIZER_FILE = "policy_preprocessor_step_3_normalizer_processor.safetensors"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A writable copy of LeRobot's fixture folder, to break."""
    return Path(shutil.copytree(PRETRAINED, tmp_path / "pretrained_model"))


def rewrite_weights(folder: Path, change: dict[str, torch.Tensor | None]) -> None:
    weights = load_file(folder / "model.safetensors")
    for key, value in change.items():
        if value is None:
            del weights[key]
        else:
            weights[key] = value
    save_file(weights, folder / "model.safetensors")


def one_line(err: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_missing_weight_names_file_key_and_shape(folder: Path) -> None:
    rewrite_weights(folder, {"model.action_head.bias": None})
    with pytest.raises(CheckpointError) as err:
        ACTPolicy.from_pretrained(folder)
    message = one_line(err)
    assert str(folder / "model.safetensors") in message
    assert "missing key 'model.action_head.bias' (shape [2])" in message


def test_unexpected_and_misshapen_weights_are_one_error(folder: Path) -> None:
    rewrite_weights(
        folder, {"model.decoder_pos_embed.weight": torch.zeros(12, 64), "model.normalize_inputs.mean": torch.zeros(10)}
    )
    with pytest.raises(CheckpointError) as err:
        ACTPolicy.from_pretrained(folder)
    message = one_line(err)
    assert str(folder / "model.safetensors") in message
    assert "key 'model.decoder_pos_embed.weight' has shape [12, 64] in the file" in message
    assert "needs [10, 64]" in message
    assert "unexpected key 'model.normalize_inputs.mean' (shape [10])" in message


def test_feature_without_stats_in_the_state_file_names_file_feature_and_keys(folder: Path) -> None:
    stats = load_file(folder / NORMALIZER_FILE)
    save_file({k: v for k, v in stats.items() if not k.startswith("observation.state.")}, folder / NORMALIZER_FILE)
    with pytest.raises(StatsError) as err:
        ACTPolicy.from_pretrained(folder)
    message = one_line(err)
    assert str(folder / NORMALIZER_FILE) in message
    assert (
        "feature 'observation.state' (STATE, MEAN_STD) has no stats 'observation.state.mean', 'observation.state.std'"
        in message
    )


def test_stats_of_the_wrong_shape_name_key_and_shapes(folder: Path) -> None:
    stats = load_file(folder / NORMALIZER_FILE)
    stats["observation.state.std"] = stats["observation.state.std"][:9].contiguous()
    save_file(stats, folder / NORMALIZER_FILE)
    with pytest.raises(StatsError) as err:
        ACTPolicy.from_pretrained(folder)
    message = one_line(err)
    assert str(folder / NORMALIZER_FILE) in message
    assert "key 'observation.state.std' has shape [9]" in message and "shape [10]" in message


def config() -> ACTConfig:
    return ACTConfig(
        input_features={
            "observation.state": Feature("STATE", (3,)),
            "observation.environment_state": Feature("ENV", (2,)),
        },
        output_features={"action": Feature("ACTION", (2,))},
        chunk_size=4,
        n_action_steps=4,
        dim_model=8,
        n_heads=2,
        dim_feedforward=8,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=2,
    )


def test_dataset_stats_missing_a_feature_is_an_error_at_build_time() -> None:
    stats = {"observation.state": {"mean": [0.0] * 3, "std": [1.0] * 3}}  # no 'action'
    with pytest.raises(StatsError) as err:
        ACTPolicy.from_stats(config(), stats)
    assert "dataset stats: feature 'action' (ACTION, MEAN_STD) has no stats 'action.mean', 'action.std'" in one_line(
        err
    )

    cfg = config()
    cfg.normalization_mapping["ENV"] = "MIN_MAX"  # now the environment state needs stats too
    stats["action"] = {"mean": [0.0, 0.0], "std": [1.0, 1.0]}
    with pytest.raises(StatsError, match="feature 'observation.environment_state' .ENV, MIN_MAX. has no stats"):
        ACTPolicy.from_stats(cfg, stats)


def test_unknown_config_key_is_rejected_with_the_closest_known_one(folder: Path) -> None:
    data = json.loads((folder / "config.json").read_text())
    data["chunk_sise"] = 10
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError) as err:
        ACTPolicy.from_pretrained(folder)
    message = one_line(err)
    assert str(folder / "config.json") in message and "unknown key 'chunk_sise' (did you mean 'chunk_size'?)" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("type", "diffusion", "key 'type' is 'diffusion'"),
        ("dim_model", "64", "key 'dim_model' has value '64'"),
        ("n_action_steps", 20, "n_action_steps (20) must be <= chunk_size (10)"),
        ("temporal_ensemble_coeff", 0.01, "temporal_ensemble_coeff needs n_action_steps == 1"),
    ],
)
def test_bad_config_values_are_named(folder: Path, key: str, value: object, expected: str) -> None:
    data = json.loads((folder / "config.json").read_text())
    data[key] = value
    (folder / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError) as err:
        ACTPolicy.from_pretrained(folder)
    assert expected in one_line(err)


def test_missing_processor_file_is_named(folder: Path) -> None:
    (folder / "policy_postprocessor.json").unlink()
    with pytest.raises(CheckpointError) as err:
        ACTPolicy.from_pretrained(folder)
    assert f"'{folder / 'policy_postprocessor.json'}' does not exist" in one_line(err)


def test_not_a_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is not an ACT pretrained_model folder"):
        ACTPolicy.from_pretrained(tmp_path)


def test_batch_missing_a_feature_or_of_the_wrong_shape_is_named() -> None:
    policy = ACTPolicy.from_pretrained(PRETRAINED)
    with pytest.raises(ACTInputError, match="batch has no 'observation.environment_state'"):
        policy.predict_action_chunk({"observation.state": np.zeros((1, 10))})
    with pytest.raises(ACTInputError) as err:
        policy.predict_action_chunk(
            {"observation.state": np.zeros((1, 9)), "observation.environment_state": np.zeros(2)}
        )
    assert "'observation.state' has shape [1, 9]; this ACT takes (B, 10)" in one_line(err)
