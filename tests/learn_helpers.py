"""Batches and comparisons shared by the policy and learning-backend specifications.

How the two learning backends are compared (``assert_update_matches_autograd``)
-------------------------------------------------------------------------------
Comparing parameters after several updates is not sound: Adam divides each step by the root of the
gradient's second moment, so for a parameter whose gradient is near zero (rounding noise around a
cancellation) the step is about ``lr * noise / |noise|``, its sign decided by float rounding, which
changes with the thread count, the BLAS kernel and the CPU. Such parameters then differ by up to
``2 * lr`` per update whatever tolerance the gradients meet.

So the backends are compared one update at a time, each update starting from the same state (the NumPy
policy is loaded with the torch policy's learn state first):

- the gradients each backend applied (after clipping) agree elementwise within ``GRAD_TOL`` times the
  largest gradient of that optimizer. Float32 sums carry an error of a few 1e-7 of the size of the summed
  terms, and a near-zero entry (a cancellation) gets its error from terms as large as the network's
  largest gradients; the worst seen is 2.5e-5 (PPO, under 1 and 2 threads), 40 times below ``GRAD_TOL``;
- each tensor's gradient agrees within ``GRAD_NORM_RTOL`` of its own norm, so small tensors are checked
  too (worst seen 5.8e-4: SAC's one-element log-sigma bias, a sum that cancels);
- the NumPy backend's step is exactly torch Adam's for the gradient it computed (both moments and the new
  parameters recomputed in float64 from that gradient, to a few float32 roundings), with no reference to
  the torch run, so the amplification above plays no part;
- target nets differ between the backends by no more than the online net they follow (``|d target| <=
  |d model|`` elementwise, plus rounding): a missed, doubled or mis-weighted target update breaks that;
- the logged losses agree to ``LOSS_RTOL``, or ``LOSS_ATOL`` where they cancel to near zero (PPO's first
  surrogate is the mean of normalised advantages, terms of order one: 64 of them round to about 4e-6).

A wrong sign, factor or mask is an error of the size of the gradient term it touches; each of these,
introduced on purpose, failed these checks: the entropy gradient's sign, a 1 % factor on DQN's TD error,
the value-clipping mask, SAC's log-sigma clamp mask, Adam's bias correction, SAC's target rate.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import torch

from ding_lite.numpy_learn.adam import NumpyAdam
from ding_lite.policy import Policy

GRAD_TOL = 1e-3
GRAD_NORM_RTOL = 1e-2
LOSS_RTOL = 1e-4
LOSS_ATOL = 1e-5
BETAS = (0.9, 0.999)


def cartpole_rollout(steps: int = 32, envs: int = 8, seed: int = 0) -> dict[str, np.ndarray]:
    """A seeded random on-policy rollout, arrays of shape (steps, envs, ...), about 10 % episode ends."""
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.standard_normal((steps, envs, 4)).astype(np.float32),
        "action": rng.integers(0, 2, (steps, envs)),
        "reward": rng.random((steps, envs)).astype(np.float32),
        "done": rng.random((steps, envs)) < 0.1,
        "next_obs": rng.standard_normal((steps, envs, 4)).astype(np.float32),
    }


def dqn_batch(seed: int, size: int = 16, done_rate: float = 0.2) -> dict[str, torch.Tensor]:
    """A seeded cartpole-shaped replay batch (4-D observations, 2 actions, discount 0.97)."""
    gen = torch.Generator().manual_seed(seed)
    return {
        "obs": torch.randn(size, 4, generator=gen),
        "action": torch.randint(0, 2, (size,), generator=gen),
        "reward": torch.rand(size, generator=gen),
        "gamma_n": torch.full((size,), 0.97),
        "done": torch.rand(size, generator=gen) < done_rate,
        "next_obs": torch.randn(size, 4, generator=gen),
    }


def assert_same_learn_state(expected: Policy, actual: Policy, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Every tensor of the two learn state dicts (models, optimizer states, extras) is close."""
    state_a, state_b = expected.learn_mode.state_dict(), actual.learn_mode.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        if key.startswith("optimizer"):
            opt_a, opt_b = state_a[key], state_b[key]
            assert opt_a["param_groups"] == opt_b["param_groups"], key
            assert opt_a["state"].keys() == opt_b["state"].keys(), key
            for index in opt_a["state"]:
                for name in ("step", "exp_avg", "exp_avg_sq"):
                    torch.testing.assert_close(
                        opt_b["state"][index][name], opt_a["state"][index][name], rtol=rtol, atol=atol,
                        msg=f"{key}.{index}.{name}",
                    )  # fmt: skip
        else:
            assert state_a[key].keys() == state_b[key].keys(), key
            for name in state_a[key]:
                torch.testing.assert_close(
                    state_b[key][name], state_a[key][name], rtol=rtol, atol=atol, msg=f"{key}.{name}"
                )


