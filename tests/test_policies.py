"""Specifications of the policies and their data: PPO's minibatches and GAE (checked against a hand
computation), PPO updates for discrete and continuous actions, DQN's exploration schedule, target
network and seeded collection, the replay buffer and n-step transitions."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from learn_helpers import cartpole_rollout, dqn_batch

from ding_lite.config import compile_config, read_config
from ding_lite.data import NStepTransitions, ReplayBuffer
from ding_lite.envs import make_env_manager
from ding_lite.policy import POLICY_REGISTRY, Policy
from ding_lite.policy.dqn import epsilon_at
from ding_lite.utils.log import ExperimentLogger
from ding_lite.worker import SampleCollector

CONFIG_DIR = Path(__file__).resolve().parents[1] / "dizoo_configs"
PPO_BATCH_KEYS = {"obs", "action", "logp_old", "adv", "value_old", "return"}


def compiled(kind: str, create_changes: dict[str, Any] | None = None, **changes: Any) -> Any:
    """The dizoo cartpole config of ``kind`` with ``section__key=value`` edits of ``main_config['policy']``."""
    main, create = read_config(CONFIG_DIR / f"cartpole_{kind}_config.py")
    main = copy.deepcopy(main)
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        node = main["policy"]
        for part in path:
            node = node.setdefault(part, {})
        node[key] = value
    create = {**create, **(create_changes or {})}
    return compile_config((main, create), save_cfg=False)


def make_policy(cfg: Any, torch_seed: int = 0) -> Policy:
    torch.manual_seed(torch_seed)
    return POLICY_REGISTRY.get(str(cfg.policy.type))(cfg.policy)


def same_state(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- PPO


@pytest.mark.parametrize(("steps", "envs", "batch_size", "epochs"), [(32, 8, 64, 2), (10, 8, 64, 3), (5, 3, 4, 1)])
def test_ppo_train_batches_count_and_keys(steps: int, envs: int, batch_size: int, epochs: int) -> None:
    cfg = compiled("ppo", learn__batch_size=batch_size, learn__epoch_per_collect=epochs)
    policy = make_policy(cfg)
    batches = list(policy.learn_mode.train_batches(cartpole_rollout(steps, envs)))
    total = steps * envs
    assert len(batches) == epochs * math.ceil(total / batch_size)
    for batch in batches:
        assert set(batch) == PPO_BATCH_KEYS
        size = len(batch["obs"])
        assert 0 < size <= batch_size
        assert batch["obs"].shape == (size, 4)
        for key in PPO_BATCH_KEYS - {"obs"}:
            assert batch[key].shape == (size,)
    # every epoch covers every transition once
    per_epoch = len(batches) // epochs
    for epoch in range(epochs):
        seen = torch.cat([b["obs"] for b in batches[epoch * per_epoch : (epoch + 1) * per_epoch]])
        assert seen.shape[0] == total
        expected = torch.from_numpy(cartpole_rollout(steps, envs)["obs"].reshape(total, 4))
        assert torch.equal(seen[seen[:, 0].argsort()], expected[expected[:, 0].argsort()])


# env 0: no episode end; env 1: its episode ends at t=1 (next_obs there is terminal)
GAE_REWARD = [[1.0, 1.0], [2.0, 0.5], [3.0, 2.0]]
GAE_DONE = [[False, False], [False, True], [False, False]]
GAE_VALUE = [[0.5, 0.2], [1.0, 0.4], [1.5, -0.3]]
GAE_NEXT_VALUE = [[1.0, 0.4], [1.5, 9.0], [2.0, 0.1]]
# gamma 0.9, lambda 0.95 (gamma * lambda = 0.855); delta_t = r_t + 0.9 * (1 - d_t) * v'_t - v_t
#   env 0: delta = 1.4, 2.35, 3.3        A_2 = 3.3, A_1 = 2.35 + 0.855 * 3.3 = 5.1715,
#                                        A_0 = 1.4 + 0.855 * 5.1715 = 5.8216325
#   env 1: delta = 1.16, 0.1, 2.39       A_2 = 2.39, A_1 = 0.1 (episode ended), A_0 = 1.16 + 0.855 * 0.1 = 1.2455
GAE_ADV = [[5.8216325, 1.2455], [5.1715, 0.1], [3.3, 2.39]]
# ignore_done=True bootstraps through the end: env 1 delta_1 = 0.5 + 0.9 * 9.0 - 0.4 = 8.2,
#   A_1 = 8.2 + 0.855 * 2.39 = 10.24345, A_0 = 1.16 + 0.855 * 10.24345 = 9.91814975
GAE_ADV_IGNORE_DONE = [[5.8216325, 9.91814975], [5.1715, 10.24345], [3.3, 2.39]]


def gae_rollout() -> dict[str, np.ndarray]:
    """Observations carry the critic's value in column 0 and a row id in column 1."""
    obs = np.zeros((3, 2, 4), dtype=np.float32)
    next_obs = np.zeros((3, 2, 4), dtype=np.float32)
    obs[..., 0] = GAE_VALUE
    next_obs[..., 0] = GAE_NEXT_VALUE
    obs[..., 1] = np.arange(6).reshape(3, 2)
    return {
        "obs": obs,
        "action": np.array([[0, 1], [1, 1], [0, 0]]),
        "reward": np.array(GAE_REWARD, dtype=np.float32),
        "done": np.array(GAE_DONE),
        "next_obs": next_obs,
    }


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("ignore_done", [False, True])
def test_ppo_gae_matches_hand_computation(monkeypatch: pytest.MonkeyPatch, ignore_done: bool, backend: str) -> None:
    cfg = compiled(
        "ppo",
        learn__backend=backend,
        learn__value_norm=False,
        learn__ignore_done=ignore_done,
        learn__batch_size=64,
        learn__epoch_per_collect=1,
        collect__discount_factor=0.9,
        collect__gae_lambda=0.95,
    )
    policy = make_policy(cfg)
    monkeypatch.setattr(policy, "_values", lambda obs: obs[:, 0].copy())
    (batch,) = list(policy.learn_mode.train_batches(gae_rollout()))
    order = batch["obs"][:, 1].argsort()
    adv, value, ret = batch["adv"][order], batch["value_old"][order], batch["return"][order]
    expected_adv = torch.tensor(GAE_ADV_IGNORE_DONE if ignore_done else GAE_ADV).reshape(6)
    expected_value = torch.tensor(GAE_VALUE).reshape(6)
    torch.testing.assert_close(adv, expected_adv, rtol=0, atol=1e-5)
    torch.testing.assert_close(value, expected_value, rtol=0, atol=1e-6)
    torch.testing.assert_close(ret, expected_adv + expected_value, rtol=0, atol=1e-5)

    with torch.no_grad():
        logits = policy.model.compute_actor(batch["obs"])
    expected_logp = torch.log_softmax(logits, -1).gather(1, batch["action"].long().unsqueeze(1)).squeeze(1)
    torch.testing.assert_close(batch["logp_old"], expected_logp)


