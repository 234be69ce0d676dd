"""The fast paths of commit 887bf8a against the code they replace: ``attend`` against ``nn.MultiheadAttention``,
the encoder's ``first_only`` (and the VAE latent built on it) against the full encoder's first row, and the 16-bit
``dropout`` against the statistics, scaling, gradients and seeding of a dropout."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from ding_lite.act import ACTConfig, Feature
from ding_lite.act import model as act_model
from ding_lite.act.dropout import Dropout, dropout
from ding_lite.act.model import ACT, Encoder, attend

DIM, HEADS = 16, 4


def small_config(**overrides: Any) -> ACTConfig:
    fields: dict[str, Any] = dict(
        input_features={
            "observation.state": Feature("STATE", (3,)),
            "observation.environment_state": Feature("ENV", (2,)),
        },
        output_features={"action": Feature("ACTION", (2,))},
        chunk_size=5,
        n_action_steps=5,
        dim_model=DIM,
        n_heads=2,
        dim_feedforward=32,
        n_encoder_layers=1,
        n_vae_encoder_layers=2,
        latent_dim=4,
    )
    fields.update(overrides)
    return ACTConfig(**fields)


def attention_module(dropout_p: float = 0.1) -> nn.MultiheadAttention:
    """A sequence-first attention module with non-zero biases (the default ones are zero, which would hide a wrong
    slice of ``in_proj_bias`` or a forgotten ``out_proj.bias``)."""
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(DIM, HEADS, dropout=dropout_p)
    with torch.no_grad():
        mha.in_proj_bias.normal_(0.0, 0.5)
        mha.out_proj.bias.normal_(0.0, 0.5)
    return mha


def padding_mask(batch: int, length: int, masked: list[list[int]]) -> Tensor:
    """(batch, length) bool, True at the listed key positions of each row."""
    mask = torch.zeros(batch, length, dtype=torch.bool)
    for row, keys in enumerate(masked):
        mask[row, keys] = True
    assert mask.any(dim=1).all() and not mask.all(dim=1).any(), "some but not all keys of every row are masked"
    return mask


def self_attention_inputs() -> tuple[Tensor, Tensor, Tensor]:
    gen = torch.Generator().manual_seed(1)
    x, value = torch.randn(6, 3, DIM, generator=gen), torch.randn(6, 3, DIM, generator=gen)
    return x, value, padding_mask(3, 6, [[4, 5], [0], [1, 3, 5]])


def cross_attention_inputs() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    gen = torch.Generator().manual_seed(2)
    query, key, value = (torch.randn(n, 3, DIM, generator=gen) for n in (4, 7, 7))
    return query, key, value, padding_mask(3, 7, [[5, 6], [2], [0, 1, 2, 3, 4, 5]])


# Outputs are O(1) (|max| ~1.3); attend and the module do the same float32 products and sums in a different grouping
# (packed projection, scaling before or after q k^T, SDPA's kernel), a few ulps (1e-7 each) apart.
ATTENTION_ATOL = 1e-6


# -- attend ---------------------------------------------------------------------------------------------------
def test_attend_equals_multihead_attention_for_self_attention_with_query_is_key_and_padding() -> None:
    mha = attention_module().eval()
    x, value, mask = self_attention_inputs()
    with torch.no_grad():
        expected = mha(x, x, value, key_padding_mask=mask)[0]
        packed = attend(mha, x, x, value, mask)  # query is key: one projection for both
        separate = attend(mha, x, x.clone(), value, mask)  # equal values, different objects: two projections
    torch.testing.assert_close(packed, expected, rtol=0, atol=ATTENTION_ATOL)
    torch.testing.assert_close(separate, expected, rtol=0, atol=ATTENTION_ATOL)
    # the mask matters: without it the output differs by far more than the tolerance
    with torch.no_grad():
        unmasked = attend(mha, x, x, value)
        torch.testing.assert_close(unmasked, mha(x, x, value)[0], rtol=0, atol=ATTENTION_ATOL)
    assert (unmasked - expected).abs().max() > 100 * ATTENTION_ATOL


def test_attend_equals_multihead_attention_when_query_key_and_value_are_one_tensor() -> None:
    mha = attention_module().eval()
    x, _, mask = self_attention_inputs()
    with torch.no_grad():
        torch.testing.assert_close(
            attend(mha, x, x, x, mask), mha(x, x, x, key_padding_mask=mask)[0], rtol=0, atol=ATTENTION_ATOL
        )


def test_attend_equals_multihead_attention_for_cross_attention_of_different_lengths() -> None:
    mha = attention_module().eval()
    query, key, value, mask = cross_attention_inputs()
    with torch.no_grad():
        got = attend(mha, query, key, value, mask)
        expected = mha(query, key, value, key_padding_mask=mask)[0]
        assert got.shape == (4, 3, DIM)
        torch.testing.assert_close(got, expected, rtol=0, atol=ATTENTION_ATOL)
        torch.testing.assert_close(
            attend(mha, query, key, value), mha(query, key, value)[0], rtol=0, atol=ATTENTION_ATOL
        )


def test_attend_in_training_mode_without_dropout_equals_multihead_attention() -> None:
    mha = attention_module(dropout_p=0.0).train()
    x, value, mask = self_attention_inputs()
    query, key, cross_value, cross_mask = cross_attention_inputs()
    with torch.no_grad():
        torch.testing.assert_close(
            attend(mha, x, x, value, mask), mha(x, x, value, key_padding_mask=mask)[0], rtol=0, atol=ATTENTION_ATOL
        )
        torch.testing.assert_close(
            attend(mha, query, key, cross_value, cross_mask),
            mha(query, key, cross_value, key_padding_mask=cross_mask)[0],
            rtol=0,
            atol=ATTENTION_ATOL,
        )


def test_attend_training_path_scores_mask_and_softmax_equal_multihead_attention(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With ``mha.dropout > 0`` in training mode attend takes its manual path (scores, mask, softmax, dropout);
    with ``dropout`` replaced by the identity that path must equal the module without dropout."""
    calls: list[tuple[tuple[int, ...], float]] = []

    def identity(x: Tensor, p: float, training: bool = True) -> Tensor:
        calls.append((tuple(x.shape), p))
        return x

    monkeypatch.setattr(act_model, "dropout", identity)
    mha = attention_module(dropout_p=0.3).train()
    x, value, mask = self_attention_inputs()
    query, key, cross_value, cross_mask = cross_attention_inputs()
    with torch.no_grad():
        got_self = attend(mha, x, x, value, mask)
        got_cross = attend(mha, query, key, cross_value, cross_mask)
        mha.dropout = 0.0  # the reference: the module's own arithmetic with no dropout
        expected_self = mha(x, x, value, key_padding_mask=mask)[0]
        expected_cross = mha(query, key, cross_value, key_padding_mask=cross_mask)[0]
    assert calls == [((3, HEADS, 6, 6), 0.3), ((3, HEADS, 4, 7), 0.3)], "the manual path ran on the weights"
    torch.testing.assert_close(got_self, expected_self, rtol=0, atol=ATTENTION_ATOL)
    torch.testing.assert_close(got_cross, expected_cross, rtol=0, atol=ATTENTION_ATOL)


