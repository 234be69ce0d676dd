"""Specifications of the models against DI-engine 0.5.3's own checkpoints (tests/fixtures/di-engine/):
the parameter trees match, the checkpoints load with their optimizer state and play cartpole as well as
they did in DI-engine, the NumPy acting path equals the torch forward, and ding_lite's Adam is
torch's Adam bit for bit, state dict included."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from ding_lite.config import compile_config, read_config
from ding_lite.envs import make_env_manager
from ding_lite.learner import BaseLearner
from ding_lite.model import VAC
from ding_lite.policy import POLICY_REGISTRY, Policy
from ding_lite.policy.optim import Adam
from ding_lite.utils.log import ExperimentLogger
from ding_lite.worker.evaluator import run_episodes

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "di-engine"
FIXTURE = {
    "ppo": FIXTURES / "cartpole_ppo_seed0_best.pth.tar",
    "dqn": FIXTURES / "cartpole_dqn_seed0_best.pth.tar",
}
FIXTURE_ITER = {"ppo": 312, "dqn": 600}


def compiled(kind: str) -> Any:
    return compile_config(read_config(ROOT / "dizoo_configs" / f"cartpole_{kind}_config.py"), save_cfg=False)


def fixture_state(kind: str) -> dict[str, Any]:
    return torch.load(FIXTURE[kind], weights_only=True)


def loaded(kind: str, tmp_path: Path, backend: str = "auto") -> tuple[Any, Policy, BaseLearner]:
    """Compiled config, policy and learner of ``kind`` with the DI-engine fixture loaded by the learner."""
    cfg = compiled(kind)
    cfg.policy.learn.backend = backend
    torch.manual_seed(0)
    policy = POLICY_REGISTRY.get(kind)(cfg.policy)
    learner = BaseLearner(
        cfg.policy.learn.learner, policy, tmp_path, ExperimentLogger(tmp_path, tensorboard=False), policy_type=kind
    )
    learner.load_checkpoint(FIXTURE[kind])
    return cfg, policy, learner


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    elif isinstance(a, dict):
        assert set(a) == set(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


def cartpole_like_obs(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((count, 4)) * np.array([1.0, 1.0, 0.1, 1.0])).astype(np.float32)


# --------------------------------------------------------------------------- parameter trees


@pytest.mark.parametrize("kind", ["ppo", "dqn"])
def test_model_state_dict_has_the_fixture_keys_in_order_and_shapes(kind: str) -> None:
    cfg = compiled(kind)
    own = POLICY_REGISTRY.get(kind)(cfg.policy).model.state_dict()
    theirs = fixture_state(kind)["model"]
    assert list(own) == list(theirs)
    assert {k: tuple(v.shape) for k, v in own.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    if kind == "ppo":
        for alias in ("actor.0.init.weight", "actor.1.Q.1.0.weight", "critic.0.main.2.bias", "critic.1.last.weight"):
            assert alias in own


def test_ppo_alias_keys_are_the_shared_modules() -> None:
    model = POLICY_REGISTRY.get("ppo")(compiled("ppo").policy).model
    state = model.state_dict()
    assert state["actor.0.init.weight"].data_ptr() == state["encoder.init.weight"].data_ptr()
    assert state["critic.0.init.weight"].data_ptr() == state["encoder.init.weight"].data_ptr()
    assert state["actor.1.Q.1.0.weight"].data_ptr() == state["actor_head.Q.1.0.weight"].data_ptr()
    assert state["critic.1.last.bias"].data_ptr() == state["critic_head.last.bias"].data_ptr()
    # 14 distinct parameters, in DI-engine's optimizer order: encoder, critic head, actor head
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == 14
    assert names[:6] == [k for k in state if k.startswith("encoder.")]
    assert names[6:10] == [k for k in state if k.startswith("critic_head.")]
    assert names[10:] == [k for k in state if k.startswith("actor_head.")]


@pytest.mark.parametrize("kind", ["ppo", "dqn"])
def test_fixture_optimizer_state_indices_match_parameter_order(kind: str) -> None:
    params = list(POLICY_REGISTRY.get(kind)(compiled(kind).policy).model.parameters())
    optimizer = fixture_state(kind)["optimizer"]
    assert len(optimizer["state"]) == len(params)
    for index, state in optimizer["state"].items():
        assert tuple(state["exp_avg"].shape) == tuple(params[index].shape)


# --------------------------------------------------------------------------- loading and playing


@pytest.mark.parametrize("kind", ["ppo", "dqn"])
def test_fixture_loads_weights_optimizer_and_train_iter(tmp_path: Path, kind: str) -> None:
    _, policy, learner = loaded(kind, tmp_path)
    theirs = fixture_state(kind)
    assert learner.train_iter == FIXTURE_ITER[kind] == theirs["last_iter"]
    own = policy.learn_mode.state_dict()
    assert_same(own["model"], theirs["model"])
    if kind == "dqn":
        assert_same(own["target_model"], theirs["target_model"])
    assert_same(own["optimizer"]["state"], theirs["optimizer"]["state"])
    assert own["optimizer"]["param_groups"][0]["lr"] == theirs["optimizer"]["param_groups"][0]["lr"]
    assert own["optimizer"]["param_groups"][0]["params"] == theirs["optimizer"]["param_groups"][0]["params"]


@pytest.mark.parametrize(("kind", "minimum"), [("ppo", 195.0), ("dqn", 190.0)])
def test_fixture_plays_cartpole_greedily(tmp_path: Path, kind: str, minimum: float) -> None:
    cfg, policy, _ = loaded(kind, tmp_path)
    env = make_env_manager(cfg.env, cfg.env.manager, int(cfg.env.evaluator_env_num))
    try:
        returns = run_episodes(env, policy.eval_mode.forward, 10, seed=0)
    finally:
        env.close()
    assert len(returns) == 10
    assert np.mean(returns) >= minimum


def test_fixture_training_continues_from_its_optimizer_state(tmp_path: Path) -> None:
    """One DQN update after loading equals the same update by torch's Adam loaded with the same state."""
    _, policy, _ = loaded("dqn", tmp_path, backend="torch")
    theirs = fixture_state("dqn")
    reference = copy.deepcopy(policy.model)
    reference.load_state_dict(theirs["model"])
    torch_adam = torch.optim.Adam(reference.parameters(), lr=0.001, foreach=False)
    torch_adam.load_state_dict(theirs["optimizer"])

    gen = torch.Generator().manual_seed(3)
    obs = torch.randn(16, 4, generator=gen)
    action = torch.randint(0, 2, (16,), generator=gen)
    target = torch.randn(16, generator=gen)
    for model, step in ((policy.model, policy._optimizer), (reference, torch_adam)):
        q = model(obs).gather(1, action.unsqueeze(1)).squeeze(1)
        step.zero_grad()
        nn.functional.mse_loss(q, target).backward()
        step.step()
    assert_same(policy.model.state_dict(), reference.state_dict())


