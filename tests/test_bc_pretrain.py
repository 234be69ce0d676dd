"""SAC's LeRobot-style observation encoder and ``policy.bc_pretrain``: which tensors are copied from an ACT (a
LeRobot folder and a ding_lite one) or a BC model, the normalisation carried over, and the errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ding_lite.act import ACTConfig, ACTPolicy, Feature
from ding_lite.errors import ConfigError
from ding_lite.model.obs_encoder import ObservationEncoder
from ding_lite.model.qac import ContinuousQAC
from ding_lite.priors.bc_pretrain import bc_pretrain

FIXTURE_ACT = Path(__file__).parent / "fixtures" / "lerobot" / "act_reacher" / "pretrained_model"
REACHER_FEATURES = {"observation.state": [0, 10], "observation.environment_state": [4, 6]}


def reacher_sac(latent_dim: int = 64) -> ContinuousQAC:
    return ContinuousQAC(10, 2, obs_encoder=dict(features=REACHER_FEATURES, latent_dim=latent_dim))


def act_folder(tmp_path: Path, state_mode: str) -> Path:
    """A ding_lite ACT export with random weights, dim_model 16, the state normalised by ``state_mode``."""
    config = ACTConfig(
        input_features={"observation.state": Feature("STATE", (10,)),
                        "observation.environment_state": Feature("ENV", (2,))},
        output_features={"action": Feature("ACTION", (2,))},
        dim_model=16, n_heads=2, dim_feedforward=16, n_encoder_layers=1, n_vae_encoder_layers=1, latent_dim=4,
        normalization_mapping={"STATE": state_mode, "ENV": "MIN_MAX", "ACTION": "MEAN_STD"},
    )  # fmt: skip
    rng = np.random.default_rng(0)
    stats = {
        "observation.state": {"mean": rng.normal(size=10), "std": rng.uniform(0.5, 2, 10),
                              "min": -rng.uniform(1, 2, 10), "max": rng.uniform(1, 2, 10)},
        "observation.environment_state": {"min": [-0.2, -0.1], "max": [0.2, 0.3]},
        "action": {"mean": [0.0, 0.0], "std": [1.0, 1.0]},
    }  # fmt: skip
    return ACTPolicy.from_stats(config, stats).save_pretrained(tmp_path / f"act_{state_mode}")


def assert_encoder_projects_like_act(encoder: ObservationEncoder, act: ACTPolicy) -> None:
    """The encoder's first Linear on its normalised slice equals ACT's input projection on ACT's normalisation."""
    x = torch.randn(7, 10, generator=torch.Generator().manual_seed(1)) * 3
    pairs = [("observation.state", x, "encoder_robot_state_input_proj", "state_encoder"),
             ("observation.environment_state", x[:, 4:6], "encoder_env_state_input_proj", "env_encoder")]  # fmt: skip
    with torch.no_grad():
        for feature, value, projection, module in pairs:
            ref = getattr(act.model, projection)(act.normalizer.normalize(feature, value))
            shift, scale = getattr(encoder, f"{module}_shift"), getattr(encoder, f"{module}_scale")
            mine = getattr(encoder, module)[0]((value - shift) / scale)
            # float32 products of the same terms; the affine read-off is float64: 1e-5 on values of order 10
            torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-5)


def test_bc_pretrain_copies_exactly_the_projections_of_lerobots_act() -> None:
    model = reacher_sac()
    untouched = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith(("encoder.", "critic.0."))}
    report = bc_pretrain(model.shared_encoder, dict(pretrained_path=str(FIXTURE_ACT), policy_type="act"))
    weights = load_file(FIXTURE_ACT / "model.safetensors")
    encoder = model.shared_encoder
    assert encoder is not None
    for mine, theirs in [("state_encoder.0", "model.encoder_robot_state_input_proj"),
                         ("env_encoder.0", "model.encoder_env_state_input_proj")]:  # fmt: skip
        for part in ("weight", "bias"):
            assert torch.equal(encoder.state_dict()[f"{mine}.{part}"], weights[f"{theirs}.{part}"])
    assert sorted(report.loaded) == sorted(
        [f"{m}.0.{p}" for m in ("state_encoder", "env_encoder") for p in ("weight", "bias")]
        + [f"{m}_{s}" for m in ("state_encoder", "env_encoder") for s in ("shift", "scale")]
    )
    assert sorted(report.missing) == sorted(
        f"{m}.1.{p}" for m in ("state_encoder", "env_encoder") for p in ("weight", "bias")
    )
    for key, value in untouched.items():  # heads, critics and aliases of them keep their initialisation
        assert torch.equal(model.state_dict()[key], value), key
    assert_encoder_projects_like_act(encoder, ACTPolicy.from_pretrained(FIXTURE_ACT))


