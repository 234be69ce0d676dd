"""ACT trained by ``ding -m bc`` (``policy.type='act'``) on the LeRobot fixture dataset: it exports LeRobot
``pretrained_model/`` folders that ``ACTPolicy.from_pretrained`` loads with the dataset's normalisation,
the validation loss picks the best, and a run stopped half way and resumed ends identical to an
uninterrupted one (dropout and the CVAE draw from torch's generator, which the checkpoint carries)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from conftest import RunDing
from resume_helpers import assert_identical, load

from ding_lite.act.policy import ACTPolicy
from ding_lite.datasets import LeRobotDataset

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "lerobot" / "reacher_expert"
ITERATIONS = 60

CONFIG = f"""
main_config = dict(
    exp_name='act',
    dataset=dict(root={str(FIXTURE)!r}, val_ratio=0.1),
    env=dict(env_id='Reacher-v5', collector_env_num=1, evaluator_env_num=1, n_evaluator_episode=1),
    policy=dict(
        model=dict(chunk_size=5, n_action_steps=5, dim_model=32, n_heads=2, dim_feedforward=64, n_encoder_layers=1,
                   n_decoder_layers=1, latent_dim=8, n_vae_encoder_layers=1),
        learn=dict(batch_size=16, learning_rate=1e-3, val_freq=20,
                   learner=dict(train_iterations={ITERATIONS}, hook=dict(save_ckpt_after_iter=25))),
    ),
)
create_config = dict(env=dict(type='gymnasium'), env_manager=dict(type='base'), policy=dict(type='act'))
"""


def train(run_ding: RunDing, cwd: Path, *args: str) -> Any:
    (cwd / "act_config.py").write_text(CONFIG)
    proc = run_ding("-m", "bc", "-c", "act_config.py", "-s", "0", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def straight(run_ding: RunDing, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("act_bc")
    train(run_ding, work)
    return work / "act"


def test_act_exports_lerobot_folders_that_act_with_the_datasets_normalisation(straight: Path) -> None:
    files = sorted(p.name for p in (straight / "checkpoints/last/pretrained_model").iterdir())
    assert files == ["config.json", "model.safetensors", "policy_postprocessor.json",
                     "policy_postprocessor_step_0_unnormalizer_processor.safetensors", "policy_preprocessor.json",
                     "policy_preprocessor_step_3_normalizer_processor.safetensors"]  # fmt: skip
    policy = ACTPolicy.from_pretrained(straight / "checkpoints/last/pretrained_model")
    stats = LeRobotDataset(FIXTURE).stats
    assert stats is not None
    torch.testing.assert_close(
        policy.normalizer.stats["action"]["mean"], torch.tensor(stats["action"]["mean"], dtype=torch.float32)
    )
    ds = LeRobotDataset(FIXTURE)
    batch = ds.batch(np.arange(4), keys=["observation.state", "observation.environment_state"])
    chunk = policy.predict_action_chunk(batch)
    assert tuple(chunk.shape) == (4, 5, 2)
    # the final checkpoint's weights are the exported ones
    final = load(straight / f"ckpt/iteration_{ITERATIONS}.pth.tar")["model"]
    for name, tensor in policy.state_dict().items():
        torch.testing.assert_close(tensor, final[name], rtol=0, atol=0, msg=name)


def test_the_best_validation_loss_is_the_exported_best(straight: Path) -> None:
    result = json.loads((straight / "result.json").read_text())
    best = load(straight / "ckpt/ckpt_best.pth.tar")
    assert best["ding_lite"]["validation"]["best"] == result["best_validation_loss"]
    exported = ACTPolicy.from_pretrained(straight / "checkpoints/best/pretrained_model")
    for name, tensor in exported.state_dict().items():
        torch.testing.assert_close(tensor, best["model"][name], rtol=0, atol=0, msg=name)


def test_stopped_and_resumed_act_training_equals_the_straight_run(
    straight: Path, run_ding: RunDing, tmp_path: Path
) -> None:
    train(run_ding, tmp_path, "--train-iter", "33")
    resumed = train(run_ding, tmp_path, "--resume")
    assert "resumed exactly from" in resumed.stderr
    assert_identical(straight, tmp_path / "act", ITERATIONS)


LEROBOT_ACT = Path(__file__).resolve().parent / "fixtures" / "lerobot" / "act_reacher" / "pretrained_model"
REACHER_CONFIG = Path(__file__).resolve().parents[1] / "dizoo_configs" / "reacher_act_config.py"


def test_lerobots_act_folder_plays_reacher_in_ding_eval(run_ding: RunDing, tmp_path: Path) -> None:
    text = REACHER_CONFIG.read_text().replace("evaluator_env_num=10, n_evaluator_episode=50", "evaluator_env_num=5, "
                                               "n_evaluator_episode=5")  # fmt: skip
    (tmp_path / "reacher.py").write_text(text)
    proc = run_ding("-m", "eval", "-c", "reacher.py", "-s", "0", "--load-path", str(LEROBOT_ACT), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    found = re.search(r"mean return (-?[\d.]+) over 5 episodes", proc.stdout)
    assert found, proc.stdout
    # seeded: the same episodes every run. LeRobot's expert data scores -7.6, always acting zero -11.5 and a
    # random policy -43; LeRobot's ACT scored -9.2 over 50 episodes. A wrong feature slice or normalisation
    # plays far worse than acting zero.
    assert float(found.group(1)) > -11.5


def test_act_starts_from_lerobots_folder_with_pretrained_path(run_ding: RunDing, tmp_path: Path) -> None:
    """The fixture's LeRobot ACT (chunk 10, dim 64) as the start of a ding_lite run: every tensor loads, and
    the first validation loss is that of a trained model, far below a fresh one's."""
    lerobot = json.loads((LEROBOT_ACT / "config.json").read_text())
    keys = ("chunk_size", "n_action_steps", "dim_model", "n_heads", "dim_feedforward", "n_encoder_layers",
            "n_decoder_layers", "latent_dim", "n_vae_encoder_layers")  # fmt: skip
    model = ", ".join(f"{key}={lerobot[key]!r}" for key in keys)
    config = CONFIG.replace("exp_name='act'", "exp_name='tuned'")
    config = re.sub(r"model=dict\([^)]*\)", f"model=dict({model})", config, flags=re.S)
    fresh = config.replace("exp_name='tuned'", "exp_name='fresh'")
    tuned = config.replace("policy=dict(", f"policy=dict(pretrained_path={str(LEROBOT_ACT)!r}, ", 1)
    for name, text in (("fresh", fresh), ("tuned", tuned)):
        (tmp_path / f"{name}.py").write_text(text)
        proc = run_ding("-m", "bc", "-c", f"{name}.py", "-s", "0", "--train-iter", "1", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "tuned/load_report.json").read_text())
    from safetensors.torch import load_file

    assert len(report["loaded"]) == len(load_file(str(LEROBOT_ACT / "model.safetensors"))), report  # every tensor
    assert report["missing"] == report["unexpected"] == report["mismatched"] == [], report
    first = {name: float((tmp_path / name / "log/evaluator/evaluator_logger.txt").read_text().split()[-1])
             for name in ("fresh", "tuned")}  # fmt: skip
    # the first validation (before any update) measures the starting weights alone
    assert first["tuned"] < 0.5 * first["fresh"], first