@pytest.mark.parametrize("kind", ["dqn", "ppo"])
def test_numpy_learning_continues_from_the_fixture_optimizer_state_as_torch_does(kind: str, tmp_path: Path) -> None:
    """After loading DI-engine's model and Adam state, a NumPy update lands where the torch update lands."""
    _, with_torch, _ = loaded(kind, tmp_path / "torch", backend="torch")
    _, with_numpy, _ = loaded(kind, tmp_path / "numpy", backend="numpy")
    theirs = fixture_state(kind)["optimizer"]["state"][0]
    gen = torch.Generator().manual_seed(3)
    obs = torch.randn(64, 4, generator=gen)
    action = torch.randint(0, 2, (64,), generator=gen)
    if kind == "dqn":
        batch = {"obs": obs, "action": action, "reward": torch.rand(64, generator=gen), "next_obs": obs.flip(0),
                 "gamma_n": torch.full((64,), 0.97), "done": torch.zeros(64, dtype=torch.bool)}  # fmt: skip
    else:
        batch = {"obs": obs, "action": action, "logp_old": torch.full((64,), -0.7),
                 "adv": torch.randn(64, generator=gen), "value_old": torch.randn(64, generator=gen),
                 "return": torch.randn(64, generator=gen)}  # fmt: skip
    with_torch.learn_mode.forward(batch)
    with_numpy.learn_mode.forward(batch)
    ours_torch, ours_numpy = with_torch.learn_mode.state_dict(), with_numpy.learn_mode.state_dict()
    for name, value in ours_torch["model"].items():
        torch.testing.assert_close(ours_numpy["model"][name], value, rtol=1e-4, atol=1e-6)
    step = ours_numpy["optimizer"]["state"][0]["step"]
    assert step == ours_torch["optimizer"]["state"][0]["step"] == theirs["step"] + 1
    for index, state in ours_torch["optimizer"]["state"].items():
        torch.testing.assert_close(ours_numpy["optimizer"]["state"][index]["exp_avg"], state["exp_avg"])


# --------------------------------------------------------------------------- numpy acting path


