"""Specifications of ``policy.freeze`` (issue 5, part 6): frozen parameters are bit-identical after training,
are not in the optimizer, and the log says what was frozen; a prefix matching nothing is a config error.

Each run starts from a DI-engine fixture through ``policy.pretrained_path``, so the initial weights are known,
and trains a few iterations in-process (the CLI's own behaviour is covered by ``test_cli_e2e.py``).
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from ding_lite.entry import serial_pipeline, serial_pipeline_onpolicy
from ding_lite.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CONFIGS, FIXTURES = REPO / "dizoo_configs", REPO / "tests" / "fixtures" / "di-engine"
ITERS = 12


def write_config(path: Path, base: str, edits: str) -> str:
    """A config file loading ``dizoo_configs/<base>_config.py`` and then running ``edits`` on ``main_config``."""
    path.write_text(
        f"import runpy\n\n_base = runpy.run_path({str(CONFIGS / f'{base}_config.py')!r})\n"
        "main_config, create_config = _base['main_config'], _base['create_config']\n"
        "main_config.exp_name = 'frozen'\n" + textwrap.dedent(edits)
    )
    return str(path)


def train_frozen(
    tmp_path: Path, base: str, freeze: list[str], pipeline: Callable[..., Any], extra: str = ""
) -> dict[str, Any]:
    """Train ``ITERS`` iterations from the DI-engine fixture of ``base`` with ``freeze``; the final checkpoint."""
    fixture = FIXTURES / f"{base}_seed0_best.pth.tar"
    edits = f"main_config.policy.pretrained_path = {str(fixture)!r}\nmain_config.policy.freeze = {freeze!r}\n" + extra
    pipeline(write_config(tmp_path / "cfg.py", base, edits), 0, max_train_iter=ITERS, quiet=True)
    return torch.load(tmp_path / "frozen" / "ckpt" / f"iteration_{ITERS}.pth.tar", weights_only=True)


def initial(base: str) -> dict[str, torch.Tensor]:
    return torch.load(FIXTURES / f"{base}_seed0_best.pth.tar", weights_only=True)["model"]


def optimizer_tensors(optimizer_state: dict[str, Any]) -> int:
    return sum(len(group["params"]) for group in optimizer_state["param_groups"])


def froze_message(caplog: pytest.LogCaptureFixture, count: int, prefix: str) -> bool:
    return any(f"froze {count} parameters under {prefix}" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("base", "pipeline", "heads"),
    [
        ("cartpole_dqn", serial_pipeline, ("head.",)),
        ("cartpole_ppo", serial_pipeline_onpolicy, ("actor_head.", "critic_head.")),
    ],
)
def test_frozen_encoder_is_bit_identical_and_not_in_the_optimizer(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    base: str,
    pipeline: Callable[..., Any],
    heads: tuple[str, ...],
) -> None:
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.INFO, logger="ding_lite"):
        final = train_frozen(tmp_path, base, ["encoder"], pipeline)
    start = initial(base)
    encoder = [key for key in start if key.startswith("encoder.")]
    head = [key for key in start if key.startswith(heads)]
    assert len(encoder) == 6 and len(head) == 8
    for key in encoder:
        assert torch.equal(final["model"][key], start[key]), f"frozen {key} changed during training"
    for key in head:
        if key.endswith("weight"):
            assert not torch.equal(final["model"][key], start[key]), f"trainable {key} did not train"
    assert optimizer_tensors(final["optimizer"]) == len(head)
    assert froze_message(caplog, sum(start[key].numel() for key in encoder), "encoder")


def test_sac_trains_with_one_twin_critic_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    extra = "main_config.policy.random_collect_size = 256\n"
    with caplog.at_level(logging.INFO, logger="ding_lite"):
        final = train_frozen(tmp_path, "pendulum_sac", ["critic_head.0"], serial_pipeline, extra)
    start = initial("pendulum_sac")
    frozen = [key for key in start if key.startswith("critic_head.0.")]
    trained = [key for key in start if key.startswith(("critic_head.1.", "actor_head."))]
    assert len(frozen) == 6
    for key in frozen:
        assert torch.equal(final["model"][key], start[key]), f"frozen {key} changed during training"
    for key in trained:
        if key.endswith("weight"):
            assert not torch.equal(final["model"][key], start[key]), f"trainable {key} did not train"
    assert optimizer_tensors(final["optimizer_q"]) == 6  # the second critic only
    assert optimizer_tensors(final["optimizer_policy"]) == 8
    assert froze_message(caplog, sum(start[key].numel() for key in frozen), "critic_head.0")


def test_freeze_prefix_matching_nothing_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="'encodr'"):
        train_frozen(tmp_path, "cartpole_dqn", ["encodr"], serial_pipeline)


def test_freeze_vision_encoder_keeps_the_pixel_convolutions_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LeRobot's key: the conv layers of SAC's pixel encoders stay bit-identical; their FC layers and the heads
    train. A model without pixel encoders has nothing to freeze and trains as before."""
    from test_pixels import small_run

    monkeypatch.chdir(tmp_path)
    main, create = small_run("pendulum_sac", "pixels_state", 3, random_collect_size=64, learn=dict(batch_size=32))
    main["policy"]["freeze_vision_encoder"] = True
    policy = serial_pipeline((main, create), 0, max_train_iter=20, quiet=True)
    start = torch.load(tmp_path / "pendulum_sac_pixels_state" / "ckpt" / "iteration_10.pth.tar", weights_only=True)
    final = torch.load(tmp_path / "pendulum_sac_pixels_state" / "ckpt" / "iteration_20.pth.tar", weights_only=True)
    convs = [k for k in final["model"] if k.startswith(("actor_encoder.conv.", "critic_encoder.conv."))]
    assert len(convs) == 12
    for key in convs:
        assert torch.equal(final["model"][key], start["model"][key]), key
    assert not torch.equal(final["model"]["actor_encoder.init.weight"], start["model"]["actor_encoder.init.weight"])
    assert all(not p.requires_grad for n, p in policy.model.named_parameters() if n.startswith("actor_encoder.conv"))