def test_ppo_updates_on_a_fixed_batch_improve_the_objective() -> None:
    cfg = compiled("ppo")
    policy = make_policy(cfg)
    batch = next(iter(policy.learn_mode.train_batches(cartpole_rollout(16, 8))))
    before = copy.deepcopy(policy.model.state_dict())
    logs = [policy.learn_mode.forward(batch) for _ in range(6)]
    assert set(logs[0]) == set(policy.learn_mode.monitor_vars())
    assert all(math.isfinite(v) for log in logs for v in log.values())
    assert logs[0]["policy_loss"] == pytest.approx(0.0, abs=1e-5)  # ratio 1, normalised advantages
    assert logs[-1]["policy_loss"] < logs[0]["policy_loss"] - 1e-3
    assert logs[-1]["approx_kl"] != 0.0
    after = policy.model.state_dict()
    assert not torch.equal(after["encoder.init.weight"], before["encoder.init.weight"])
    assert not torch.equal(after["actor_head.Q.1.0.weight"], before["actor_head.Q.1.0.weight"])
    assert not torch.equal(after["critic_head.last.weight"], before["critic_head.last.weight"])


@pytest.mark.parametrize("sigma_type", ["independent", "conditioned"])
def test_continuous_ppo_collects_float_actions_and_trains(tmp_path: Path, sigma_type: str) -> None:
    cfg = compiled(
        "ppo",
        create_changes={"env": {"type": "pendulum"}},
        action_space="continuous",
        model__obs_shape=3,
        model__action_shape=1,
        model__action_space="continuous",
        model__sigma_type=sigma_type,
        learn__batch_size=16,
        learn__epoch_per_collect=1,
    )
    policy = make_policy(cfg)
    policy.seed(0)
    env = make_env_manager(cfg.env, cfg.env.manager, 2)
    env.seed(0)
    collector = SampleCollector(
        cfg.policy.collect.collector, env, policy, ExperimentLogger(tmp_path, tensorboard=False)
    )
    rollout = collector.collect_rollout(16, train_iter=0)
    env.close()
    assert rollout["obs"].shape == (8, 2, 3)
    assert rollout["action"].shape == (8, 2, 1) and rollout["action"].dtype == np.float32
    assert len(np.unique(rollout["action"])) == 16  # sampled, not a constant
    assert collector.env_step == 16

    greedy = policy.eval_mode.forward(rollout["obs"][0])
    assert greedy.shape == (2, 1) and greedy.dtype == np.float32

    batches = list(policy.learn_mode.train_batches(rollout))
    assert len(batches) == 1 and batches[0]["action"].shape == (16, 1)
    before = copy.deepcopy(policy.model.state_dict())
    log = policy.learn_mode.forward(batches[0])
    assert all(math.isfinite(v) for v in log.values())
    after = policy.model.state_dict()
    assert any(not torch.equal(after[k], before[k]) for k in after if k.startswith("actor_head."))