@pytest.mark.parametrize("state_mode", ["MEAN_STD", "MIN_MAX"])
def test_bc_pretrain_carries_each_normalisation_mode_of_a_ding_lite_act(tmp_path: Path, state_mode: str) -> None:
    folder = act_folder(tmp_path, state_mode)
    model = reacher_sac(latent_dim=16)
    bc_pretrain(model.shared_encoder, dict(pretrained_path=str(folder), policy_type="act"))
    assert model.shared_encoder is not None
    assert_encoder_projects_like_act(model.shared_encoder, ACTPolicy.from_pretrained(folder))


def test_a_latent_size_other_than_dim_model_is_refused_with_the_shapes() -> None:
    model = reacher_sac(latent_dim=32)
    with pytest.raises(ConfigError, match=r"'.*' does not fit the SAC encoder \(state_encoder.0.weight \(64, 10\) "
                                          r"there, \(32, 10\) here"):  # fmt: skip
        bc_pretrain(model.shared_encoder, dict(pretrained_path=str(FIXTURE_ACT), policy_type="act"))


def test_bc_pretrain_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs policy.model.obs_encoder"):
        bc_pretrain(None, dict(pretrained_path=str(FIXTURE_ACT)))
    with pytest.raises(ConfigError, match="pretrained_path '.*nowhere' is not a folder"):
        bc_pretrain(reacher_sac().shared_encoder, dict(pretrained_path=str(tmp_path / "nowhere")))
    with pytest.raises(ConfigError, match="policy_type is 'dqn'; use 'act' or 'bc'"):
        bc_pretrain(reacher_sac().shared_encoder, dict(pretrained_path=str(FIXTURE_ACT), policy_type="dqn"))


def test_bc_pretrain_from_a_bc_mlp_takes_its_first_layer_and_obs_stats(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from ding_lite.policy.bc import BCModel

    bc = BCModel(10, 2, [64, 64], discrete=False)
    with torch.no_grad():
        bc.obs_mean.copy_(torch.arange(10.0))
        bc.obs_std.copy_(torch.arange(1.0, 11.0))
    (tmp_path / "bc").mkdir()
    save_file(bc.state_dict(), str(tmp_path / "bc" / "model.safetensors"))
    model = ContinuousQAC(10, 2, obs_encoder=dict(features={"observation.state": [0, 10]}, latent_dim=64))
    bc_pretrain(model.shared_encoder, dict(pretrained_path=str(tmp_path / "bc"), policy_type="bc"))
    encoder = model.shared_encoder
    assert encoder is not None
    assert torch.equal(encoder.state_encoder[0].weight, bc.body[0].weight)
    assert torch.equal(encoder.state_encoder_shift, bc.obs_mean) and torch.equal(
        encoder.state_encoder_scale, bc.obs_std
    )


def test_the_encoder_normalises_each_slice_and_concatenates_state_first() -> None:
    encoder = ObservationEncoder({"observation.environment_state": [4, 6], "observation.state": [0, 10]}, 8)
    with torch.no_grad():
        encoder.env_encoder_shift.fill_(1.0)
        encoder.env_encoder_scale.fill_(2.0)
    obs = torch.randn(3, 10)
    out = encoder(obs)
    assert out.shape == (3, 16)
    torch.testing.assert_close(out[:, :8], encoder.state_encoder(obs), rtol=0, atol=0)
    torch.testing.assert_close(out[:, 8:], encoder.env_encoder((obs[:, 4:6] - 1.0) / 2.0), rtol=0, atol=0)
    with pytest.raises(ValueError, match="must name observation.state and/or observation.environment_state"):
        ObservationEncoder({"observation.image": [0, 3]}, 8)
    with pytest.raises(ValueError, match=r"reach index 12, past obs_shape 10"):
        ContinuousQAC(10, 2, obs_encoder=dict(features={"observation.state": [0, 12]}, latent_dim=8))


def test_the_actor_loss_leaves_the_shared_encoder_and_the_critic_loss_trains_it() -> None:
    model = reacher_sac(latent_dim=8)
    obs, action = torch.randn(4, 10), torch.randn(4, 2)
    mu, sigma = model.compute_actor(obs)
    (mu.sum() + sigma.sum()).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.actor_head.parameters())
    sum(q.sum() for q in model.compute_critic(obs, action)).backward()
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in model.encoder.parameters())


