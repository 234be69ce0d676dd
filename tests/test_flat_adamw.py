"""FlatAdamW against torch.optim.AdamW and torch.nn.utils.clip_grad_norm_: the same update (fused kernel and plain
fallback), the same state_dict layout both ways, the same clipping; and the flat buffers' bookkeeping: parameters
keep their values, gradients that were reset or replaced and data that was reassigned are used, frozen parameters
are left alone."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from ding_lite.policy.flat_adamw import FlatAdamW

LR, LR_SECOND, WEIGHT_DECAY, WEIGHT_DECAY_SECOND = 1e-2, 3e-3, 1e-2, 0.1

# Parameters are O(0.1-1) and move by ~lr per step. The fused kernel groups the float32 operations of the update
# differently from torch's single-tensor loop (3e-7 relative seen over six steps: a few ulps); the fallback does
# the loop's operations on one long buffer instead of per tensor. 1e-6 relative (+1e-8 absolute near 0) covers both.
RTOL, ATOL = 1e-6, 1e-8


class Net(nn.Module):
    """Two layers whose sizes are not multiples of 16 floats (the flat buffer pads each to 64 bytes)."""

    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(5, 7)
        self.second = nn.Linear(7, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.second(torch.tanh(self.first(x)))


def make_net(seed: int = 0) -> Net:
    torch.manual_seed(seed)
    return Net()


def two_groups(net: nn.Module) -> list[dict[str, Any]]:
    """Different lr in each group, and weight decay from the default (1e-2) in the first, overridden in the second."""
    assert isinstance(net, Net)
    return [
        {"params": list(net.first.parameters())},
        {"params": list(net.second.parameters()), "lr": LR_SECOND, "weight_decay": WEIGHT_DECAY_SECOND},
    ]


def flat_and_torch(
    groups: Callable[[nn.Module], list[dict[str, Any]]] = two_groups,
) -> tuple[Net, FlatAdamW, Net, torch.optim.AdamW]:
    """Identical nets, one under FlatAdamW and one under torch's AdamW (its default, single-tensor path on a CPU)."""
    net = make_net()
    reference = copy.deepcopy(net)
    flat = FlatAdamW(groups(net), lr=LR, weight_decay=WEIGHT_DECAY)
    torch_opt = torch.optim.AdamW(groups(reference), lr=LR, weight_decay=WEIGHT_DECAY)
    return net, flat, reference, torch_opt


def fixed_gradients(net: nn.Module, seed: int) -> list[Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(p.shape, generator=gen) for p in net.parameters()]


def set_gradients(net: nn.Module, grads: list[Tensor], in_place: bool) -> None:
    """``p.grad`` = grads: copied into the existing gradient (FlatAdamW's views) or set as a new tensor."""
    for p, g in zip(net.parameters(), grads):
        if in_place:
            assert p.grad is not None
            p.grad.copy_(g)
        else:
            p.grad = g.clone()


def assert_params_close(net: nn.Module, reference: nn.Module) -> None:
    for (name, p), q in zip(net.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=RTOL, atol=ATOL, msg=lambda m, name=name: f"{name}: {m}")


def assert_moments_close(flat: FlatAdamW, torch_opt: torch.optim.AdamW) -> None:
    ours = flat.state_dict()["state"]
    theirs = torch_opt.state_dict()["state"]
    assert sorted(ours) == sorted(theirs)
    for index in theirs:
        assert float(ours[index]["step"]) == float(theirs[index]["step"])
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(ours[index][key], theirs[index][key], rtol=RTOL, atol=ATOL)


def step_both(net: nn.Module, flat: FlatAdamW, reference: nn.Module, torch_opt: torch.optim.AdamW, seed: int) -> None:
    grads = fixed_gradients(net, seed)
    set_gradients(net, grads, in_place=True)
    set_gradients(reference, grads, in_place=False)
    flat.step()
    torch_opt.step()


@pytest.fixture(params=["fused", "fallback"])
def update_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """FlatAdamW's two update paths: torch._fused_adamw_ when torch has it, the plain one without it."""
    if request.param == "fallback":
        monkeypatch.delattr(torch, "_fused_adamw_")
        assert not hasattr(torch, "_fused_adamw_")
    else:
        assert hasattr(torch, "_fused_adamw_"), "this torch has the fused kernel"
    yield request.param


# -- the update ------------------------------------------------------------------------------------------------
def test_one_step_equals_torch_adamw_for_two_groups(update_path: str) -> None:
    net, flat, reference, torch_opt = flat_and_torch()
    before = [p.detach().clone() for p in net.parameters()]
    step_both(net, flat, reference, torch_opt, seed=1)
    assert_params_close(net, reference)
    assert_moments_close(flat, torch_opt)
    for p, old in zip(net.parameters(), before):
        assert (p - old).abs().min() > 1e-4, "every parameter moved (by ~lr, the first Adam step)"