# --------------------------------------------------------------------------- DQN


def test_epsilon_schedule_follows_di_engine() -> None:
    exp = dict(type="exp", start=0.95, end=0.1, decay=10000)
    for step in (0, 1, 640, 10000, 50000, 10**7):
        assert epsilon_at(exp, step) == pytest.approx(0.1 + 0.85 * math.exp(-step / 10000), rel=1e-12)
    assert epsilon_at(exp, 0) == pytest.approx(0.95)
    linear = dict(type="linear", start=1.0, end=0.05, decay=1000)
    assert epsilon_at(linear, 0) == pytest.approx(1.0)
    assert epsilon_at(linear, 500) == pytest.approx(0.525)
    assert epsilon_at(linear, 5000) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="cosine"):
        epsilon_at(dict(type="cosine", start=1.0, end=0.0, decay=1), 0)


def test_dqn_collect_explores_at_the_rate_of_the_env_step_epsilon() -> None:
    policy = make_policy(compiled("dqn"))
    policy.seed(0)
    obs = np.random.default_rng(0).standard_normal((20000, 4)).astype(np.float32)
    greedy = policy.eval_mode.forward(obs)
    for env_step in (0, 10000, 10**6):
        eps = epsilon_at(dict(type="exp", start=0.95, end=0.1, decay=10000), env_step)
        action = policy.collect_mode.forward(obs, env_step=env_step)["action"]
        # a random action differs from the greedy one half of the time (2 actions)
        assert np.mean(action != greedy) == pytest.approx(eps / 2, abs=0.015)


def test_dqn_zero_epsilon_collect_equals_greedy_eval() -> None:
    cfg = compiled("dqn", other__eps=dict(type="exp", start=0.0, end=0.0, decay=10000))
    policy = make_policy(cfg)
    obs = np.random.default_rng(1).standard_normal((256, 4)).astype(np.float32)
    greedy = policy.eval_mode.forward(obs)
    with torch.no_grad():
        assert np.array_equal(greedy, policy.model(torch.from_numpy(obs)).argmax(-1).numpy())
    for env_step in (0, 100, 10**5):
        assert np.array_equal(policy.collect_mode.forward(obs, env_step=env_step)["action"], greedy)