def test_attend_training_path_drops_attention_weights_with_dropout_and_rescales() -> None:
    """The weights attend drops are the module's softmax weights, dropped by ``dropout`` with torch's generator."""
    mha = attention_module(dropout_p=0.4)
    query, key, value, mask = cross_attention_inputs()
    with torch.no_grad():
        weights = mha.eval()(query, key, value, key_padding_mask=mask, average_attn_weights=False)[1]  # (B, H, Lq, Lk)
        torch.manual_seed(123)
        got = attend(mha.train(), query, key, value, mask)
        torch.manual_seed(123)
        dropped = dropout(weights, 0.4)  # the same draws: attend's only use of the generator
        values = nn.functional.linear(value, mha.in_proj_weight[2 * DIM :], mha.in_proj_bias[2 * DIM :])
        values = values.reshape(7, 3, HEADS, DIM // HEADS).permute(1, 2, 0, 3)  # (B, H, Lk, D/H)
        heads = (dropped @ values).permute(2, 0, 1, 3).reshape(4, 3, DIM)
        expected = mha.out_proj(heads)
    assert (dropped == 0).any() and (dropped[weights > 0] != 0).any()
    torch.testing.assert_close(got, expected, rtol=0, atol=ATTENTION_ATOL)


# -- first_only ------------------------------------------------------------------------------------------------
def randomise_attention_biases(module: nn.Module) -> None:
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.MultiheadAttention):
                sub.in_proj_bias.normal_(0.0, 0.5)
                sub.out_proj.bias.normal_(0.0, 0.5)


# Encoder outputs are O(1) (|max| ~3); the first-only pass projects one query row instead of the packed q/k of all
# rows, so its float32 products are blocked differently and LayerNorm divides by a slightly different std: a few ulps.
FIRST_ONLY_ATOL = 2e-6