def test_act_trains_on_image_features_through_its_resnet_backbone(run_ding: RunDing, tmp_path: Path) -> None:
    """A pixels_state pendulum recording (PNG frames and the state): ACT with observation.image as a VISUAL
    input trains, exports, and the exported folder acts on frames."""
    import copy

    from ding_lite.config import read_config
    from ding_lite.entry.record import record

    main, create = read_config(Path(__file__).resolve().parents[1] / "dizoo_configs" / "pendulum_sac_config.py")
    main = copy.deepcopy(main)
    main["env"].update(obs_type="pixels_state", image_size=32, collector_env_num=2)
    main["policy"]["model"]["obs_shape"] = {"image": [3, 32, 32], "state": 3}
    record((main, create), tmp_path / "demos", 2, task="up", quiet=True,
           controller=lambda obs: np.clip(-obs["state"][:, 1:2], -1, 1).astype(np.float32))  # fmt: skip
    (tmp_path / "img.py").write_text(
        "main_config = dict(exp_name='img', dataset=dict(root='demos', val_episodes=[1]), env=dict(),\n"
        "    policy=dict(model=dict(obs_features=['observation.state', 'observation.image'], chunk_size=4,\n"
        "        n_action_steps=4, dim_model=16, n_heads=2, dim_feedforward=32, n_encoder_layers=1,\n"
        "        n_vae_encoder_layers=1, latent_dim=4),\n"
        "        learn=dict(batch_size=4, val_freq=0, learner=dict(train_iterations=2))))\n"
        "create_config = dict(env=dict(type='pendulum'), policy=dict(type='act'))\n"
    )
    proc = run_ding("-m", "bc", "-c", "img.py", "-s", "0", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "img/checkpoints/last/pretrained_model"
    config = json.loads((folder / "config.json").read_text())
    assert config["input_features"]["observation.image"] == {"type": "VISUAL", "shape": [3, 32, 32]}
    policy = ACTPolicy.from_pretrained(folder)
    ds = LeRobotDataset(tmp_path / "demos")
    chunk = policy.predict_action_chunk(ds.batch(np.arange(3), keys=["observation.state", "observation.image"]))
    assert tuple(chunk.shape) == (3, 4, 1) and bool(torch.isfinite(chunk).all())


def test_policy_freeze_keeps_act_modules_fixed_while_the_rest_trains(run_ding: RunDing, tmp_path: Path) -> None:
    config = (
        CONFIG.replace("exp_name='act'", "exp_name='frozen'")
        .replace("policy=dict(", "policy=dict(freeze=['model.encoder'], ", 1)
        .replace("save_ckpt_after_iter=25", "save_ckpt_after_iter=1")
    )
    (tmp_path / "frozen.py").write_text(config)
    proc = run_ding("-m", "bc", "-c", "frozen.py", "-s", "0", "--train-iter", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first, second = (load(tmp_path / f"frozen/ckpt/iteration_{i}.pth.tar")["model"] for i in (1, 2))
    frozen = [k for k in first if k.startswith("model.encoder.")]
    trained = [k for k in first if k.startswith("model.decoder.") and k.endswith("weight")]
    assert frozen and trained
    assert all(torch.equal(first[k], second[k]) for k in frozen)
    assert any(not torch.equal(first[k], second[k]) for k in trained)