def test_several_steps_equal_torch_adamw_for_two_groups(update_path: str) -> None:
    net, flat, reference, torch_opt = flat_and_torch()
    for seed in range(1, 7):
        step_both(net, flat, reference, torch_opt, seed)
        assert_params_close(net, reference)
        assert_moments_close(flat, torch_opt)
    assert flat.steps == 6


def test_each_group_uses_its_own_lr_and_weight_decay(update_path: str) -> None:
    """With zero gradients Adam's step is 0, so each parameter shrinks by exactly its group's (1 - lr * decay)."""
    net = make_net()
    before = [p.detach().clone() for p in net.parameters()]
    flat = FlatAdamW(two_groups(net), lr=LR, weight_decay=WEIGHT_DECAY)
    flat.step()
    factors = [1 - LR * WEIGHT_DECAY] * 2 + [1 - LR_SECOND * WEIGHT_DECAY_SECOND] * 2
    for p, old, factor in zip(net.parameters(), before, factors):
        # float32 p * float32(factor), one rounding; checked to 1 ulp of values below 1
        torch.testing.assert_close(p.detach(), old * factor, rtol=2e-7, atol=0)
        assert not torch.equal(p.detach(), old)


def test_training_loop_with_backward_equals_torch_adamw(update_path: str) -> None:
    """zero_grad, backward into the flat gradient buffer, clip, step: as torch's loop does it."""
    net, flat, reference, torch_opt = flat_and_torch()
    gen = torch.Generator().manual_seed(2)
    for _ in range(4):
        x, y = torch.randn(8, 5, generator=gen), torch.randn(8, 3, generator=gen)
        flat.zero_grad()
        torch_opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        nn.functional.mse_loss(reference(x), y).backward()
        # the losses' gradients are ~0.3 in norm: 0.1 clips them every time
        norm = flat.clip_grad_norm(0.1)
        expected_norm = float(nn.utils.clip_grad_norm_(reference.parameters(), 0.1))
        assert norm == pytest.approx(expected_norm, rel=1e-6)  # float32 sums of squares grouped differently
        assert norm > 0.1
        flat.step()
        torch_opt.step()
        assert_params_close(net, reference)
    assert_moments_close(flat, torch_opt)


# -- state_dict ------------------------------------------------------------------------------------------------
def test_state_dict_has_torch_adamw_layout() -> None:
    net, flat, reference, torch_opt = flat_and_torch()
    empty, torch_empty = flat.state_dict(), torch_opt.state_dict()
    assert empty["state"] == torch_empty["state"] == {}
    assert empty["param_groups"] == torch_empty["param_groups"]
    for seed in (1, 2):
        step_both(net, flat, reference, torch_opt, seed)
    ours, theirs = flat.state_dict(), torch_opt.state_dict()
    assert ours.keys() == theirs.keys() == {"state", "param_groups"}
    assert ours["param_groups"] == theirs["param_groups"]  # every hyper-parameter and [0, 1], [2, 3]
    assert [g["params"] for g in ours["param_groups"]] == [[0, 1], [2, 3]]
    assert sorted(ours["state"]) == [0, 1, 2, 3]
    for index, entry in ours["state"].items():
        other = theirs["state"][index]
        assert entry.keys() == other.keys() == {"step", "exp_avg", "exp_avg_sq"}
        assert entry["step"].shape == other["step"].shape == ()
        assert entry["step"].dtype == other["step"].dtype and float(entry["step"]) == 2.0
        for key in ("exp_avg", "exp_avg_sq"):
            assert entry[key].shape == other[key].shape and entry[key].dtype == other[key].dtype
    assert_moments_close(flat, torch_opt)
    # the state is a copy: a later step does not change a state_dict already taken
    saved = ours["state"][0]["exp_avg"].clone()
    step_both(net, flat, reference, torch_opt, seed=3)
    assert torch.equal(ours["state"][0]["exp_avg"], saved)


def test_flat_state_dict_loads_into_torch_adamw_and_both_continue_alike() -> None:
    net, flat, reference, torch_opt = flat_and_torch()
    for seed in (1, 2, 3):
        step_both(net, flat, reference, torch_opt, seed)
    resumed_net = copy.deepcopy(net)  # FlatAdamW's weights, as plain tensors
    resumed = torch.optim.AdamW(two_groups(resumed_net), lr=0.5, weight_decay=0.5)  # overwritten by the load
    resumed.load_state_dict(flat.state_dict())
    assert [(g["lr"], g["weight_decay"]) for g in resumed.param_groups] == [
        (LR, WEIGHT_DECAY),
        (LR_SECOND, WEIGHT_DECAY_SECOND),
    ]
    step_both(net, flat, resumed_net, resumed, seed=4)
    assert_params_close(net, resumed_net)
    assert_moments_close(flat, resumed)