@pytest.mark.parametrize("kind", ["dqn", "ppo"])
def test_seeded_collect_is_reproducible(kind: str) -> None:
    policy = make_policy(compiled(kind))
    obs = np.random.default_rng(2).standard_normal((64, 4)).astype(np.float32)

    def actions(seed: int) -> list[np.ndarray]:
        policy.seed(seed)
        return [policy.collect_mode.forward(obs, env_step=step)["action"] for step in (0, 8, 16)]

    first, again, other = actions(7), actions(7), actions(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_dqn_target_network_is_copied_every_target_update_freq_iterations() -> None:
    policy = make_policy(compiled("dqn", learn__target_update_freq=3))
    initial = copy.deepcopy(policy.model.state_dict())
    assert same_state(policy.learn_mode.state_dict()["target_model"], initial)
    snapshot = initial
    for it in range(1, 8):
        policy.learn_mode.forward(dqn_batch(it, size=32, done_rate=0.1))
        model = policy.model.state_dict()
        target = policy.learn_mode.state_dict()["target_model"]
        if it % 3 == 0:
            snapshot = copy.deepcopy(model)
            assert same_state(target, model)
        else:
            assert same_state(target, snapshot)
            assert not same_state(target, model)
    assert not same_state(snapshot, initial)


def test_dqn_update_uses_double_q_target_without_bootstrap_at_done() -> None:
    cfg = compiled("dqn")
    policy = make_policy(cfg, torch_seed=0)
    # a target net that ranks the actions the other way round: max-Q and double-Q targets differ everywhere
    target_net = copy.deepcopy(policy.model)
    with torch.no_grad():
        target_net.head.A[1][0].weight.neg_()
        target_net.head.A[1][0].bias.neg_()
    state = policy.learn_mode.state_dict()
    state["target_model"] = target_net.state_dict()
    policy.learn_mode.load_state_dict(state)
    batch = dqn_batch(0, size=64, done_rate=0.1)
    batch["done"] = torch.tensor([True, False] * 32)
    with torch.no_grad():
        next_action = policy.model(batch["next_obs"]).argmax(-1, keepdim=True)  # chosen by the online net
        bootstrap = target_net(batch["next_obs"]).gather(1, next_action).squeeze(1)  # valued by the target net
        target = batch["reward"] + batch["gamma_n"] * (~batch["done"]).float() * bootstrap
        q = policy.model(batch["obs"]).gather(1, batch["action"].unsqueeze(1)).squeeze(1)
        expected_loss = torch.nn.functional.mse_loss(q, target).item()
        max_q = target_net(batch["next_obs"]).max(-1).values
        max_q_target = batch["reward"] + batch["gamma_n"] * (~batch["done"]).float() * max_q
        assert abs(torch.nn.functional.mse_loss(q, max_q_target).item() - expected_loss) > 1e-3 * expected_loss
        assert torch.all(next_action != target_net(batch["next_obs"]).argmax(-1, keepdim=True))
    log = policy.learn_mode.forward(batch)
    assert log["total_loss"] == pytest.approx(expected_loss, rel=1e-6)


# --------------------------------------------------------------------------- replay buffer


def buffer(capacity: int, seed: int = 0) -> ReplayBuffer:
    return ReplayBuffer(dict(ReplayBuffer.default_config(), replay_buffer_size=capacity), seed=seed)


def transitions(start: int, count: int) -> dict[str, np.ndarray]:
    ids = np.arange(start, start + count)
    return {
        "obs": np.repeat(ids[:, None], 4, axis=1).astype(np.float32),
        "action": ids.astype(np.int64),
        "reward": ids.astype(np.float32) / 10,
        "gamma_n": np.full(count, 0.97, dtype=np.float32),
        "done": ids % 3 == 0,
        "next_obs": np.repeat(ids[:, None], 4, axis=1).astype(np.float32) + 0.5,
    }


def test_buffer_overwrites_oldest_first() -> None:
    buf = buffer(5)
    buf.push(transitions(0, 3))
    assert len(buf) == 3
    buf.push(transitions(3, 4))
    assert len(buf) == 5
    assert buf.state_dict()["data"]["action"].tolist() == [5, 6, 2, 3, 4]
    assert set(buf.sample(2000)["action"].tolist()) == {2, 3, 4, 5, 6}
    buf.push(transitions(7, 1))
    assert set(buf.sample(2000)["action"].tolist()) == {3, 4, 5, 6, 7}


def test_buffer_sample_shapes_dtypes_and_consistent_rows() -> None:
    buf = buffer(100)
    buf.push(transitions(0, 40))
    batch = buf.sample(32)
    assert set(batch) == {"obs", "action", "reward", "gamma_n", "done", "next_obs"}
    assert batch["obs"].shape == (32, 4) and batch["obs"].dtype == torch.float32
    assert batch["next_obs"].shape == (32, 4) and batch["next_obs"].dtype == torch.float32
    assert batch["action"].shape == (32,) and batch["action"].dtype == torch.int64
    assert batch["reward"].dtype == torch.float32 and batch["gamma_n"].dtype == torch.float32
    assert batch["done"].shape == (32,) and batch["done"].dtype == torch.bool
    ids = batch["action"]
    assert torch.equal(batch["obs"][:, 0], ids.float())
    assert torch.equal(batch["done"], ids % 3 == 0)
    assert torch.equal(batch["next_obs"][:, 3], ids.float() + 0.5)


def test_buffer_sampling_is_seeded() -> None:
    draws = []
    for seed in (3, 3, 4):
        buf = buffer(50, seed=seed)
        buf.push(transitions(0, 50))
        draws.append([buf.sample(16)["action"] for _ in range(3)])
    assert all(torch.equal(a, b) for a, b in zip(draws[0], draws[1]))
    assert not all(torch.equal(a, b) for a, b in zip(draws[0], draws[2]))


def test_empty_buffer_refuses_to_sample() -> None:
    with pytest.raises(RuntimeError, match="empty"):
        buffer(5).sample(1)


def test_buffer_state_dict_round_trip_gives_identical_future(tmp_path: Path) -> None:
    original = buffer(5, seed=1)
    original.push(transitions(0, 7))
    original.sample(4)
    torch.save(original.state_dict(), tmp_path / "buffer.pt")
    restored = buffer(5, seed=99)
    restored.load_state_dict(torch.load(tmp_path / "buffer.pt", weights_only=True))
    assert len(restored) == len(original) == 5
    for round_ in range(3):
        a, b = original.sample(8), restored.sample(8)
        assert all(torch.equal(a[k], b[k]) for k in a), round_
    original.push(transitions(7, 2))
    restored.push(transitions(7, 2))
    assert original.state_dict()["data"]["action"].tolist() == restored.state_dict()["data"]["action"].tolist()
    a, b = original.sample(8), restored.sample(8)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_partly_filled_buffer_round_trip(tmp_path: Path) -> None:
    original = buffer(10, seed=2)
    original.push(transitions(0, 3))
    torch.save(original.state_dict(), tmp_path / "buffer.pt")
    restored = buffer(10)
    restored.load_state_dict(torch.load(tmp_path / "buffer.pt", weights_only=True))
    original.push(transitions(3, 9))
    restored.push(transitions(3, 9))
    assert restored.state_dict()["data"]["action"].tolist() == [10, 11, 2, 3, 4, 5, 6, 7, 8, 9]
    assert torch.equal(original.sample(20)["action"], restored.sample(20)["action"])


# --------------------------------------------------------------------------- n-step transitions


def step_obs(*ids: int) -> np.ndarray:
    return np.array([[float(i), 0.0] for i in ids], dtype=np.float32)


def test_nstep_three_discounted_sums_and_flush_at_episode_end() -> None:
    gamma = 0.5
    nstep = NStepTransitions(env_num=1, nstep=3, gamma=gamma)
    rewards = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    dones = [False, False, False, False, True, False, False, False]
    out = []
    for t, (r, d) in enumerate(zip(rewards, dones)):
        out.append(nstep.add(step_obs(t), np.array([t % 2]), np.array([r]), np.array([d]), step_obs(100 + t)))
    assert out[0] is None and out[1] is None
    first = out[2]
    assert first is not None
    assert first["obs"][:, 0].tolist() == [0.0] and first["action"].tolist() == [0]
    assert first["reward"].tolist() == [1.0 + 0.5 * 2.0 + 0.25 * 3.0]  # 2.75
    assert first["gamma_n"].tolist() == [0.125] and first["done"].tolist() == [False]
    assert first["next_obs"][:, 0].tolist() == [102.0]

    second = out[3]
    assert second is not None and second["obs"][:, 0].tolist() == [1.0]
    assert second["reward"].tolist() == [2.0 + 0.5 * 3.0 + 0.25 * 4.0]  # 4.5
    assert second["next_obs"][:, 0].tolist() == [103.0]

    flushed = out[4]  # the episode ends: the three open windows leave, shortest last
    assert flushed is not None
    assert flushed["obs"][:, 0].tolist() == [2.0, 3.0, 4.0]
    assert flushed["reward"].tolist() == [3.0 + 0.5 * 4.0 + 0.25 * 5.0, 4.0 + 0.5 * 5.0, 5.0]  # 6.25, 6.5, 5
    assert flushed["gamma_n"].tolist() == [0.125, 0.25, 0.5]
    assert flushed["done"].tolist() == [True, True, True]
    assert flushed["next_obs"][:, 0].tolist() == [104.0, 104.0, 104.0]

    # the next episode starts empty: its first window fills at its third step
    assert out[5] is None and out[6] is None
    fresh = out[7]
    assert fresh is not None and fresh["obs"][:, 0].tolist() == [5.0]
    assert fresh["reward"].tolist() == [6.0 + 0.5 * 7.0 + 0.25 * 8.0]
    assert fresh["done"].tolist() == [False]


def test_nstep_keeps_envs_apart() -> None:
    nstep = NStepTransitions(env_num=2, nstep=3, gamma=0.5)
    # env 0 runs on; env 1's episode ends at its second step
    first = nstep.add(step_obs(0, 10), np.array([0, 1]), np.array([1.0, 10.0]), np.array([False, False]),
                      step_obs(100, 110))  # fmt: skip
    assert first is None
    second = nstep.add(step_obs(1, 11), np.array([1, 0]), np.array([2.0, 20.0]), np.array([False, True]),
                       step_obs(101, 111))  # fmt: skip
    assert second is not None
    assert second["obs"][:, 0].tolist() == [10.0, 11.0]
    assert second["action"].tolist() == [1, 0]
    assert second["reward"].tolist() == [10.0 + 0.5 * 20.0, 20.0]
    assert second["gamma_n"].tolist() == [0.25, 0.5]
    assert second["done"].tolist() == [True, True]
    assert second["next_obs"][:, 0].tolist() == [111.0, 111.0]
    third = nstep.add(step_obs(2, 12), np.array([0, 0]), np.array([3.0, 30.0]), np.array([False, False]),
                      step_obs(102, 112))  # fmt: skip
    assert third is not None
    assert third["obs"][:, 0].tolist() == [0.0]
    assert third["reward"].tolist() == [1.0 + 0.5 * 2.0 + 0.25 * 3.0]
    assert third["next_obs"][:, 0].tolist() == [102.0]


def test_nstep_one_emits_every_step() -> None:
    nstep = NStepTransitions(env_num=2, nstep=1, gamma=0.97)
    done = np.array([False, True])
    out = nstep.add(step_obs(0, 1), np.array([1, 0]), np.array([1.0, 2.0]), done, step_obs(5, 6))
    assert out is not None
    assert out["reward"].dtype == np.float32 and out["reward"].tolist() == [1.0, 2.0]
    assert out["gamma_n"].dtype == np.float32 and out["gamma_n"].tolist() == pytest.approx([0.97, 0.97])
    assert out["done"].tolist() == [False, True]
    done[1] = False
    assert out["done"].tolist() == [False, True]  # a copy, not the caller's array
    assert out["next_obs"][:, 0].tolist() == [5.0, 6.0]
