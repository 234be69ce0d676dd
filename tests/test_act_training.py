"""ACT training and the parts LeRobot's numbers depend on: the loss (LEROBOT.md 14.8), the VAE path with an injected
epsilon, the normaliser's arithmetic (14.1), and the image path (ResNet-18 with torchvision's names, 2-D positions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor

from ding_lite.act import ACTConfig, ACTPolicy, Feature, Normalizer
from ding_lite.act.model import SinusoidalPositionEmbedding2d
from ding_lite.act.normalize import unflatten_stats


def state_policy(**overrides: object) -> ACTPolicy:
    torch.manual_seed(0)
    fields: dict[str, object] = dict(
        input_features={
            "observation.state": Feature("STATE", (3,)),
            "observation.environment_state": Feature("ENV", (2,)),
        },
        output_features={"action": Feature("ACTION", (2,))},
        chunk_size=5,
        n_action_steps=5,
        dim_model=16,
        n_heads=2,
        dim_feedforward=32,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=4,
    )
    fields.update(overrides)
    stats = {
        "observation.state": {"mean": [0.0] * 3, "std": [1.0] * 3},
        "action": {"mean": [0.0, 0.0], "std": [1.0, 1.0]},
    }
    return ACTPolicy.from_stats(ACTConfig(**fields), stats)  # type: ignore[arg-type]


def training_batch(batch: int = 3, chunk: int = 5) -> dict[str, Tensor]:
    gen = torch.Generator().manual_seed(1)
    is_pad = torch.zeros(batch, chunk, dtype=torch.bool)
    is_pad[:, 2:] = True  # 3 of 5 steps padded in every row
    return {
        "observation.state": torch.randn(batch, 3, generator=gen),
        "observation.environment_state": torch.randn(batch, 2, generator=gen),
        "action": torch.ones(batch, chunk, 2),
        "action_is_pad": is_pad,
    }


def test_loss_is_masked_l1_over_all_entries_plus_weighted_kl(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = state_policy(kl_weight=10.0).train()
    mu, log_sigma_x2 = torch.ones(3, 4), torch.zeros(3, 4)

    def fake_forward(*args: Tensor | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        return torch.zeros(3, 5, 2), (mu, log_sigma_x2)  # predicts 0 where the (normalised) action is 1

    monkeypatch.setattr(policy.model, "forward", fake_forward)
    loss, info = policy(training_batch())
    # |1 - 0| on the 2 unpadded of 5 steps; padded entries stay in the denominator: 2/5, not 1. (The action stats
    # are mean 0, std 1: 1 / (1 + 1e-8) is exactly 1 in float32.)
    assert info["l1_loss"] == pytest.approx(2 / 5, abs=1e-7)
    # KL per latent: -0.5 (1 + 0 - 1 - e^0) = 0.5; summed over 4 latents = 2; averaged over the batch = 2.
    assert info["kld_loss"] == pytest.approx(2.0, abs=1e-6)
    assert float(loss) == pytest.approx(2 / 5 + 10.0 * 2.0, abs=1e-5)  # float32 sum of values near 20


def test_vae_path_with_injected_epsilon_is_deterministic_and_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = state_policy(dropout=0.0).train()
    batch = training_batch()
    state = policy.normalizer.normalize("observation.state", batch["observation.state"])
    with torch.no_grad():
        mu, log_sigma_x2 = policy.model.encode_latent(state, batch["action"], batch["action_is_pad"])
    # epsilon chosen so that z = mu + exp(log_sigma_x2 / 2) * eps = 0: the training forward must then predict the
    # eval-mode (zero latent) chunk.
    eps_to_zero = -mu * torch.exp(-log_sigma_x2 / 2)
    monkeypatch.setattr(torch, "randn_like", lambda like: eps_to_zero.clone())
    first, info = policy(batch)
    second, _ = policy(batch)
    assert torch.equal(first, second)  # dropout 0 and a fixed epsilon: bit for bit
    assert "kld_loss" in info

    with torch.no_grad():
        train_chunk = policy.model(
            state, batch["observation.environment_state"], [], batch["action"], batch["action_is_pad"]
        )[0]
        policy.eval()
        eval_chunk = policy.model(state, batch["observation.environment_state"], [])[0]
    # z is zero only up to float32 rounding of mu - sigma * (mu / sigma) (~1e-7); the network is smooth in z.
    torch.testing.assert_close(train_chunk, eval_chunk, rtol=0, atol=1e-5)

    policy.train()
    monkeypatch.setattr(torch, "randn_like", lambda like: eps_to_zero + 1.0)  # another epsilon, another loss
    assert not torch.equal(policy(batch)[0], first)


def test_eval_mode_loss_is_the_l1_of_the_zero_latent_chunk() -> None:
    policy = state_policy().eval()
    batch = training_batch()
    loss, info = policy(batch)
    assert set(info) == {"l1_loss"}
    chunk = policy.predict_action_chunk(batch)  # un-normalised, but the action stats are the identity here
    expected = ((chunk - batch["action"]).abs() * ~batch["action_is_pad"].unsqueeze(-1)).mean()
    assert loss.item() == pytest.approx(expected.item(), abs=1e-6)  # same float32 ops up to mean 0 / std 1


def test_backward_reaches_every_parameter_but_the_first_decoder_self_attention() -> None:
    policy = state_policy().train()
    loss, _ = policy(training_batch())
    loss.backward()
    without_grad = [n for n, p in policy.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    # The decoder's input is zeros, so its first self-attention sees v = 0 + bias_v with bias_v = 0 at init: the
    # attention weights and out_proj.weight multiply zeros, and norm1 normalises the constant out_proj.bias = 0.
    # Everything else, the VAE encoder included, must get a gradient.
    first = "model.decoder.layers.0."
    assert without_grad == [
        first + "self_attn.in_proj_weight",
        first + "self_attn.out_proj.weight",
        first + "norm1.weight",
    ]


@pytest.mark.parametrize(
    ("mode", "stats", "x", "y"),
    [
        ("MEAN_STD", {"mean": [1.0, -2.0], "std": [2.0, 0.0]}, [5.0, -1.0], [4.0 / (2.0 + 1e-8), 1.0 / 1e-8]),
        ("MIN_MAX", {"min": [0.0, 3.0], "max": [4.0, 3.0]}, [1.0, 4.0], [-0.5, 2 * 1.0 / 1e-8 - 1]),
        ("QUANTILES", {"q01": [-1.0, 0.0], "q99": [1.0, 10.0]}, [3.0, 5.0], [3.0, 0.0]),  # no clipping: 3 stays 3
        ("QUANTILE10", {"q10": [0.0, 0.0], "q90": [2.0, 2.0]}, [1.0, 2.0], [0.0, 1.0]),
        ("IDENTITY", {}, [7.0, -7.0], [7.0, -7.0]),
    ],
)
def test_normaliser_modes(mode: str, stats: dict[str, list[float]], x: list[float], y: list[float]) -> None:
    flat = {f"observation.state.{stat}": torch.tensor(v) for stat, v in stats.items()}  # split at the LAST dot
    normalizer = Normalizer({"observation.state": Feature("STATE", (2,))}, {"STATE": mode}, unflatten_stats(flat))
    normalised = normalizer.normalize("observation.state", torch.tensor(x))
    # float32 of the exact values; 1/1e-8 = 1e8 is exact to 7 significant digits
    np.testing.assert_allclose(normalised.numpy(), np.float32(y), rtol=1e-6)
    if mode in ("QUANTILES", "QUANTILE10", "IDENTITY"):  # no zero-width range here: the inverse is exact
        torch.testing.assert_close(normalizer.unnormalize("observation.state", normalised), torch.tensor(x))


def test_env_state_is_identity_under_lerobots_default_map() -> None:
    policy = state_policy()  # no stats for observation.environment_state: fine, ENV is not in the default map
    x = torch.tensor([[3.0, -4.0]])
    assert policy.normalizer.mode("observation.environment_state") == "IDENTITY"
    assert torch.equal(policy.normalizer.normalize("observation.environment_state", x), x)


# -- images ---------------------------------------------------------------------------------------------------
def torchvision_resnet18_keys() -> list[str]:
    """torchvision's resnet18 state-dict names from conv1 to layer4, with FrozenBatchNorm2d's four buffers."""
    bn = ["weight", "bias", "running_mean", "running_var"]
    keys = ["conv1.weight", *(f"bn1.{b}" for b in bn)]
    for layer in range(1, 5):
        for block in range(2):
            prefix = f"layer{layer}.{block}."
            keys += [prefix + "conv1.weight", *(prefix + f"bn1.{b}" for b in bn)]
            keys += [prefix + "conv2.weight", *(prefix + f"bn2.{b}" for b in bn)]
            if layer > 1 and block == 0:
                keys += [prefix + "downsample.0.weight", *(prefix + f"downsample.1.{b}" for b in bn)]
    return keys


def image_policy() -> ACTPolicy:
    torch.manual_seed(0)
    config = ACTConfig(
        input_features={
            "observation.state": Feature("STATE", (4,)),
            "observation.images.top": Feature("VISUAL", (3, 64, 64)),
        },
        output_features={"action": Feature("ACTION", (2,))},
        chunk_size=4,
        n_action_steps=4,
        dim_model=16,
        n_heads=2,
        dim_feedforward=32,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=4,
    )
    stats = {
        "observation.state": {"mean": [0.0] * 4, "std": [1.0] * 4},
        "observation.images.top": {"mean": [[[0.485]], [[0.456]], [[0.406]]], "std": [[[0.229]], [[0.224]], [[0.225]]]},
        "action": {"mean": [0.0, 0.0], "std": [1.0, 1.0]},
    }
    return ACTPolicy.from_stats(config, stats)


def test_image_act_has_torchvisions_resnet18_and_runs() -> None:
    policy = image_policy()
    backbone = {
        k[len("model.backbone.") :]: v for k, v in policy.state_dict().items() if k.startswith("model.backbone.")
    }
    assert sorted(backbone) == sorted(torchvision_resnet18_keys())
    assert len(backbone) == 100 and sum(v.numel() for v in backbone.values()) == 11_186_112  # LEROBOT.md section 9
    assert policy.state_dict()["model.encoder_img_feat_input_proj.weight"].shape == (16, 512, 1, 1)
    frozen = [n for n, _ in policy.named_parameters() if n.startswith("model.backbone") and ".bn" in n]
    assert frozen == []  # frozen batch norm: buffers, never parameters
    groups = policy.optim_param_groups()
    assert len(groups[1]["params"]) == 20 and groups[1]["lr"] == 1e-5  # 20 convolutions, backbone learning rate

    gen = torch.Generator().manual_seed(2)
    batch = {
        "observation.state": torch.randn(2, 4, generator=gen),
        "observation.images.top": torch.rand(2, 3, 64, 64, generator=gen),
    }
    chunk = policy.predict_action_chunk(batch)
    assert chunk.shape == (2, 4, 2) and torch.isfinite(chunk).all()
    single = policy.predict_action_chunk({k: v[1] for k, v in batch.items()})  # (3, H, W) gets a batch dim
    torch.testing.assert_close(single[0], chunk[1], rtol=0, atol=1e-5)  # batch size changes BLAS blocking only


def test_2d_positions_follow_the_formula() -> None:
    d, h, w = 8, 2, 3  # d channels per half; a (h, w) feature map
    pos = SinusoidalPositionEmbedding2d(d)(torch.zeros(1, 512, h, w))
    assert pos.shape == (1, 2 * d, h, w)
    expected = np.zeros((2 * d, h, w))
    for i in range(h):
        for j in range(w):
            y_hat, x_hat = (i + 1) / (h + 1e-6) * 2 * math.pi, (j + 1) / (w + 1e-6) * 2 * math.pi
            for c in range(d):
                f = 10000 ** (2 * (c // 2) / d)
                trig = math.sin if c % 2 == 0 else math.cos
                expected[c, i, j], expected[d + c, i, j] = trig(y_hat / f), trig(x_hat / f)
    np.testing.assert_allclose(pos[0].numpy(), expected, rtol=0, atol=1e-6)  # float32 vs float64 of values in [-1, 1]


def test_pre_norm_layers_follow_the_formulas() -> None:
    """LEROBOT.md 14.4/14.5 in pre-norm mode (the fixture covers post-norm): LN before each sublayer, positions on
    queries and keys only, residuals un-normalised; in eval mode, so dropout is off. The layers attend through
    a packed query/key projection and scaled_dot_product_attention, nn.MultiheadAttention through its own
    products: float32 sums in another order, so 1e-6 on values of order 1 (4.8e-7 seen)."""
    policy = state_policy(pre_norm=True, feedforward_activation="gelu").eval()
    enc, dec = policy.model.encoder.layers[0], policy.model.decoder.layers[0]
    gen = torch.Generator().manual_seed(3)
    x, p, y, q = (torch.randn(n, 2, 16, generator=gen) for n in (4, 4, 5, 5))

    def ffn(layer: torch.nn.Module, v: Tensor) -> Tensor:
        return layer.linear2(torch.nn.functional.gelu(layer.linear1(v)))

    with torch.no_grad():
        u = enc.norm1(x)
        h = x + enc.self_attn(u + p, u + p, u)[0]
        torch.testing.assert_close(enc(x, p), h + ffn(enc, enc.norm2(h)), rtol=0, atol=1e-6)

        u = dec.norm1(y)
        h = y + dec.self_attn(u + q, u + q, u)[0]
        u = dec.norm2(h)
        h = h + dec.multihead_attn(u + q, x + p, x)[0]
        torch.testing.assert_close(dec(y, x, q, p), h + ffn(dec, dec.norm3(h)), rtol=0, atol=1e-6)
    assert isinstance(policy.model.encoder.norm, torch.nn.LayerNorm)  # the pre-norm encoder ends in a LayerNorm
