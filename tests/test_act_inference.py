"""ACT inference: the n_action_steps queue (one model call every n calls) and temporal ensembling (LEROBOT.md 14.9),
on a stub network whose chunks are known, so every expected action is written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import Tensor

from ding_lite.act import ACTConfig, ACTPolicy, Feature

OBS = {"observation.state": np.zeros((2, 3), np.float32), "observation.environment_state": np.zeros((2, 2), np.float32)}


def stub_policy(
    monkeypatch: pytest.MonkeyPatch, chunk_size: int, n_action_steps: int, coeff: float | None
) -> tuple[ACTPolicy, list[int]]:
    """A policy whose network returns, on its k-th call (k = 0, 1, ...), the normalised chunk
    a[b, i] = (10 k + i + 100 b, -(10 k + i + 100 b)) for batch row b and chunk step i. Action stats are mean 0,
    std 1, so un-normalising (y * 1 + 0) leaves the numbers exact. Also returns the list of calls made so far."""
    config = ACTConfig(
        input_features={
            "observation.state": Feature("STATE", (3,)),
            "observation.environment_state": Feature("ENV", (2,)),
        },
        output_features={"action": Feature("ACTION", (2,))},
        chunk_size=chunk_size,
        n_action_steps=n_action_steps,
        temporal_ensemble_coeff=coeff,
        dim_model=8,
        n_heads=2,
        dim_feedforward=8,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=2,
    )
    stats = {
        "observation.state": {"mean": [0.0] * 3, "std": [1.0] * 3},
        "action": {"mean": [0.0, 0.0], "std": [1.0, 1.0]},
    }
    policy = ACTPolicy.from_stats(config, stats)
    calls: list[int] = []

    def fake_forward(
        state: Tensor, env_state: Tensor, images: list[Tensor], *rest: Tensor
    ) -> tuple[Tensor, tuple[None, None]]:
        k = len(calls)
        calls.append(k)
        value = 10.0 * k + torch.arange(chunk_size)[None, :] + 100.0 * torch.arange(state.shape[0])[:, None]
        return torch.stack([value, -value], dim=-1), (None, None)

    monkeypatch.setattr(policy.model, "forward", fake_forward)
    return policy, calls


def first_column(action: Tensor) -> list[float]:
    """Batch row 0's first action dimension; row 1 is row 0 + 100 and the second dimension its negative."""
    assert action.shape == (2, 2)
    assert torch.allclose(action[1, 0], action[0, 0] + 100) and torch.equal(action[:, 1], -action[:, 0])
    return [float(action[0, 0])]


def test_queue_calls_the_model_once_every_n_action_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    policy, calls = stub_policy(monkeypatch, chunk_size=5, n_action_steps=3, coeff=None)
    got = [first_column(policy.select_action(OBS))[0] for _ in range(7)]
    # chunk 0 = 0..4 -> its first 3 steps; chunk 1 = 10..14 -> 10, 11, 12; chunk 2 = 20..24 -> 20
    assert got == [0, 1, 2, 10, 11, 12, 20]
    assert calls == [0, 1, 2]  # calls 1, 4 and 7 ran the model

    policy.reset()  # forget the 21, 22 still queued: the next call runs the model
    assert first_column(policy.select_action(OBS)) == [30]
    assert calls == [0, 1, 2, 3]


def test_temporal_ensembling_matches_hand_computed_weighted_averages(monkeypatch: pytest.MonkeyPatch) -> None:
    # coeff = ln 2 gives weights w = exp(-coeff * m) = 1, 1/2, 1/4 for the oldest (m = 0), next, newest prediction.
    policy, calls = stub_policy(monkeypatch, chunk_size=3, n_action_steps=1, coeff=math.log(2))
    got = [first_column(policy.select_action(OBS))[0] for _ in range(5)]
    # Step t is predicted by call k at chunk position t - k (value 10 k + t - k), for k = max(0, t-2)..t:
    expected = [
        0.0,  # t=0: call 0 pos 0 = 0 alone
        (1 * 1 + 10 * 0.5) / 1.5,  # t=1: call 0 pos 1 = 1 (w 1), call 1 pos 0 = 10 (w 1/2) -> 4
        (2 * 1 + 11 * 0.5 + 20 * 0.25) / 1.75,  # t=2: 2, 11, 20 -> 7.142857
        (12 * 1 + 21 * 0.5 + 30 * 0.25) / 1.75,  # t=3: call 0 has no step 3; 12, 21, 30 -> 17.142857
        (22 * 1 + 31 * 0.5 + 40 * 0.25) / 1.75,  # t=4: 22, 31, 40 -> 27.142857
    ]
    # float32 arithmetic on values below 50 with weights 1, 1/2, 1/4 (exact in binary): rounding error < 1e-5.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert calls == [0, 1, 2, 3, 4]  # ensembling runs the model on every call

    policy.reset()  # the ensemble is forgotten: the next action is the new chunk's first step, alone
    assert first_column(policy.select_action(OBS)) == [50]