def test_numpy_actor_and_q_match_torch_forward_on_fixture_weights(tmp_path: Path) -> None:
    obs = cartpole_like_obs(64)
    ppo_cfg = compiled("ppo")
    ppo = POLICY_REGISTRY.get("ppo")(ppo_cfg.policy)
    ppo_actor = ppo.model.numpy_actor()  # taken before loading: it must see the loaded weights
    ppo.learn_mode.load_state_dict(fixture_state("ppo"))
    with torch.no_grad():
        logits = ppo.model.compute_actor(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(ppo_actor(obs), logits, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(ppo.eval_mode.forward(obs), logits.argmax(-1))

    dqn = POLICY_REGISTRY.get("dqn")(compiled("dqn").policy)
    dqn_q = dqn.model.numpy_q()
    dqn.learn_mode.load_state_dict(fixture_state("dqn"))
    with torch.no_grad():
        q = dqn.model(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(dqn_q(obs), q, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(dqn.eval_mode.forward(obs), q.argmax(-1))


def test_numpy_q_follows_optimizer_updates(tmp_path: Path) -> None:
    _, policy, _ = loaded("dqn", tmp_path)
    q_fn = policy.model.numpy_q()
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        batch = {
            "obs": torch.randn(32, 4, generator=gen),
            "action": torch.randint(0, 2, (32,), generator=gen),
            "reward": torch.rand(32, generator=gen) * 5,
            "gamma_n": torch.full((32,), 0.97),
            "done": torch.zeros(32, dtype=torch.bool),
            "next_obs": torch.randn(32, 4, generator=gen),
        }
        policy.learn_mode.forward(batch)
    obs = cartpole_like_obs(32, seed=1)
    with torch.no_grad():
        q = policy.model(torch.from_numpy(obs)).numpy()
    assert not np.allclose(q, 0)
    np.testing.assert_allclose(q_fn(obs), q, atol=1e-5, rtol=0)


@pytest.mark.parametrize("sigma_type", ["independent", "conditioned"])
def test_numpy_continuous_actor_matches_torch(sigma_type: str) -> None:
    torch.manual_seed(0)
    model = VAC(3, 2, action_space="continuous", encoder_hidden_size_list=[16, 16], sigma_type=sigma_type)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(0.1 * torch.randn_like(param))
    obs = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    mu_np, sigma_np = model.numpy_actor()(obs)
    with torch.no_grad():
        mu, sigma = model.compute_actor(torch.from_numpy(obs))
    assert mu_np.shape == sigma_np.shape == (10, 2)
    np.testing.assert_allclose(mu_np, mu.numpy(), atol=1e-5, rtol=0)
    np.testing.assert_allclose(sigma_np, sigma.numpy(), atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------- Adam


def small_net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


def adam_step(model: nn.Module, optimizer: Any, step: int, skip_last_layer: bool = False) -> None:
    gen = torch.Generator().manual_seed(100 + step)
    x, y = torch.randn(8, 4, generator=gen), torch.randn(8, 3, generator=gen)
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    if skip_last_layer:
        for param in model[2].parameters():
            param.grad = None
    optimizer.step()


@pytest.mark.parametrize(
    ("weight_decay", "sometimes_frozen"), [(0.0, False), (0.01, False), (0.0, True)], ids=["plain", "wd", "frozen"]
)
def test_adam_is_bit_identical_to_torch_adam(weight_decay: float, sometimes_frozen: bool) -> None:
    ours_model = small_net()
    torch_model = copy.deepcopy(ours_model)
    ours = Adam(ours_model.parameters(), lr=0.01, weight_decay=weight_decay)
    reference = torch.optim.Adam(torch_model.parameters(), lr=0.01, weight_decay=weight_decay, foreach=False)
    for step in range(30):
        skip = sometimes_frozen and step % 3 == 0
        adam_step(ours_model, ours, step, skip)
        adam_step(torch_model, reference, step, skip)
        for a, b in zip(ours_model.parameters(), torch_model.parameters()):
            assert torch.equal(a, b), f"step {step}"
    assert_same(ours.state_dict()["state"], reference.state_dict()["state"])


def test_adam_state_dict_loads_into_torch_adam_and_back() -> None:
    # ours -> torch
    ours_model = small_net()
    ours = Adam(ours_model.parameters(), lr=0.01)
    for step in range(5):
        adam_step(ours_model, ours, step)
    torch_model = copy.deepcopy(ours_model)
    reference = torch.optim.Adam(torch_model.parameters(), lr=0.01, foreach=False)
    reference.load_state_dict(ours.state_dict())
    for step in range(5, 15):
        adam_step(ours_model, ours, step)
        adam_step(torch_model, reference, step)
    assert_same(ours_model.state_dict(), torch_model.state_dict())

    # torch -> ours
    torch_model = small_net(seed=1)
    reference = torch.optim.Adam(torch_model.parameters(), lr=0.02, foreach=False)
    for step in range(5):
        adam_step(torch_model, reference, step)
    ours_model = copy.deepcopy(torch_model)
    ours = Adam(ours_model.parameters(), lr=0.5)
    ours.load_state_dict(reference.state_dict())
    assert ours.param_groups[0]["lr"] == 0.02
    for step in range(5, 15):
        adam_step(ours_model, ours, step)
        adam_step(torch_model, reference, step)
    assert_same(ours_model.state_dict(), torch_model.state_dict())
    assert_same(ours.state_dict()["state"], reference.state_dict()["state"])


def test_adam_state_dict_survives_a_weights_only_round_trip(tmp_path: Path) -> None:
    model = small_net()
    ours = Adam(model.parameters(), lr=0.01)
    for step in range(3):
        adam_step(model, ours, step)
    torch.save(ours.state_dict(), tmp_path / "adam.pt")
    again = Adam(copy.deepcopy(model).parameters(), lr=0.01)
    again.load_state_dict(torch.load(tmp_path / "adam.pt", weights_only=True))
    assert_same(again.state_dict(), ours.state_dict())