# -- through the serial pipeline: Reacher SAC started from LeRobot's fixture ACT --------------------------------
def reacher_sac_run(tmp_path: Path, name: str, freeze: list[str]) -> dict[str, Any]:
    """12 iterations of Reacher SAC with the ACT's projections in its encoder; the final checkpoint."""
    from ding_lite.entry import serial_pipeline

    config = tmp_path / f"{name}.py"
    config.write_text(
        f"main_config = dict(exp_name={name!r}, env=dict(env_id='Reacher-v5', collector_env_num=2,\n"
        "    evaluator_env_num=1, n_evaluator_episode=1, stop_value=0),\n"
        "  policy=dict(random_collect_size=64, freeze=" + repr(freeze) + ",\n"
        f"    bc_pretrain=dict(pretrained_path={str(FIXTURE_ACT)!r}, policy_type='act'),\n"
        "    model=dict(obs_shape=10, action_shape=2, actor_head_hidden_size=32, critic_head_hidden_size=32,\n"
        f"      obs_encoder=dict(features={REACHER_FEATURES!r}, latent_dim=64)),\n"
        "    learn=dict(batch_size=32, update_per_collect=2), collect=dict(n_sample=4),\n"
        "    eval=dict(evaluator=dict(eval_freq=1000))))\n"
        "create_config = dict(env=dict(type='gymnasium'), policy=dict(type='sac'))\n"
    )
    serial_pipeline(str(config), 0, max_train_iter=12, quiet=True)
    return torch.load(tmp_path / name / "ckpt" / "iteration_12.pth.tar", weights_only=True)


ACT_KEYS = {"encoder.state_encoder.0.weight": "model.encoder_robot_state_input_proj.weight",
            "encoder.env_encoder.0.weight": "model.encoder_env_state_input_proj.weight"}  # fmt: skip


def test_a_frozen_bc_encoder_is_bit_identical_after_sac_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    final = reacher_sac_run(tmp_path, "frozen", ["encoder"])
    act = load_file(FIXTURE_ACT / "model.safetensors")
    for mine, theirs in ACT_KEYS.items():
        assert torch.equal(final["model"][mine], act[theirs])
        assert torch.equal(final["target_model"][mine], act[theirs])  # the target's copy too
    report = json.loads((tmp_path / "frozen" / "bc_pretrain_report.json").read_text())
    assert len(report["loaded"]) == 8 and not report["mismatched"]


def test_an_unfrozen_bc_encoder_is_trained_by_the_critic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    final = reacher_sac_run(tmp_path, "trained", [])
    act = load_file(FIXTURE_ACT / "model.safetensors")
    for mine, theirs in ACT_KEYS.items():
        assert not torch.equal(final["model"][mine], act[theirs])
        # 12 updates at lr 3e-4 move each weight by at most about 12 * 3e-4 (Adam's step is about lr)
        assert float((final["model"][mine] - act[theirs]).abs().max()) < 12 * 3e-4 * 1.5


