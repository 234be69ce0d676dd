"""Specifications of ding_lite.envs: built-in physics, episodes, seeding, adapters and the vector manager."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch

from ding_lite.envs import (
    ENV_MANAGER_REGISTRY,
    ENV_REGISTRY,
    BaseEnv,
    CartPoleEnv,
    GymApiAdapter,
    PendulumEnv,
    SubprocessEnvManager,
    VectorEnvManager,
    adapt_env,
    make_env_manager,
)
from ding_lite.utils.registry import UnknownNameError


def rollout(env: BaseEnv, actions: list[Any]) -> list[tuple[list[float], float, bool, bool]]:
    """Step through ``actions``, resetting after every episode end; records (obs, reward, term, trunc)."""
    out = [(env.reset().tolist(), 0.0, False, False)]
    for a in actions:
        obs, r, te, tr = env.step(a)
        out.append((obs.tolist(), r, te, tr))
        if te or tr:
            out.append((env.reset().tolist(), 0.0, False, False))
    return out


def balance(obs: np.ndarray) -> int:
    return 1 if obs[2] + 0.5 * obs[3] + 0.01 * obs[0] + 0.1 * obs[1] > 0 else 0


# --------------------------------------------------------------------------- cartpole


def test_cartpole_seeding_is_reproducible_and_seed_dependent() -> None:
    actions = [i % 2 for i in range(300)]
    runs = []
    for seed in (3, 3, 4):
        env = CartPoleEnv({})
        env.seed(seed)
        runs.append(rollout(env, actions))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    first = np.array(runs[0][0][0])
    assert first.shape == (4,) and np.all(np.abs(first) <= 0.05)


def test_cartpole_obs_spec_and_action_types() -> None:
    env = CartPoleEnv({})
    assert env.spec.obs_shape == (4,) and env.spec.action_kind == "discrete" and env.spec.action_shape == 2
    env.seed(0)
    obs = env.reset()
    assert obs.dtype == np.float32 and obs.shape == (4,)
    obs2, reward, _, _ = env.step(np.int64(1))
    assert obs2.dtype == np.float32 and reward == 1.0
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        env.step(2)


def test_cartpole_balanced_episode_is_truncated_at_exactly_200_steps() -> None:
    env = CartPoleEnv({})
    env.seed(1)
    obs = env.reset()
    flags = []
    for _ in range(200):
        obs, reward, te, tr = env.step(balance(obs))
        flags.append((te, tr))
        assert reward == 1.0
    assert flags[-1] == (False, True)
    assert all(f == (False, False) for f in flags[:-1])
    with pytest.raises(RuntimeError):
        env.step(0)


def test_cartpole_pushed_one_way_terminates_early() -> None:
    env = CartPoleEnv({})
    env.seed(2)
    env.reset()
    for _ in range(50):
        obs, _, te, tr = env.step(1)
        if te:
            break
    assert te and not tr
    assert abs(obs[2]) > 12 * 2 * math.pi / 360 or abs(obs[0]) > 2.4


def test_cartpole_physics_matches_gymnasium() -> None:
    import gymnasium

    ref = gymnasium.make("CartPole-v1").unwrapped
    ref.reset(seed=0)
    env = CartPoleEnv({})
    env.seed(5)
    obs = env.reset()
    for action in [1, 0, 0, 1, 1, 1, 0, 1]:
        ref.state = np.array(obs, dtype=np.float64)  # type: ignore[attr-defined]
        expected, _, ref_term, _, _ = ref.step(action)
        obs, _, term, _ = env.step(action)
        np.testing.assert_allclose(obs, expected, rtol=1e-5, atol=1e-6)
        assert term == ref_term


# --------------------------------------------------------------------------- pendulum


def pendulum_at(th: float, thdot: float, cfg: dict[str, Any] | None = None) -> PendulumEnv:
    env = PendulumEnv(cfg or {})
    env.seed(0)
    env.reset()
    state = env.state_dict()
    state["physics"] = [th, thdot]
    env.load_state_dict(state)
    return env


def test_pendulum_hand_computed_step_and_act_scale() -> None:
    # th=1, thdot=0.5, u=1: cost = 1 + 0.1*0.25 + 0.001 = 1.026;
    # thdot' = 0.5 + (15 sin 1 + 3) * 0.05; th' = 1 + thdot' * 0.05
    new_thdot = 0.5 + (15.0 * math.sin(1.0) + 3.0) * 0.05
    new_th = 1.0 + new_thdot * 0.05
    expected = np.array([math.cos(new_th), math.sin(new_th), new_thdot], dtype=np.float32)
    for cfg, action in [({}, [1.0]), ({}, 1.0), ({"act_scale": True}, np.array([0.5], dtype=np.float32))]:
        obs, reward, te, tr = pendulum_at(1.0, 0.5, cfg).step(action)
        assert obs.dtype == np.float32 and obs.shape == (3,)
        np.testing.assert_allclose(obs, expected, rtol=1e-6)
        assert reward == pytest.approx(-1.026, abs=1e-12)
        assert not te and not tr
    # torque is clipped to 2 before the cost; angle is normalised in the cost (th = 2*pi + 0.1 ~ 0.1)
    _, reward, _, _ = pendulum_at(2 * math.pi + 0.1, 0.0).step([5.0])
    assert reward == pytest.approx(-(0.1**2 + 0.001 * 4.0), abs=1e-9)
    _, reward, _, _ = pendulum_at(0.0, 0.0, {"act_scale": True}).step([-1.0])
    assert reward == pytest.approx(-0.001 * 4.0)


def test_pendulum_matches_gymnasium_and_truncates_at_200() -> None:
    import gymnasium

    ref = gymnasium.make("Pendulum-v1").unwrapped
    ref.reset(seed=0)
    env = PendulumEnv({})
    assert env.spec.action_low == -2.0 and env.spec.action_high == 2.0 and env.spec.action_kind == "continuous"
    env.seed(7)
    env.reset()
    rng = np.random.default_rng(0)
    for t in range(1, 201):
        th, thdot = env.state_dict()["physics"]
        ref.state = np.array([th, thdot])  # type: ignore[attr-defined]
        u = rng.uniform(-2.5, 2.5, size=1).astype(np.float32)
        expected, ref_reward, _, _, _ = ref.step(u)
        obs, reward, te, tr = env.step(u)
        np.testing.assert_allclose(obs, expected, rtol=1e-5, atol=1e-5)
        assert reward == pytest.approx(float(ref_reward), rel=1e-5, abs=1e-5)
        assert not te and tr == (t == 200)


# --------------------------------------------------------------------------- manager


def test_manager_seeds_env_i_with_seed_plus_i() -> None:
    manager = make_env_manager({"type": "cartpole"}, {"type": "subprocess"}, 3)
    manager.seed(10)
    obs = manager.reset()
    assert obs.shape == (3, 4) and obs.dtype == np.float32
    for i in range(3):
        env = CartPoleEnv({})
        env.seed(10 + i)
        np.testing.assert_array_equal(obs[i], env.reset())
    manager.close()


def test_manager_auto_reset_and_episode_stats() -> None:
    n = 3
    manager = VectorEnvManager([CartPoleEnv({}) for _ in range(n)])
    shadows = [CartPoleEnv({}) for _ in range(n)]
    manager.seed(0)
    for i, env in enumerate(shadows):
        env.seed(i)
        env.reset()
    manager.reset()
    returns = [0.0] * n
    lengths = [0] * n
    rng = np.random.default_rng(1)
    seen_done = 0
    previous = None
    for _ in range(150):
        actions = rng.integers(0, 2, size=n)
        out = manager.step(actions)
        if previous is not None:
            snapshot = [a.copy() for a in previous]
        for i, env in enumerate(shadows):
            obs, r, te, tr = env.step(int(actions[i]))
            returns[i] += r
            lengths[i] += 1
            np.testing.assert_array_equal(out.next_obs[i], obs)
            assert out.reward[i] == r and out.done[i] == (te or tr) and out.truncated[i] == (tr and not te)
            if te or tr:
                seen_done += 1
                assert out.episode_return[i] == returns[i] and out.episode_length[i] == lengths[i]
                np.testing.assert_array_equal(out.obs[i], env.reset())
                returns[i], lengths[i] = 0.0, 0
            else:
                assert math.isnan(out.episode_return[i]) and out.episode_length[i] == 0
                np.testing.assert_array_equal(out.obs[i], obs)
        if previous is not None:  # arrays handed out earlier are never overwritten
            for old, kept in zip(previous, snapshot, strict=True):
                np.testing.assert_array_equal(old, kept)
        previous = [out.obs, out.next_obs, out.reward, out.done, out.episode_return]
    assert seen_done >= 5
    assert out.episode_return.dtype == np.float64 and out.episode_length.dtype == np.int64


@pytest.mark.parametrize("kind", ["cartpole", "pendulum"])
def test_manager_state_round_trip_through_torch_save_is_bit_identical(kind: str) -> None:
    n = 4
    rng = np.random.default_rng(0)
    if kind == "cartpole":
        actions = [rng.integers(0, 2, size=n) for _ in range(400)]
    else:
        actions = [rng.uniform(-1, 1, size=(n, 1)).astype(np.float32) for _ in range(450)]
    cfg = {"type": kind, "act_scale": True}
    manager = make_env_manager(cfg, {}, n)
    manager.seed(123)
    manager.reset()
    for a in actions[:37]:
        manager.step(a)
    buffer = io.BytesIO()
    torch.save(manager.state_dict(), buffer)

    def future(m: VectorEnvManager) -> list[np.ndarray]:
        steps = [m.step(a) for a in actions[37:]]
        fields = ("obs", "next_obs", "reward", "done", "truncated", "episode_return", "episode_length")
        return [np.stack([getattr(s, f) for s in steps]) for f in fields]

    expected = future(manager)
    buffer.seek(0)
    restored = make_env_manager(cfg, {}, n)
    restored.seed(999)
    restored.reset()
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    got = future(restored)
    assert np.isfinite(expected[5]).any()  # some episodes ended after the save
    for got_field, expected_field in zip(got, expected, strict=True):
        assert got_field.shape == expected_field.shape and got_field.tobytes() == expected_field.tobytes()


def test_manager_state_dict_refuses_stateless_envs() -> None:
    manager = make_env_manager({"type": "gym", "env_id": "CartPole-v1"}, {}, 2)
    manager.reset()
    with pytest.raises(NotImplementedError):
        manager.state_dict()
    manager.close()


# --------------------------------------------------------------------------- gymnasium and adapters


def test_gymnasium_env_runs_with_float32_obs_and_seeding() -> None:
    env = ENV_REGISTRY.get("gymnasium")({"env_id": "CartPole-v1", "max_episode_steps": 15})
    assert env.spec.action_kind == "discrete" and env.spec.action_shape == 2 and env.spec.obs_shape == (4,)
    assert env.spec.max_episode_steps == 15
    env.seed(4)
    first = env.reset()
    assert first.dtype == np.float32
    env.seed(4)
    np.testing.assert_array_equal(env.reset(), first)
    for t in range(1, 16):
        obs, reward, te, tr = env.step(np.int64(t % 2))
        assert obs.dtype == np.float32 and isinstance(reward, float)
        if te:
            break
    assert te or (tr and t == 15)
    pend = ENV_REGISTRY.get("gym")({"env_id": "Pendulum-v1"})
    assert pend.spec.action_kind == "continuous" and pend.spec.action_low == -2.0
    pend.reset()
    assert pend.step(np.array([0.5]))[0].dtype == np.float32


def test_unknown_gymnasium_id_raises_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="NoSuchEnv-v0"):
        ENV_REGISTRY.get("gymnasium")({"env_id": "NoSuchEnv-v0"})


class OldGymEnv:
    """Old Gym API: obs-only reset, 4-tuple step, seed(); action 1 ends the episode, limit of 5 steps."""

    def __init__(self) -> None:
        self.t = 0
        self.base = 0.0

    def seed(self, seed: int) -> None:
        self.base = float(seed)

    def reset(self) -> list[float]:
        self.t = 0
        return [self.base, 0.0]

    def step(self, action: int) -> tuple[list[float], float, bool, dict[str, Any]]:
        self.t += 1
        if action == 1:
            return [self.base, -1.0], 2.0, True, {}
        if self.t >= 5:
            return [self.base, float(self.t)], 1.0, True, {"TimeLimit.truncated": True}
        return [self.base, float(self.t)], 1.0, False, {}


class NewApiEnv:
    """Gymnasium API without being a gymnasium.Env."""

    class _Space:
        n = 3

    action_space = _Space()

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        return np.full((2,), 0.0 if seed is None else seed, dtype=np.float64), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        return np.ones(2), 0.5, False, action == 2, {}


def test_old_gym_api_through_adapter_and_manager() -> None:
    env = adapt_env(OldGymEnv())
    assert isinstance(env, GymApiAdapter)
    env.seed(7)
    np.testing.assert_array_equal(env.reset(), np.array([7.0, 0.0], dtype=np.float32))
    assert env.spec.obs_shape == (2,)
    assert env.step(1)[2:] == (True, False)
    env.reset()
    flags = [env.step(0)[2:] for _ in range(5)]
    assert flags[-1] == (False, True) and flags[:-1] == [(False, False)] * 4

    manager = make_env_manager({}, {"type": "base"}, 2, env_fn=OldGymEnv)
    manager.seed(3)
    assert manager.reset().tolist() == [[3.0, 0.0], [4.0, 0.0]]
    out = manager.step(np.array([1, 0]))
    assert out.done.tolist() == [True, False] and out.episode_return[0] == 2.0
    for _ in range(4):
        out = manager.step(np.array([0, 0]))
    assert out.truncated.tolist() == [False, True] and out.episode_length.tolist() == [0, 5]


def test_gymnasium_api_object_and_base_env_through_adapter() -> None:
    cartpole = CartPoleEnv({})
    assert adapt_env(cartpole) is cartpole
    env = adapt_env(NewApiEnv())
    env.seed(5)
    obs = env.reset()
    assert obs.dtype == np.float32 and obs.tolist() == [5.0, 5.0]
    assert env.reset().tolist() == [0.0, 0.0]  # the seed applies to one reset only
    assert env.spec.action_kind == "discrete" and env.spec.action_shape == 3
    assert env.step(2)[1:] == (0.5, False, True)
    with pytest.raises(TypeError):
        adapt_env(object())


def test_real_gymnasium_env_through_env_fn_with_continuous_actions() -> None:
    import gymnasium

    manager = make_env_manager({}, {}, 2, env_fn=lambda: gymnasium.make("Pendulum-v1"))
    spec = manager.spec
    assert (spec.action_kind, spec.action_shape, spec.action_low) == ("continuous", 1, -2.0)
    assert spec.max_episode_steps == 200
    manager.seed(0)
    manager.reset()
    for _ in range(200):
        out = manager.step(np.zeros((2, 1), dtype=np.float32))
    assert out.obs.dtype == np.float32 and out.truncated.all() and (out.episode_length == 200).all()


def test_unknown_types_list_known_ones() -> None:
    with pytest.raises(UnknownNameError, match="cartpole"):
        make_env_manager({"type": "no_such_env"}, {}, 1)
    with pytest.raises(UnknownNameError, match="subprocess"):
        make_env_manager({"type": "cartpole"}, {"type": "no_such_manager"}, 1)
    for name in ("base", "base_v2"):
        assert ENV_MANAGER_REGISTRY.get(name) is VectorEnvManager
    for name in ("subprocess", "async_subprocess"):  # envs in worker processes: test_subprocess_env.py
        assert ENV_MANAGER_REGISTRY.get(name) is SubprocessEnvManager
    assert PendulumEnv.default_config() == {"act_scale": False, "extra_action_dims": 0}
    assert ENV_REGISTRY.get("gym").default_config() == {"env_id": "", "max_episode_steps": None}
    assert VectorEnvManager.default_config()["auto_reset"] is True


def test_import_does_not_pull_gymnasium_or_torch() -> None:
    code = "import sys, ding_lite.envs; print('gymnasium' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_cartpole_extra_actions_push_with_zero_force() -> None:
    pushed, idle = CartPoleEnv({"extra_actions": 1}), CartPoleEnv({"extra_actions": 1})
    assert pushed.spec.action_shape == 3
    for env in (pushed, idle):
        env.seed(3)
        env.reset()
    obs_push = pushed.step(1)[0]
    obs_idle = idle.step(2)[0]
    assert obs_idle[1] != obs_push[1]  # cart velocity: the no-op leaves it closer to its start
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        idle.step(3)


def test_pendulum_extra_action_dims_are_ignored() -> None:
    plain, grown = PendulumEnv({"act_scale": True}), PendulumEnv({"act_scale": True, "extra_action_dims": 1})
    assert grown.spec.action_shape == 2
    plain.seed(5)
    grown.seed(5)
    plain.reset()
    grown.reset()
    a = plain.step(np.array([0.3]))
    b = grown.step(np.array([0.3, -0.9]))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
