"""SAC's NumPy learning backend computes what torch's autograd computes.

Twin policies from ``dizoo_configs/pendulum_sac_config.py``, one learning with torch and one with NumPy,
take each update from the same state, batch and torch seed (the Gaussian noise of both backends comes from
torch's generator): their logs and gradients agree and the NumPy step is torch Adam's (``learn_helpers``
says how and with which tolerances), with terminal transitions, without ``auto_alpha``, with one critic,
with a clamped log sigma and with wider actions and deeper heads.
The optimizer state moves between the backends both ways and learning goes on from it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from learn_helpers import assert_same_learn_state, assert_update_matches_autograd

from ding_lite.config import compile_config, read_config
from ding_lite.errors import ConfigError
from ding_lite.model.qac import ContinuousQAC
from ding_lite.policy import POLICY_REGISTRY, Policy

CONFIG = Path(__file__).resolve().parents[1] / "dizoo_configs" / "pendulum_sac_config.py"
UPDATES = 5


def compiled(backend: str = "auto", model: Mapping[str, Any] | None = None, **learn: Any) -> Any:
    main, create = read_config(CONFIG)
    main = copy.deepcopy(main)
    main["policy"]["learn"].update(backend=backend, **learn)
    main["policy"]["model"].update(model or {})
    return compile_config((main, create), save_cfg=False)


def twin_policies(model: Mapping[str, Any] | None = None, **learn: Any) -> tuple[Policy, Policy]:
    """The same freshly initialised SAC policy twice: learning with torch, and with NumPy."""
    policies = []
    for backend in ("torch", "numpy"):
        cfg = compiled(backend, model, **learn)
        torch.manual_seed(0)
        policies.append(POLICY_REGISTRY.get("sac")(cfg.policy))
    assert policies[0]._numpy is None and policies[1]._numpy is not None  # type: ignore[attr-defined]
    return policies[0], policies[1]


def random_batches(policy: Policy, count: int = UPDATES, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """Batches of the config's size: Gaussian observations, actions in [-1, 1], 20% terminal."""
    rng = np.random.default_rng(seed)
    size = int(policy.cfg["learn"]["batch_size"])
    obs_dim, action_dim = int(policy.cfg["model"]["obs_shape"]), int(policy.cfg["model"]["action_shape"])

    def batch() -> dict[str, np.ndarray]:
        return {
            "obs": rng.standard_normal((size, obs_dim)).astype(np.float32),
            "action": rng.uniform(-1, 1, (size, action_dim)).astype(np.float32),
            "reward": rng.standard_normal(size).astype(np.float32),
            "done": rng.random(size) < 0.2,
            "next_obs": rng.standard_normal((size, obs_dim)).astype(np.float32),
        }

    return [{key: torch.from_numpy(value) for key, value in batch().items()} for _ in range(count)]


def train(policy: Policy, batches: list[dict[str, torch.Tensor]], seed: int = 1) -> list[dict[str, float]]:
    torch.manual_seed(seed)  # the Gaussian noise of the actions
    return [policy.learn_mode.forward(batch) for batch in batches]


CASES = {
    "pendulum": ({}, {}),
    "terminal transitions": ({}, {"ignore_done": False}),
    "fixed alpha": ({}, {"auto_alpha": False}),
    "one critic": ({"twin_critic": False}, {}),
    "wide actions, deep heads": (
        {"action_shape": 2, "actor_head_layer_num": 2, "critic_head_layer_num": 2},
        {"ignore_done": False, "target_entropy": -0.5, "alpha": 0.5},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sac_numpy_updates_match_torch_autograd(case: str) -> None:
    model, learn = CASES[case]
    torch_policy, numpy_policy = twin_policies(model, **learn)
    before = copy.deepcopy(numpy_policy.learn_mode.state_dict())
    for seed, batch in enumerate(random_batches(torch_policy)):
        assert_update_matches_autograd(torch_policy, numpy_policy, batch, seed=seed)
    after = numpy_policy.learn_mode.state_dict()
    for part in ("model", "target_model"):  # every parameter learned
        for name, value in before[part].items():
            assert not torch.equal(value, after[part][name]), f"{part}.{name}"


def test_clamped_log_sigma_passes_no_gradient_in_either_backend() -> None:
    torch_policy, numpy_policy = twin_policies()
    for policy in (torch_policy, numpy_policy):
        with torch.no_grad():  # log sigma straddles its upper bound 2: about half the rows are clamped
            policy.model.actor_head[2].log_sigma_layer.bias.fill_(2.0)
    batches = random_batches(torch_policy)
    clamped = numpy_policy._numpy.sample(  # type: ignore[attr-defined]
        batches[0]["obs"].numpy(), np.zeros((len(batches[0]["obs"]), 1), np.float32), keep=False
    ).clamp_open
    assert 0.1 < 1 - clamped.mean() < 0.9
    for seed, batch in enumerate(batches):
        assert_update_matches_autograd(torch_policy, numpy_policy, batch, seed=seed)


def test_auto_backend_learns_sac_in_numpy_for_the_builtin_model_only() -> None:
    cfg = compiled()
    assert cfg.policy.learn.backend == "auto"
    policy = POLICY_REGISTRY.get("sac")(cfg.policy)
    assert policy._numpy is not None  # type: ignore[attr-defined]
    assert policy._optimizer_q is policy._numpy.optimizer_q  # type: ignore[attr-defined]

    class CustomQAC(ContinuousQAC):
        pass

    def custom() -> CustomQAC:
        return CustomQAC(obs_shape=3, action_shape=1, actor_head_hidden_size=128, critic_head_hidden_size=128)

    assert POLICY_REGISTRY.get("sac")(cfg.policy, model=custom())._numpy is None  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="CustomQAC, not the built-in ContinuousQAC"):
        POLICY_REGISTRY.get("sac")(compiled("numpy").policy, model=custom())


def test_sac_state_moves_between_the_backends_and_learning_goes_on() -> None:
    torch_policy, numpy_policy = twin_policies()
    batches = random_batches(torch_policy, count=2 * UPDATES)
    train(numpy_policy, batches[:UPDATES])
    torch_policy.learn_mode.load_state_dict(numpy_policy.learn_mode.state_dict())
    assert_same_learn_state(numpy_policy, torch_policy, rtol=0, atol=0)
    _, fresh_numpy = twin_policies()
    fresh_numpy.learn_mode.load_state_dict(torch_policy.learn_mode.state_dict())
    assert_same_learn_state(numpy_policy, fresh_numpy, rtol=0, atol=0)
    # loading copied into the tensors the NumPy views read (log_alpha included): both go on alike
    for seed, batch in enumerate(batches[UPDATES:]):
        assert_update_matches_autograd(torch_policy, fresh_numpy, batch, seed=seed)