def test_a_missing_bc_model_is_named_and_leaves_no_experiment_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ding_lite.entry import serial_pipeline

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "missing.py"
    config.write_text(
        "main_config = dict(exp_name='missing', env=dict(env_id='Reacher-v5', collector_env_num=1,\n"
        "    evaluator_env_num=1, n_evaluator_episode=1),\n"
        "  policy=dict(bc_pretrain=dict(pretrained_path='nowhere/pretrained_model'),\n"
        "    model=dict(obs_shape=10, action_shape=2,\n"
        f"      obs_encoder=dict(features={REACHER_FEATURES!r}, latent_dim=64))))\n"
        "create_config = dict(env=dict(type='gymnasium'), policy=dict(type='sac'))\n"
    )
    with pytest.raises(ConfigError, match="pretrained_path 'nowhere/pretrained_model' is not a folder"):
        serial_pipeline(str(config), 0, quiet=True)
    assert not (tmp_path / "missing").exists()  # a rerun after the fix gets the name, not a time-suffixed one


def bc_image_folder(tmp_path: Path, image_shape: list[int]) -> tuple[Path, Any]:
    from safetensors.torch import save_file

    from ding_lite.policy.bc import BCModel

    torch.manual_seed(3)
    bc = BCModel(3, 1, [32], discrete=False, image_shape=image_shape)
    folder = tmp_path / "bc_image"
    folder.mkdir()
    save_file(bc.state_dict(), str(folder / "model.safetensors"))
    return folder, bc


def test_pixel_sac_starts_both_conv_encoders_from_a_bc_image_model(tmp_path: Path) -> None:
    from ding_lite.priors.bc_pretrain import bc_pretrain_pixels

    folder, bc = bc_image_folder(tmp_path, [3, 16, 16])
    model = ContinuousQAC({"image": [3, 16, 16], "state": 3}, 1)
    untouched = {k: v.clone() for k, v in model.state_dict().items() if ".conv." not in k}
    report = bc_pretrain_pixels(model.actor_encoder, model.critic_encoder, dict(pretrained_path=str(folder),
                                                                                policy_type="bc"))  # fmt: skip
    assert len(report.loaded) == 12  # 3 convolutions x (weight, bias) x 2 encoders
    for encoder in (model.actor_encoder, model.critic_encoder):
        for key, tensor in bc.conv.state_dict().items():
            assert torch.equal(encoder.conv.state_dict()[key], tensor)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in untouched.items())  # nothing else moved
    # the same features: BC reads frames in [0, 1], SAC's encoder the env's uint8 frames it scales itself
    frames = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model.actor_encoder.conv(frames.float() / 255.0), bc.conv(frames.float() / 255.0))


def test_pixel_bc_pretrain_refuses_an_act_and_a_bc_model_without_camera(tmp_path: Path) -> None:
    from ding_lite.policy.bc import BCModel
    from ding_lite.priors.bc_pretrain import bc_pretrain_pixels

    model = ContinuousQAC({"image": [3, 16, 16], "state": 3}, 1)
    with pytest.raises(ConfigError, match="ResNet-18 backbone does not fit pixel SAC's conv encoders"):
        bc_pretrain_pixels(model.actor_encoder, model.critic_encoder, dict(pretrained_path=str(FIXTURE_ACT)))
    from safetensors.torch import save_file

    (tmp_path / "bc").mkdir()
    save_file(BCModel(3, 1, [8], discrete=False).state_dict(), str(tmp_path / "bc" / "model.safetensors"))
    with pytest.raises(ConfigError, match="not a ding_lite BC model with a camera feature"):
        bc_pretrain_pixels(model.actor_encoder, model.critic_encoder,
                           dict(pretrained_path=str(tmp_path / "bc"), policy_type="bc"))  # fmt: skip
    folder, _ = bc_image_folder(tmp_path, [3, 32, 32])  # convolutions do not depend on the frame size
    report = bc_pretrain_pixels(model.actor_encoder, model.critic_encoder,
                                dict(pretrained_path=str(folder), policy_type="bc"))  # fmt: skip
    assert len(report.loaded) == 12
