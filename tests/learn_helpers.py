"""Batches and comparisons shared by the policy and learning-backend specifications."""

from __future__ import annotations

import numpy as np
import torch

from ding_lite.policy import Policy


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