def test_torch_adamw_state_dict_loads_into_flat_adamw_and_both_continue_alike() -> None:
    net, flat, reference, torch_opt = flat_and_torch()
    for seed in (1, 2, 3):
        step_both(net, flat, reference, torch_opt, seed)
    resumed_net = copy.deepcopy(reference)
    resumed = FlatAdamW(two_groups(resumed_net), lr=0.5, weight_decay=0.5)  # overwritten by the load
    resumed.load_state_dict(torch_opt.state_dict())
    assert resumed.steps == 3
    assert [(g["lr"], g["weight_decay"]) for g in resumed.param_groups] == [
        (LR, WEIGHT_DECAY),
        (LR_SECOND, WEIGHT_DECAY_SECOND),
    ]
    for index, entry in torch_opt.state_dict()["state"].items():  # loaded exactly
        for key in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(resumed.state_dict()["state"][index][key], entry[key])
    step_both(resumed_net, resumed, reference, torch_opt, seed=4)
    assert_params_close(resumed_net, reference)
    assert_moments_close(resumed, torch_opt)


# -- gradient clipping -----------------------------------------------------------------------------------------
def one_group(net: nn.Module) -> list[dict[str, Any]]:
    return [{"params": list(net.parameters())}]


@pytest.mark.parametrize("groups", [one_group, two_groups], ids=["one_group", "two_groups"])
def test_clip_grad_norm_equals_torch_when_clipping(groups: Callable[[nn.Module], list[dict[str, Any]]]) -> None:
    net, flat, reference, _ = flat_and_torch(groups)
    grads = fixed_gradients(net, seed=5)
    set_gradients(net, grads, in_place=True)
    set_gradients(reference, grads, in_place=False)
    norm = float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))
    returned = flat.clip_grad_norm(0.25 * norm)
    expected = nn.utils.clip_grad_norm_(reference.parameters(), 0.25 * norm)
    assert returned == pytest.approx(float(expected), rel=1e-6)  # float32 sums of squares grouped differently
    for p, q, g in zip(net.parameters(), reference.parameters(), grads):
        assert p.grad is not None and q.grad is not None
        torch.testing.assert_close(p.grad, q.grad, rtol=RTOL, atol=ATOL)  # the same scale, to float32 rounding
        torch.testing.assert_close(p.grad, g * 0.25, rtol=1e-5, atol=ATOL)  # 1e-6 of the norm in the clip factor


@pytest.mark.parametrize("groups", [one_group, two_groups], ids=["one_group", "two_groups"])
def test_clip_grad_norm_leaves_gradients_under_max_norm(groups: Callable[[nn.Module], list[dict[str, Any]]]) -> None:
    net, flat, reference, _ = flat_and_torch(groups)
    grads = fixed_gradients(net, seed=6)
    set_gradients(net, grads, in_place=True)
    set_gradients(reference, grads, in_place=False)
    norm = float(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])))
    returned = flat.clip_grad_norm(2 * norm)
    expected = nn.utils.clip_grad_norm_(reference.parameters(), 2 * norm)
    assert returned == pytest.approx(float(expected), rel=1e-6)  # float32 sums of squares grouped differently
    for p, q, g in zip(net.parameters(), reference.parameters(), grads):
        assert torch.equal(p.grad, g) and torch.equal(q.grad, g)  # multiplied by exactly 1


# -- reattaching -----------------------------------------------------------------------------------------------
def backward_both(net: nn.Module, reference: nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(8, 5, generator=gen), torch.randn(8, 3, generator=gen)
    nn.functional.mse_loss(net(x), y).backward()
    nn.functional.mse_loss(reference(x), y).backward()


def test_step_uses_new_gradients_after_module_zero_grad(update_path: str) -> None:
    net, flat, reference, torch_opt = flat_and_torch()
    step_both(net, flat, reference, torch_opt, seed=1)  # the flat buffer now holds these (stale) gradients
    for _ in range(2):
        net.zero_grad()  # grads set to None: the buffer's views are no longer the parameters' .grad
        reference.zero_grad()
        assert all(p.grad is None for p in net.parameters())
        backward_both(net, reference, seed=7)
        flat.step()
        torch_opt.step()
        assert_params_close(net, reference)
    assert_moments_close(flat, torch_opt)
    # the backward after the reattach accumulates into the buffer again (flat.zero_grad keeps the views)
    flat.zero_grad()
    torch_opt.zero_grad()
    backward_both(net, reference, seed=8)
    flat.step()
    torch_opt.step()
    assert_params_close(net, reference)


def test_gradient_reset_to_none_counts_as_zero_not_as_the_stale_buffer(update_path: str) -> None:
    """FlatAdamW's documented choice: a parameter whose ``.grad`` is None at ``step()`` takes a zero gradient
    (its moments decay and it still moves), as torch's AdamW would with an explicit zero gradient; it must not
    reuse the gradient left in the buffer. (torch's AdamW itself skips a parameter whose grad is None.)"""
    net, flat, reference, torch_opt = flat_and_torch()
    step_both(net, flat, reference, torch_opt, seed=1)  # the buffer now holds these gradients
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    for p in reference.parameters():
        p.grad = torch.zeros_like(p)
    flat.step()
    torch_opt.step()
    assert_params_close(net, reference)
    assert_moments_close(flat, torch_opt)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())