@pytest.mark.parametrize("pre_norm", [False, True], ids=["post_norm", "pre_norm"])
def test_encoder_first_only_equals_first_row_of_full_output(pre_norm: bool) -> None:
    torch.manual_seed(0)
    encoder = Encoder(small_config(pre_norm=pre_norm), n_layers=2).eval()
    randomise_attention_biases(encoder)
    gen = torch.Generator().manual_seed(3)
    x, pos = torch.randn(7, 3, DIM, generator=gen), torch.randn(7, 1, DIM, generator=gen)
    mask = padding_mask(3, 7, [[5, 6], [2], [0, 3, 4, 6]])  # masking the first token too, in row 2
    with torch.no_grad():
        first = encoder(x, pos, mask, first_only=True)
        full = encoder(x, pos, mask)
    assert first.shape == (1, 3, DIM)
    torch.testing.assert_close(first, full[:1], rtol=0, atol=FIRST_ONLY_ATOL)
    assert (full[1:] - full[:1]).abs().max() > 1e-2, "the other rows differ: row 0 is a real check"


def vae_inputs(model: ACT) -> tuple[Tensor, Tensor, Tensor]:
    gen = torch.Generator().manual_seed(4)
    state, action = torch.randn(3, 3, generator=gen), torch.randn(3, model.config.chunk_size, 2, generator=gen)
    is_pad = padding_mask(3, model.config.chunk_size, [[3, 4], [1], [0, 2, 4]])
    return state, action, is_pad


def latent_with_full_vae_encoder(model: ACT, state: Tensor, action: Tensor, is_pad: Tensor) -> tuple[Tensor, Tensor]:
    """``encode_latent`` with its VAE encoder run on every token (``first_only`` ignored): the full output's row 0
    goes through ``vae_encoder_latent_output_proj``."""
    original: Callable[..., Tensor] = model.vae_encoder.forward
    seen: list[bool] = []

    def full(x: Tensor, pos: Tensor, key_padding_mask: Tensor | None = None, first_only: bool = False) -> Tensor:
        seen.append(first_only)
        out = original(x, pos, key_padding_mask)
        assert out.shape[0] == x.shape[0] == 2 + model.config.chunk_size
        return out

    model.vae_encoder.forward = full  # type: ignore[method-assign]
    try:
        return model.encode_latent(state, action, is_pad)
    finally:
        del model.vae_encoder.forward
        assert seen == [True], "encode_latent asks its VAE encoder for the first token only"


