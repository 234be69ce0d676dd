"""ACT and LeRobot 0.4.4, both ways: the fixture folder that LeRobot's own ``lerobot-train`` wrote loads and gives
LeRobot's actions; a folder ding_lite writes has every file, field and key LeRobot reads (checked against
LEROBOT.md section 10, written out below, since LeRobot is not installed here) and reloads in a fresh process with
identical actions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from ding_lite.act import ACTConfig, ACTPolicy, Feature
from ding_lite.act.model import ACT

FIXTURE = Path(__file__).parent / "fixtures" / "lerobot" / "act_reacher"
PRETRAINED = FIXTURE / "pretrained_model"

# LEROBOT.md section 10: the files of pretrained_model/ that LeRobot's ACTPolicy.from_pretrained and
# PolicyProcessorPipeline.from_pretrained read (train_config.json is written by lerobot-train, read by neither).
LEROBOT_FILES = {
    "config.json",
    "model.safetensors",
    "policy_preprocessor.json",
    "policy_preprocessor_step_3_normalizer_processor.safetensors",
    "policy_postprocessor.json",
    "policy_postprocessor_step_0_unnormalizer_processor.safetensors",
}
PREPROCESSOR_STEPS = [  # (registry_name, config keys, state_file or None), in order
    ("rename_observations_processor", {"rename_map"}, None),
    ("to_batch_processor", set(), None),
    ("device_processor", {"device", "float_dtype"}, None),
    (
        "normalizer_processor",
        {"eps", "features", "norm_map"},
        "policy_preprocessor_step_3_normalizer_processor.safetensors",
    ),
]
POSTPROCESSOR_STEPS = [
    (
        "unnormalizer_processor",
        {"eps", "features", "norm_map"},
        "policy_postprocessor_step_0_unnormalizer_processor.safetensors",
    ),
    ("device_processor", {"device", "float_dtype"}, None),
]
STATS_FOR_MODE = {"MEAN_STD": ("mean", "std"), "MIN_MAX": ("min", "max"), "QUANTILES": ("q01", "q99")}


def reference() -> dict[str, np.ndarray]:
    with np.load(FIXTURE / "reference_actions.npz") as npz:  # plain float arrays: no pickle involved
        return {key: npz[key] for key in npz.files}


def observations(ref: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        "observation.state": ref["observation_state"],
        "observation.environment_state": ref["observation_environment_state"],
    }


# LeRobot ran on CPU with float32 like us; 1e-5 (the bound) leaves room for a different BLAS summation order,
# on actions of magnitude < 1.
ATOL = 1e-5


def test_fixture_reproduces_lerobot_reference_actions() -> None:
    ref = reference()
    policy = ACTPolicy.from_pretrained(PRETRAINED)
    obs = {key: torch.from_numpy(value) for key, value in observations(ref).items()}
    chunk = policy.predict_action_chunk(obs)
    assert chunk.dtype == torch.float32 and chunk.shape == (64, 10, 2)
    np.testing.assert_allclose(chunk.numpy(), ref["action_chunk"], rtol=0, atol=ATOL)

    from_numpy = policy.predict_action_chunk(observations(ref))  # NumPy inputs, same numbers
    np.testing.assert_allclose(from_numpy.numpy(), ref["action_chunk"], rtol=0, atol=ATOL)

    single = policy.predict_action_chunk({k: v[3] for k, v in observations(ref).items()})  # 1-D: batch dim added
    assert single.shape == (1, 10, 2)
    np.testing.assert_allclose(single[0].numpy(), ref["action_chunk"][3], rtol=0, atol=ATOL)


def test_fresh_model_has_the_fixture_keys_and_shapes_and_loads_it_strictly() -> None:
    saved = load_file(PRETRAINED / "model.safetensors")
    config = ACTConfig.from_file(PRETRAINED / "config.json")
    built = {f"model.{k}": v for k, v in ACT(config).state_dict().items()}
    assert set(built) == set(saved)
    assert {k: tuple(v.shape) for k, v in built.items()} == {k: tuple(v.shape) for k, v in saved.items()}

    policy = ACTPolicy.from_pretrained(PRETRAINED)  # strict: any missing/unexpected key would raise
    for key, value in policy.state_dict().items():
        assert torch.equal(value, saved[key]), key
    assert not policy.training


def test_reexporting_the_fixture_gives_lerobots_files_byte_for_byte(tmp_path: Path) -> None:
    ACTPolicy.from_pretrained(PRETRAINED).save_pretrained(tmp_path)
    for name in sorted(LEROBOT_FILES):
        assert (tmp_path / name).read_bytes() == (PRETRAINED / name).read_bytes(), name


def small_policy(seed: int = 0) -> ACTPolicy:
    """A randomly initialised ACT unlike the fixture's (pre-norm, gelu, MIN_MAX state, MEAN_STD env)."""
    torch.manual_seed(seed)
    config = ACTConfig(
        input_features={
            "observation.state": Feature("STATE", (3,)),
            "observation.environment_state": Feature("ENV", (2,)),
        },
        output_features={"action": Feature("ACTION", (2,))},
        normalization_mapping={"STATE": "MIN_MAX", "ENV": "MEAN_STD", "ACTION": "MEAN_STD"},
        chunk_size=4,
        n_action_steps=4,
        dim_model=16,
        n_heads=2,
        dim_feedforward=32,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=4,
        pre_norm=True,
        feedforward_activation="gelu",
    )
    stats = {
        "observation.state": {"min": [-1.0, 0.0, 2.0], "max": [1.0, 2.0, 2.0], "mean": [0.0, 1.0, 2.0]},
        "observation.environment_state": {"mean": [0.5, -0.5], "std": [2.0, 0.25]},
        "action": {"mean": [0.1, -0.2], "std": [0.5, 1.5], "count": [100]},
        "timestamp": {"mean": [1.0], "std": [0.5]},  # a dataset feature the policy does not use: kept and saved
    }
    return ACTPolicy.from_stats(config, stats)