def test_step_uses_gradients_that_were_replaced(update_path: str) -> None:
    net, flat, reference, torch_opt = flat_and_torch()
    step_both(net, flat, reference, torch_opt, seed=1)
    grads = fixed_gradients(net, seed=9)
    set_gradients(net, grads, in_place=False)  # new tensors, not the buffer's views
    set_gradients(reference, grads, in_place=False)
    flat.step()
    torch_opt.step()
    assert_params_close(net, reference)
    assert_moments_close(flat, torch_opt)


def test_step_uses_reassigned_parameter_data(update_path: str) -> None:
    net, flat, reference, torch_opt = flat_and_torch()
    step_both(net, flat, reference, torch_opt, seed=1)
    gen = torch.Generator().manual_seed(10)
    new_weight, new_bias = torch.randn(3, 7, generator=gen), torch.randn(7, generator=gen)
    net.second.weight.data = new_weight.clone()  # a tensor of its own, outside the flat buffer
    reference.second.weight.data = new_weight.clone()
    net.first.bias.data = new_bias.clone()
    reference.first.bias.data = new_bias.clone()
    step_both(net, flat, reference, torch_opt, seed=2)
    assert (net.second.weight - new_weight).abs().max() < 0.1, "the step started from the new data"
    assert_params_close(net, reference)
    assert_moments_close(flat, torch_opt)
    step_both(net, flat, reference, torch_opt, seed=3)  # and the parameter stays attached afterwards
    assert_params_close(net, reference)


# -- frozen parameters and construction ------------------------------------------------------------------------
def test_frozen_parameters_are_left_out_and_never_change(update_path: str) -> None:
    net = make_net()
    net.first.weight.requires_grad_(False)
    frozen = net.first.weight.detach().clone()
    frozen_storage = net.first.weight.data_ptr()
    flat = FlatAdamW(two_groups(net), lr=LR, weight_decay=0.5)  # strong decay: a decayed weight would show
    assert all(p is not net.first.weight for g in flat.param_groups for p in g["params"])
    assert [len(g["params"]) for g in flat.param_groups] == [1, 2]
    assert net.first.weight.data_ptr() == frozen_storage, "the frozen weight's storage is its own, not a buffer's"
    assert net.first.weight.grad is None
    assert [g["params"] for g in flat.state_dict()["param_groups"]] == [[0], [1, 2]]
    gen = torch.Generator().manual_seed(11)
    trainable_before = [p.detach().clone() for p in net.parameters() if p.requires_grad]
    for _ in range(3):
        flat.zero_grad()
        nn.functional.mse_loss(net(torch.randn(8, 5, generator=gen)), torch.randn(8, 3, generator=gen)).backward()
        flat.step()
    assert torch.equal(net.first.weight.detach(), frozen)
    assert net.first.weight.grad is None
    assert all(
        not torch.equal(p.detach(), old)
        for p, old in zip([p for p in net.parameters() if p.requires_grad], trainable_before)
    )


def test_group_of_only_frozen_parameters_is_dropped() -> None:
    net = make_net()
    net.first.requires_grad_(False)
    flat = FlatAdamW(two_groups(net), lr=LR)
    assert len(flat.param_groups) == 1
    assert flat.param_groups[0]["lr"] == LR_SECOND
    assert flat.param_groups[0]["params"] == list(net.second.parameters())


def test_construction_keeps_parameter_values_objects_and_forward_output() -> None:
    net = make_net()
    params = list(net.parameters())
    values = [p.detach().clone() for p in params]
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(12))
    with torch.no_grad():
        out = net(x)
    FlatAdamW(two_groups(net), lr=LR)
    assert all(a is b for a, b in zip(net.parameters(), params)), "the module's Parameter objects are kept"
    for p, value in zip(net.parameters(), values):
        assert torch.equal(p.detach(), value) and p.shape == value.shape
        assert p.requires_grad and p.is_leaf
        assert p.grad is not None and torch.equal(p.grad, torch.zeros_like(p))
    with torch.no_grad():
        assert torch.equal(net(x), out)  # the same float32 values through the same operations