def test_ensembling_with_coeff_zero_is_a_plain_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    policy, _ = stub_policy(monkeypatch, chunk_size=4, n_action_steps=1, coeff=0.0)
    got = [first_column(policy.select_action(OBS))[0] for _ in range(6)]
    # equal weights: t=3 averages 3, 12, 21, 30 (= 16.5); t=4 averages 13, 22, 31, 40 (= 26.5; call 0 has no step 4)
    expected = [
        0.0,
        (1 + 10) / 2,
        (2 + 11 + 20) / 3,
        (3 + 12 + 21 + 30) / 4,
        (13 + 22 + 31 + 40) / 4,
        (23 + 32 + 41 + 50) / 4,
    ]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)  # float32 means of small integers


def test_select_action_takes_single_unbatched_observations(monkeypatch: pytest.MonkeyPatch) -> None:
    policy, _ = stub_policy(monkeypatch, chunk_size=5, n_action_steps=5, coeff=None)
    action = policy.select_action({"observation.state": [0.0, 0.0, 0.0], "observation.environment_state": np.zeros(2)})
    assert action.shape == (1, 2) and action.dtype == torch.float32


# -- one queue / ensemble per env: envs whose episodes begin at different steps ---------------------------------
def test_per_env_queues_in_step_match_lerobots_single_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    from ding_lite.act.per_env import PerEnvActions

    single, _ = stub_policy(monkeypatch, chunk_size=5, n_action_steps=3, coeff=None)
    per_env_policy, calls = stub_policy(monkeypatch, chunk_size=5, n_action_steps=3, coeff=None)
    per_env = PerEnvActions(per_env_policy, n_envs=2)
    for _ in range(7):
        torch.testing.assert_close(per_env.act(OBS), single.select_action(OBS), rtol=0, atol=0)
    assert calls == [0, 1, 2]  # steps 0, 3 and 6: one model call per n_action_steps, as LeRobot


def test_a_restarted_env_takes_a_new_chunk_while_the_other_keeps_its_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    from ding_lite.act.per_env import PerEnvActions

    policy, calls = stub_policy(monkeypatch, chunk_size=5, n_action_steps=3, coeff=None)
    per_env = PerEnvActions(policy, n_envs=2)
    rows = [per_env.act(OBS)[:, 0].tolist()]  # call 0: row 0 takes 0, row 1 takes 100
    per_env.restart([1])  # env 1 began a new episode
    rows.append(per_env.act(OBS)[:, 0].tolist())  # call 1 for row 1 (110); row 0 continues call 0's queue (1)
    rows.append(per_env.act(OBS)[:, 0].tolist())  # row 0: 2; row 1: 111
    rows.append(per_env.act(OBS)[:, 0].tolist())  # row 0 empty -> call 2 (20); row 1: 112
    rows.append(per_env.act(OBS)[:, 0].tolist())  # row 0: 21; row 1 empty -> refilled from call 3 (130)
    assert rows == [[0, 100], [1, 110], [2, 111], [20, 112], [21, 130]]
    assert calls == [0, 1, 2, 3]


def test_a_restarted_env_forgets_its_ensemble(monkeypatch: pytest.MonkeyPatch) -> None:
    from ding_lite.act.per_env import PerEnvActions

    policy, _ = stub_policy(monkeypatch, chunk_size=3, n_action_steps=1, coeff=0.0)  # equal weights
    per_env = PerEnvActions(policy, n_envs=2)
    per_env.act(OBS)  # call 0
    per_env.restart([0])
    action = per_env.act(OBS)[:, 0].tolist()  # call 1: row 0 = call 1's step 0 alone (10)
    assert action == [10.0, (101 + 110) / 2]  # row 1 averages call 0's step 1 and call 1's step 0


def test_run_episodes_reports_the_envs_that_began_new_episodes() -> None:
    from ding_lite.envs.manager import make_env_manager
    from ding_lite.worker.evaluator import run_episodes

    manager = make_env_manager({"type": "cartpole"}, {}, 3)
    began: list[list[int]] = []
    seen_done: list[list[int]] = []
    original_step = manager.step

    def step(actions: np.ndarray) -> object:
        result = original_step(actions)
        seen_done.append([int(i) for i in np.flatnonzero(result.done)])
        return result

    manager.step = step  # type: ignore[method-assign]
    rng = np.random.default_rng(0)
    run_episodes(manager, lambda obs: rng.integers(0, 2, len(obs)), 6, seed=0, episodes_began=began.append)
    assert began == [done for done in seen_done if done] and len(began) >= 2  # cartpole episodes end apart