def test_export_has_every_file_and_key_lerobot_reads(tmp_path: Path) -> None:
    policy = small_policy()
    policy.save_pretrained(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == LEROBOT_FILES

    fixture_config = json.loads((PRETRAINED / "config.json").read_text())
    config = json.loads((tmp_path / "config.json").read_text())
    assert list(config) == list(fixture_config)  # draccus field set and order
    assert config["type"] == "act"
    for key, value in fixture_config.items():  # same value formats (null only where LeRobot writes null)
        assert type(config[key]) is type(value) or value is None or config[key] is None, key
    assert config["input_features"]["observation.state"] == {"type": "STATE", "shape": [3]}
    assert config["normalization_mapping"] == {"STATE": "MIN_MAX", "ENV": "MEAN_STD", "ACTION": "MEAN_STD"}

    weights = load_file(tmp_path / "model.safetensors")
    assert all(key.startswith("model.") for key in weights)
    assert set(weights) == set(policy.state_dict())

    for json_name, pipeline_name, steps, features in [
        (
            "policy_preprocessor.json",
            "policy_preprocessor",
            PREPROCESSOR_STEPS,
            ["observation.state", "observation.environment_state", "action"],
        ),
        ("policy_postprocessor.json", "policy_postprocessor", POSTPROCESSOR_STEPS, ["action"]),
    ]:
        pipeline = json.loads((tmp_path / json_name).read_text())
        assert pipeline["name"] == pipeline_name and len(pipeline["steps"]) == len(steps)
        for step, (registry_name, config_keys, state_file) in zip(pipeline["steps"], steps):
            assert step["registry_name"] == registry_name
            assert set(step["config"]) == config_keys
            assert step.get("state_file") == state_file
            if registry_name == "device_processor":
                assert step["config"] == {"device": "cpu", "float_dtype": None}
            if state_file is None:
                continue
            assert step["config"]["eps"] == 1e-8
            assert list(step["config"]["features"]) == features
            assert step["config"]["norm_map"] == config["normalization_mapping"]
            with safe_open(tmp_path / state_file, "pt") as handle:
                keys = set(handle.keys())
                assert all(handle.get_tensor(k).dtype == torch.float32 for k in keys)
            for name in features:  # '<feature>.<stat>' for the stats each feature's mode needs
                mode = step["config"]["norm_map"][step["config"]["features"][name]["type"]]
                assert {f"{name}.{stat}" for stat in STATS_FOR_MODE[mode]} <= keys, name
            assert {"timestamp.mean", "action.count", "observation.state.mean"} <= keys  # every stat given is kept


def test_save_then_load_in_a_fresh_process_gives_identical_actions(tmp_path: Path) -> None:
    policy = small_policy(seed=3)
    policy.save_pretrained(tmp_path / "pretrained_model")
    rng = np.random.default_rng(0)
    obs = {
        "observation.state": rng.normal(size=(5, 3)).astype(np.float32),
        "observation.environment_state": rng.normal(size=(5, 2)).astype(np.float32),
    }
    np.savez(tmp_path / "obs.npz", state=obs["observation.state"], env=obs["observation.environment_state"])
    script = textwrap.dedent(
        f"""
        import numpy as np
        from ding_lite.act import ACTPolicy
        policy = ACTPolicy.from_pretrained({str(tmp_path / "pretrained_model")!r})
        with np.load({str(tmp_path / "obs.npz")!r}) as npz:
            obs = {{"observation.state": npz["state"], "observation.environment_state": npz["env"]}}
        np.save({str(tmp_path / "actions.npy")!r}, policy.predict_action_chunk(obs).numpy())
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=300)
    reloaded = np.load(tmp_path / "actions.npy")
    expected = policy.predict_action_chunk(obs).numpy()
    assert np.array_equal(reloaded, expected)  # same weights, same ops, same CPU: bit for bit


def test_config_json_round_trips_and_keeps_lerobots_defaults() -> None:
    fixture = json.loads((PRETRAINED / "config.json").read_text())
    assert ACTConfig.from_json_dict(fixture).to_json_dict() == fixture
    defaults = ACTConfig().to_json_dict()
    # LEROBOT.md section 8, written out: the defaults a config.json without these keys gets.
    assert {k: defaults[k] for k in LEROBOT_ACT_DEFAULTS} == LEROBOT_ACT_DEFAULTS
    assert list(defaults) == list(fixture)


LEROBOT_ACT_DEFAULTS = {
    "type": "act",
    "n_obs_steps": 1,
    "input_features": {},
    "output_features": {},
    "use_amp": False,
    "use_peft": False,
    "push_to_hub": True,
    "repo_id": None,
    "private": None,
    "tags": None,
    "license": None,
    "pretrained_path": None,
    "chunk_size": 100,
    "n_action_steps": 100,
    "normalization_mapping": {"VISUAL": "MEAN_STD", "STATE": "MEAN_STD", "ACTION": "MEAN_STD"},
    "vision_backbone": "resnet18",
    "pretrained_backbone_weights": "ResNet18_Weights.IMAGENET1K_V1",
    "replace_final_stride_with_dilation": False,
    "pre_norm": False,
    "dim_model": 512,
    "n_heads": 8,
    "dim_feedforward": 3200,
    "feedforward_activation": "relu",
    "n_encoder_layers": 4,
    "n_decoder_layers": 1,
    "use_vae": True,
    "latent_dim": 32,
    "n_vae_encoder_layers": 4,
    "temporal_ensemble_coeff": None,
    "dropout": 0.1,
    "kl_weight": 10.0,
    "optimizer_lr": 1e-5,
    "optimizer_weight_decay": 1e-4,
    "optimizer_lr_backbone": 1e-5,
}


def test_lerobot_folder_loads_without_train_config_and_from_its_parent(tmp_path: Path) -> None:
    """train_config.json is lerobot-train's, not the policy's; a folder holding pretrained_model/ works too."""
    (tmp_path / "pretrained_model").mkdir()
    for path in PRETRAINED.iterdir():
        if path.name != "train_config.json":
            (tmp_path / "pretrained_model" / path.name).write_bytes(path.read_bytes())
    chunk = ACTPolicy.from_pretrained(tmp_path).predict_action_chunk(observations(reference()))
    np.testing.assert_allclose(chunk.numpy(), reference()["action_chunk"], rtol=0, atol=ATOL)
