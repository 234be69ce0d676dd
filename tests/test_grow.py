"""Growing a trained model into a larger action space: old values kept in the leading slice of each grown tensor."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ding_lite.checkpoint.io import load_checkpoint
from ding_lite.checkpoint.partial import partial_load
from ding_lite.config import compile_config
from ding_lite.entry.cli import main as ding
from ding_lite.envs import make_env_manager
from ding_lite.policy import POLICY_REGISTRY
from ding_lite.worker.evaluator import run_episodes

REPO = Path(__file__).resolve().parent.parent
SAC_FIXTURE = REPO / "tests" / "fixtures" / "di-engine" / "pendulum_sac_seed0_best.pth.tar"


def test_grow_copies_old_values_zeroes_new_inputs_and_keeps_new_outputs_fresh() -> None:
    torch.manual_seed(0)
    old, new = nn.Linear(3, 2), nn.Linear(4, 3)
    fresh_new_row = new.weight[2].detach().clone()
    report = partial_load(new, old.state_dict(), source="old", strict=True, grow=True)
    assert [k for k, _, _ in report.grown] == ["weight", "bias"]
    assert not report.mismatched and not report.loaded
    assert torch.equal(new.weight[:2, :3], old.weight) and torch.equal(new.bias[:2], old.bias)
    assert torch.equal(new.weight[:, 3], torch.zeros(3))  # the new input has no influence yet
    assert torch.equal(new.weight[2, :3], fresh_new_row[:3])  # the new output keeps its initialisation
    x = torch.randn(5, 3)
    assert torch.allclose(new(torch.cat([x, torch.randn(5, 1)], 1))[:, :2], old(x))


def test_without_grow_a_larger_tensor_is_mismatched() -> None:
    report = partial_load(nn.Linear(4, 3), nn.Linear(3, 2).state_dict(), source="old", strict=False)
    assert [k for k, _, _ in report.mismatched] == ["weight", "bias"] and not report.grown


def test_adapt_grow_turns_the_1d_sac_fixture_into_a_2d_policy_that_still_swings_up(tmp_path: Path, capsys) -> None:
    config = tmp_path / "sac2d.py"
    config.write_text(
        "import runpy\n"
        f"ns = runpy.run_path({str(REPO / 'dizoo_configs' / 'pendulum_sac_config.py')!r})\n"
        "main_config, create_config = ns['main_config'], ns['create_config']\n"
        "main_config.env.extra_action_dims = 1\n"
        "main_config.policy.model.action_shape = 2\n"
        "main_config.env.n_evaluator_episode = 10\n"
    )
    out = tmp_path / "grown.pth.tar"
    assert ding(["ckpt", "adapt", str(SAC_FIXTURE), "--config", str(config), "--out", str(out), "--grow"]) == 0
    printed = capsys.readouterr().out
    assert "grown" in printed and "actor_head.2.mu.weight: source (1, 128) into model (2, 128)" in printed
    assert "critic_head.0.0.weight: source (128, 4) into model (128, 5)" in printed
    main, create = (
        dict(v) for v in (runpy.run_path(str(config))["main_config"], runpy.run_path(str(config))["create_config"])
    )
    cfg = compile_config((main, create), 0, save_cfg=False)
    policy = POLICY_REGISTRY.get("sac")(cfg.policy)
    policy.load_pretrained(out)
    env = make_env_manager(cfg.env, cfg.env.manager, 5)
    returns = run_episodes(env, policy.eval_mode.forward, 10, 0)
    assert np.mean(returns) >= -250  # the grown policy acts as the 1-D one did on the torque dimension
    saved = load_checkpoint(out)["model"]
    assert saved["actor_head.2.mu.weight"].shape == (2, 128)
