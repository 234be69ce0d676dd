"""The NumPy learning backend computes what torch's autograd computes: in every update the same losses and
gradients, and torch Adam's step for them (see ``learn_helpers`` for why updates are compared one at a
time and how the tolerances follow from float32 rounding), for PPO and DQN; and its optimizer state
round-trips through torch's Adam layout."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from learn_helpers import assert_same_learn_state, assert_update_matches_autograd, cartpole_rollout, dqn_batch

from ding_lite.checkpoint.resume_guard import check_resume_config
from ding_lite.config import compile_config, read_config
from ding_lite.errors import CheckpointError, ConfigError
from ding_lite.policy import POLICY_REGISTRY, Policy
from ding_lite.utils.threads import blas_threads, loaded_openblas, set_blas_threads, single_thread_compute

CONFIG_DIR = Path(__file__).resolve().parents[1] / "dizoo_configs"


def compiled(name: str, model: dict[str, Any] | None = None, **learn: Any) -> Any:
    main, create = read_config(CONFIG_DIR / f"{name}_config.py")
    main = copy.deepcopy(main)
    main["policy"]["learn"].update(learn)
    main["policy"]["model"].update(model or {})
    return compile_config((main, create), save_cfg=False)


def twin_policies(name: str, model: dict[str, Any] | None = None, **learn: Any) -> tuple[Policy, Policy]:
    """The same freshly initialised policy twice: learning with torch, and with NumPy."""
    policies = []
    for backend in ("torch", "numpy"):
        cfg = compiled(name, model, backend=backend, **learn)
        torch.manual_seed(0)
        policies.append(POLICY_REGISTRY.get(str(cfg.policy.type))(cfg.policy))
    return policies[0], policies[1]


# --------------------------------------------------------------------------- PPO


@pytest.mark.parametrize("clip", [("clip_norm", 0.5), ("clip_norm", 1e-3), ("clip_value", 1e-3), (None, 0.0)])
def test_ppo_numpy_updates_match_torch_autograd(clip: tuple[str | None, float]) -> None:
    torch_policy, numpy_policy = twin_policies("cartpole_ppo", grad_clip_type=clip[0], grad_clip_value=clip[1])
    torch.manual_seed(1)  # the minibatch order
    batches = 0
    # the first update starts from ratio == 1 everywhere: every min/max of the losses is a tie
    for batch in torch_policy.learn_mode.train_batches(cartpole_rollout()):
        assert_update_matches_autograd(torch_policy, numpy_policy, batch)
        batches += 1
    assert batches == 8  # 256 samples / 64 per batch * 2 epochs


def test_ppo_numpy_learning_changes_every_parameter() -> None:
    _, policy = twin_policies("cartpole_ppo")
    before = {k: v.clone() for k, v in policy.model.state_dict().items()}
    for batch in policy.learn_mode.train_batches(cartpole_rollout()):
        policy.learn_mode.forward(batch)
    after = policy.model.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)


def test_auto_backend_learns_in_numpy_for_builtin_models_and_torch_otherwise() -> None:
    cfg = compiled("cartpole_ppo")
    assert cfg.policy.learn.backend == "auto"
    auto = POLICY_REGISTRY.get("ppo")(cfg.policy)
    assert auto._numpy is not None  # type: ignore[attr-defined]
    frozen_cfg = compiled("cartpole_ppo")
    frozen_cfg.policy.freeze = ["encoder"]
    assert POLICY_REGISTRY.get("ppo")(frozen_cfg.policy)._numpy is None  # type: ignore[attr-defined]
    frozen_cfg.policy.learn.backend = "numpy"
    with pytest.raises(ConfigError, match="policy.freeze"):
        POLICY_REGISTRY.get("ppo")(frozen_cfg.policy)


def test_unknown_backend_is_rejected_with_the_choices() -> None:
    cfg = compiled("cartpole_ppo", backend="jax")
    with pytest.raises(ConfigError, match="policy.learn.backend is 'jax'; use one of auto, numpy, torch"):
        POLICY_REGISTRY.get("ppo")(cfg.policy)


def test_numpy_optimizer_state_loads_into_the_torch_backend_and_back() -> None:
    torch_policy, numpy_policy = twin_policies("cartpole_ppo")
    for batch in numpy_policy.learn_mode.train_batches(cartpole_rollout()):
        numpy_policy.learn_mode.forward(batch)
    state = numpy_policy.learn_mode.state_dict()
    torch_policy.learn_mode.load_state_dict(state)
    assert_same_learn_state(torch_policy, numpy_policy, rtol=0, atol=0)
    _, fresh_numpy = twin_policies("cartpole_ppo")
    fresh_numpy.learn_mode.load_state_dict(torch_policy.learn_mode.state_dict())
    assert_same_learn_state(fresh_numpy, numpy_policy, rtol=0, atol=0)


# --------------------------------------------------------------------------- DQN


@pytest.mark.parametrize("dueling", [True, False])
@pytest.mark.parametrize("ignore_done", [False, True])
def test_dqn_numpy_updates_match_torch_autograd(dueling: bool, ignore_done: bool) -> None:
    torch_policy, numpy_policy = twin_policies(
        "cartpole_dqn", target_update_freq=3, ignore_done=ignore_done, model=dict(dueling=dueling)
    )
    for step in range(7):  # crosses two target updates
        assert_update_matches_autograd(torch_policy, numpy_policy, dqn_batch(step, size=64))
    numpy_state = numpy_policy.learn_mode.state_dict()
    # the last target update was after update 6: the target equals the online net as it was then, not now
    assert not torch.equal(numpy_state["target_model"]["head.A.1.0.weight" if dueling else "head.Q.1.0.weight"],
                           numpy_state["model"]["head.A.1.0.weight" if dueling else "head.Q.1.0.weight"])  # fmt: skip


# --------------------------------------------------------------------------- resuming across versions


def test_checkpoints_without_a_backend_key_count_as_torch_trained_for_the_resume_guard() -> None:
    saved = {"policy": {"learn": {"learning_rate": 0.001}}}  # written before policy.learn.backend existed
    with pytest.raises(CheckpointError, match="'policy.learn.backend' was 'torch', now 'auto'"):
        check_resume_config(saved, {"policy": {"learn": {"learning_rate": 0.001, "backend": "auto"}}}, "old.pth.tar")
    assert check_resume_config(saved, {"policy": {"learn": {"learning_rate": 0.001, "backend": "torch"}}}, "x") == []


# --------------------------------------------------------------------------- threads


def test_single_thread_compute_sets_torch_and_numpy_blas_to_one_thread() -> None:
    np.ones((2, 2), dtype=np.float32) @ np.ones((2, 2), dtype=np.float32)  # NumPy's BLAS is loaded by now
    assert blas_threads(), f"NumPy's OpenBLAS thread count cannot be read from {loaded_openblas()}"
    set_blas_threads(2)
    torch.set_num_threads(2)
    assert blas_threads() == [2] * len(blas_threads())
    single_thread_compute()
    assert torch.get_num_threads() == 1
    assert blas_threads() == [1] * len(blas_threads())


def test_auto_backend_falls_back_to_torch_for_float64_models() -> None:
    cfg = compiled("cartpole_dqn")
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        policy = POLICY_REGISTRY.get("dqn")(cfg.policy)
    finally:
        torch.set_default_dtype(default)
    assert policy._numpy is None  # type: ignore[attr-defined]
    policy.learn_mode.forward({k: v.double() if v.is_floating_point() else v for k, v in dqn_batch(0).items()})
    cfg.policy.learn.backend = "numpy"
    torch.set_default_dtype(torch.float64)
    try:
        with pytest.raises(ConfigError, match="not all contiguous float32 CPU tensors"):
            POLICY_REGISTRY.get("dqn")(cfg.policy)
    finally:
        torch.set_default_dtype(default)


def pendulum_rollout(steps: int = 32, envs: int = 8, action_dim: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "obs": rng.standard_normal((steps, envs, 3)).astype(np.float32),
        "action": rng.standard_normal((steps, envs, action_dim)).astype(np.float32),
        "reward": rng.random((steps, envs)).astype(np.float32),
        "done": rng.random((steps, envs)) < 0.05,
        "next_obs": rng.standard_normal((steps, envs, 3)).astype(np.float32),
    }


@pytest.mark.parametrize(
    "model",
    [
        {},  # the dizoo config: conditioned sigma, tanh-bounded mu
        {"sigma_type": "independent", "bound_type": None},
        {"sigma_type": "conditioned", "bound_type": None, "action_shape": 2, "actor_head_layer_num": 2},
    ],
    ids=["conditioned-tanh", "independent", "conditioned-2d"],
)
def test_continuous_ppo_numpy_updates_match_torch_autograd(model: dict[str, Any]) -> None:
    torch_policy, numpy_policy = twin_policies(
        "pendulum_ppo", model, learning_rate=1e-3, batch_size=64, entropy_weight=0.01
    )
    rollout = pendulum_rollout(action_dim=int(model.get("action_shape", 1)))
    torch.manual_seed(1)
    for batch, _ in zip(torch_policy.learn_mode.train_batches(rollout), range(12)):
        assert_update_matches_autograd(torch_policy, numpy_policy, batch)
    before = twin_policies("pendulum_ppo", model)[1].model.state_dict()
    after = numpy_policy.model.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before)