def assert_update_matches_autograd(
    torch_policy: Policy, numpy_policy: Policy, batch: Mapping[str, torch.Tensor], seed: int = 1
) -> None:
    """One update of each backend from the torch policy's current state; see the module docstring."""
    before = copy.deepcopy(torch_policy.learn_mode.state_dict())
    numpy_policy.learn_mode.load_state_dict(copy.deepcopy(before))
    params_before = {key: [p.detach().clone() for p in _params(torch_policy, key)] for key in _optimizers(before)}
    torch.manual_seed(seed)  # the noise draws of stochastic losses (SAC)
    torch_log = torch_policy.learn_mode.forward(batch)
    torch.manual_seed(seed)
    numpy_log = numpy_policy.learn_mode.forward(batch)
    assert torch_log.keys() == numpy_log.keys()
    for name in torch_log:
        assert numpy_log[name] == pytest.approx(torch_log[name], rel=LOSS_RTOL, abs=LOSS_ATOL), name
    for key in _optimizers(before):
        _assert_same_gradients(torch_policy, numpy_policy, key)
        for index, start in enumerate(params_before[key]):
            _assert_adam_step(numpy_policy, key, index, before, start)
    after_torch, after_numpy = torch_policy.learn_mode.state_dict(), numpy_policy.learn_mode.state_dict()
    if "target_model" in before:
        for name, target in after_numpy["target_model"].items():
            model_gap = (after_numpy["model"][name] - after_torch["model"][name]).abs()
            target_gap = (target - after_torch["target_model"][name]).abs()
            slack = 1e-6 * target.abs() + 1e-9
            assert bool((target_gap <= model_gap + slack).all()), f"target_model.{name} moved unlike the model"


def _optimizers(state: Mapping[str, Any]) -> list[str]:
    return [key for key in state if key.startswith("optimizer")]


def _params(policy: Policy, key: str) -> list[torch.Tensor]:
    """The parameters of the optimizer saved under ``key`` (``optimizer_q`` is ``policy._optimizer_q``)."""
    return list(getattr(policy, f"_{key}").param_groups[0]["params"])


def _moments(optimizer_state: Mapping[str, Any], index: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(step, exp_avg, exp_avg_sq) of one parameter in float64; zeros before the first update."""
    saved = optimizer_state["state"].get(index)
    if saved is None:
        zeros = torch.zeros_like(like, dtype=torch.float64)
        return torch.tensor(0.0), zeros, zeros
    return saved["step"].double(), saved["exp_avg"].double(), saved["exp_avg_sq"].double()


def _gradient(policy: Policy, key: str, index: int) -> torch.Tensor:
    """The gradient the last update applied to parameter ``index`` of optimizer ``key`` (after clipping)."""
    optimizer = getattr(policy, f"_{key}")
    if isinstance(optimizer, NumpyAdam):
        return torch.from_numpy(optimizer.params.grads[index]).double()
    grad = optimizer.param_groups[0]["params"][index].grad
    assert grad is not None, f"{key}[{index}] has no gradient"
    return grad.double()


def _assert_same_gradients(torch_policy: Policy, numpy_policy: Policy, key: str) -> None:
    count = len(_params(torch_policy, key))
    expected = [_gradient(torch_policy, key, index) for index in range(count)]
    actual = [_gradient(numpy_policy, key, index) for index in range(count)]
    scale = max(float(grad.abs().max()) for grad in expected)
    for index, (want, got) in enumerate(zip(expected, actual)):
        error = float((got - want).abs().max())
        assert error <= GRAD_TOL * scale + 1e-12, f"gradient of {key}[{index}] off by {error:.3g} (scale {scale:.3g})"
        relative = float((got - want).norm() / (want.norm() + 1e-30))
        assert relative <= GRAD_NORM_RTOL, f"gradient of {key}[{index}] off by {relative:.3g} of its norm"


def _assert_adam_step(policy: Policy, key: str, index: int, before: Mapping[str, Any], start: torch.Tensor) -> None:
    """Parameter ``index`` of ``key`` moved from ``start`` by torch Adam's step for the gradient applied."""
    after = policy.learn_mode.state_dict()[key]
    where = f"{key}[{index}]"
    group = after["param_groups"][0]
    lr, eps, (beta1, beta2) = float(group["lr"]), float(group["eps"]), group["betas"]
    grad = _gradient(policy, key, index)
    step, avg, avg_sq = _moments(after, index, start)
    _, avg_before, avg_sq_before = _moments(before[key], index, start)
    first, second = beta1 * avg_before, (1 - beta1) * grad
    _assert_rounding_close(avg, first + second, first.abs() + second.abs(), f"exp_avg of {where}")
    first, second = beta2 * avg_sq_before, (1 - beta2) * grad**2
    _assert_rounding_close(avg_sq, first + second, first + second, f"exp_avg_sq of {where}")
    count = float(step)
    denom = avg_sq.sqrt() / (1 - beta2**count) ** 0.5 + eps
    change = lr / (1 - beta1**count) * avg / denom
    now = getattr(policy, f"_{key}").param_groups[0]["params"][index].detach().double()
    _assert_rounding_close(now, start.double() - change, start.abs().double() + change.abs(), f"Adam step of {where}")


def _assert_rounding_close(actual: torch.Tensor, expected: torch.Tensor, terms: torch.Tensor, what: str) -> None:
    """``actual`` is ``expected`` up to a few float32 roundings (2**-24 each) of terms of size ``terms``."""
    error = (actual - expected).abs()
    bound = 8 * 2.0**-24 * terms + 1e-30
    worst = int(torch.argmax(error - bound))
    assert bool((error <= bound).all()), f"{what}: off by {float(error.flatten()[worst]):.3g} at element {worst}"