@pytest.mark.parametrize("pre_norm", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("mode", ["eval", "train_without_dropout"])
def test_vae_latent_equals_full_vae_encoder_row_zero_through_output_projection(pre_norm: bool, mode: str) -> None:
    torch.manual_seed(0)
    model = ACT(small_config(pre_norm=pre_norm, dropout=0.0 if mode != "eval" else 0.1))
    model.train(mode != "eval")
    randomise_attention_biases(model)
    state, action, is_pad = vae_inputs(model)
    with torch.no_grad():
        mu, log_sigma_x2 = model.encode_latent(state, action, is_pad)
        expected_mu, expected_log_sigma_x2 = latent_with_full_vae_encoder(model, state, action, is_pad)
    assert mu.shape == log_sigma_x2.shape == (3, 4)
    torch.testing.assert_close(mu, expected_mu, rtol=0, atol=FIRST_ONLY_ATOL)  # the encoder's ulps, projected
    torch.testing.assert_close(log_sigma_x2, expected_log_sigma_x2, rtol=0, atol=FIRST_ONLY_ATOL)


# -- dropout ---------------------------------------------------------------------------------------------------
N_LARGE = 1 << 22  # ~4.2 million elements


def kept_scale(p: float) -> Tensor:
    """The float32 factor kept elements are multiplied by: 65536 / (65536 - round(p * 65536))."""
    return torch.tensor(65536 / (65536 - round(p * 65536)), dtype=torch.float32)


def within_six_sd(observed: float, p: float, n: int) -> bool:
    """|observed - p| <= 6 sd of a fraction of n Bernoulli(p) draws (a false failure once in 5e8 runs)."""
    return abs(observed - p) <= 6 * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_drops_fraction_p_and_scales_kept_values_exactly(p: float) -> None:
    torch.manual_seed(5)
    out = dropout(torch.ones(N_LARGE), p)
    effective_p = round(p * 65536) / 65536  # p to 1/65536 (0.1 -> 0.100006, far inside 6 sd = 9e-4)
    dropped = out == 0
    assert within_six_sd(float(dropped.double().mean()), effective_p, N_LARGE)
    assert (out[~dropped] == kept_scale(p)).all(), "every kept one becomes exactly the float32 scale"
    # the mean of scale * Bernoulli(1 - p) is 1, with sd scale * sqrt(p (1 - p) / n); summed in float64
    sd_mean = float(kept_scale(p)) * math.sqrt(effective_p * (1 - effective_p) / N_LARGE)
    assert abs(float(out.double().mean()) - 1.0) <= 6 * sd_mean


def test_dropout_of_ones_at_p_one_tenth_keeps_exactly_65536_over_58982() -> None:
    torch.manual_seed(6)
    out = dropout(torch.ones(1000, 7), 0.1)
    assert out.shape == (1000, 7) and out.dtype == torch.float32
    assert set(out.unique().tolist()) == {0.0, float(torch.tensor(65536 / (65536 - 6554), dtype=torch.float32))}


def test_dropout_uses_all_four_16_bit_draws_of_each_word() -> None:
    """Element i is drawn from 16-bit lane i mod 4 of a 64-bit word: each lane must drop at rate p on its own, and
    two lanes must drop together at rate p^2 (a lane that is constant, or a copy of another, fails)."""
    p = 0.5
    torch.manual_seed(7)
    dropped = (dropout(torch.ones(N_LARGE), p) == 0).view(-1, 4)  # column j = lane j of each word
    n_words = N_LARGE // 4
    for lane in range(4):
        assert within_six_sd(float(dropped[:, lane].double().mean()), p, n_words), f"lane {lane}"
    for a in range(4):
        for b in range(a + 1, 4):
            both = float((dropped[:, a] & dropped[:, b]).double().mean())
            assert within_six_sd(both, p * p, n_words), f"lanes {a} and {b} are not independent"


def test_dropout_low_probability_and_odd_sizes() -> None:
    """A size that is not a multiple of 4 (the last word only partly used) and a small p still drop at rate p."""
    p, n = 0.01, N_LARGE - 3
    torch.manual_seed(8)
    out = dropout(torch.ones(n), p)
    assert out.shape == (n,)
    assert within_six_sd(float((out == 0).double().mean()), round(p * 65536) / 65536, n)


def test_dropout_outside_training_or_at_p_zero_returns_x_itself() -> None:
    x = torch.randn(5, 4)
    assert dropout(x, 0.1, training=False) is x
    assert dropout(x, 0.0) is x
    assert dropout(x, 0.0, training=False) is x


def test_dropout_at_p_one_returns_zeros() -> None:
    x = torch.randn(5, 4, requires_grad=True)
    out = dropout(x, 1.0)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out, torch.zeros(5, 4))


def test_dropout_gradient_is_the_keep_mask_times_the_scale() -> None:
    torch.manual_seed(9)
    x = (torch.rand(64, 33) + 0.5).requires_grad_()  # no zeros: an output of 0 means dropped
    p = 0.3
    out = dropout(x, p)
    out.sum().backward()
    keep = out.detach() != 0
    assert 0 < int(keep.sum()) < keep.numel()
    assert x.grad is not None
    assert torch.equal(x.grad, keep.float() * kept_scale(p))  # exact: the grad of x * (mask * scale) is that factor
    assert torch.equal(out.detach(), torch.where(keep, x.detach() * kept_scale(p), 0.0))


def test_dropout_masks_follow_torch_seed() -> None:
    x = torch.ones(10_000)
    torch.manual_seed(10)
    first = dropout(x, 0.5)
    torch.manual_seed(10)
    again = dropout(x, 0.5)
    torch.manual_seed(11)
    other = dropout(x, 0.5)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    state = torch.get_rng_state()  # the checkpointed generator state replays the same masks too
    after_state = dropout(x, 0.5)
    torch.set_rng_state(state)
    assert torch.equal(dropout(x, 0.5), after_state)
    assert not torch.equal(after_state, first), "consecutive calls draw new masks"


def test_dropout_module_is_an_nn_dropout_drawing_with_dropout() -> None:
    module = Dropout(0.25)
    assert isinstance(module, nn.Dropout) and not list(module.parameters())
    x = torch.ones(4096)
    torch.manual_seed(12)
    trained = module.train()(x)
    torch.manual_seed(12)
    assert torch.equal(trained, dropout(x, 0.25))
    assert module.eval()(x) is x
