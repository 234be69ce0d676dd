"""Specifications of the learner: hook order, periodic and final checkpoints holding exactly N updates,
and restoring a checkpoint (weights, optimizer, counters) with errors that name the file and the keys."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from learn_helpers import dqn_batch

from ding_lite.checkpoint import io as ckpt_io
from ding_lite.config import compile_config, read_config
from ding_lite.errors import CheckpointError, ConfigError
from ding_lite.learner import HOOK_REGISTRY, BaseLearner, LearnerHook, register_learner_hook
from ding_lite.policy import POLICY_REGISTRY, Policy
from ding_lite.utils.log import ExperimentLogger
from ding_lite.utils.registry import UnknownNameError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "dizoo_configs"
CALLS: list[tuple[str, int]] = []


class RecordHook(LearnerHook):
    """Records ``(name, train_iter)`` each time it runs."""

    def __call__(self, learner: BaseLearner) -> None:
        CALLS.append((self.name, learner.train_iter))


if "test_record" not in HOOK_REGISTRY:
    register_learner_hook("test_record", RecordHook)


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    CALLS.clear()


def compiled(kind: str, hook: dict[str, Any] | None = None, **changes: Any) -> Any:
    """The dizoo config of ``kind`` ('dqn' or 'ppo') with a learner hook section and policy edits.

    ``changes`` are ``section__key=value`` edits of ``main_config['policy']`` (``learn__target_update_freq=3``).
    """
    main, create = read_config(CONFIG_DIR / f"cartpole_{kind}_config.py")
    main = copy.deepcopy(main)
    policy = main["policy"]
    policy.setdefault("learn", {})["learner"] = {"hook": hook or {}}
    for dotted, value in changes.items():
        *path, key = dotted.split("__")
        node = policy
        for part in path:
            node = node.setdefault(part, {})
        node[key] = value
    return compile_config((main, create), save_cfg=False)


def make_policy(cfg: Any, torch_seed: int = 0) -> Policy:
    torch.manual_seed(torch_seed)
    return POLICY_REGISTRY.get(str(cfg.policy.type))(cfg.policy)


def make_learner(cfg: Any, policy: Policy, exp_dir: Path) -> BaseLearner:
    return BaseLearner(
        cfg.policy.learn.learner,
        policy,
        exp_dir,
        ExperimentLogger(exp_dir, tensorboard=False),
        policy_type=str(cfg.policy.type),
        resume_training=bool(cfg.policy.learn.resume_training),
    )


def ppo_rollout(seed: int, steps: int = 8, envs: int = 4) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "obs": torch.randn(steps, envs, 4, generator=gen).numpy(),
        "action": torch.randint(0, 2, (steps, envs), generator=gen).numpy(),
        "reward": torch.rand(steps, envs, generator=gen).numpy(),
        "done": (torch.rand(steps, envs, generator=gen) < 0.2).numpy(),
        "next_obs": torch.randn(steps, envs, 4, generator=gen).numpy(),
    }


def assert_same_tensors(a: Any, b: Any) -> None:
    """Deep equality of nested dicts/lists whose leaves may be tensors (bit for bit)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    elif isinstance(a, dict):
        assert set(a) == set(b)
        for key in a:
            assert_same_tensors(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_tensors(x, y)
    else:
        assert a == b


def ckpt_files(exp_dir: Path) -> list[str]:
    """Checkpoint files (and any temporary file left next to one) in ``<exp>/ckpt``."""
    folder = exp_dir / "ckpt"
    return sorted(p.name for p in folder.iterdir() if ".pth.tar" in p.name) if folder.exists() else []


# --------------------------------------------------------------------------- hook order


def test_hooks_run_by_priority_with_ties_in_registration_order(tmp_path: Path) -> None:
    hook = dict(
        late_a=dict(type="test_record", position="after_iter", priority=50),
        early=dict(type="test_record", position="after_iter", priority=10),
        late_b=dict(type="test_record", position="after_iter", priority=50),
        default=dict(type="test_record", position="after_iter"),
        before=dict(type="test_record", position="before_iter", priority=0, name="renamed"),
        save_ckpt_after_iter=1000,
    )
    cfg = compiled("dqn", hook)
    learner = make_learner(cfg, make_policy(cfg), tmp_path)
    learner.register_hook(RecordHook("runtime_50", "after_iter", 50))
    learner.register_hook(RecordHook("runtime_0", "after_iter", 0))
    learner.register_hook(RecordHook("runtime_100", "after_iter", 100))

    names = [h.name for h in learner.hooks("after_iter")]
    assert names == [
        "runtime_0",
        "early",
        "save_ckpt_after_iter",
        "log_show_after_iter",
        "late_a",
        "late_b",
        "runtime_50",
        "default",
        "runtime_100",
    ]
    assert [h.priority for h in learner.hooks("after_iter")] == [0, 10, 20, 20, 50, 50, 50, 100, 100]

    learner.train(dqn_batch(0), env_step=8)
    assert CALLS == [
        ("renamed", 0),
        ("runtime_0", 1),
        ("early", 1),
        ("late_a", 1),
        ("late_b", 1),
        ("runtime_50", 1),
        ("default", 1),
        ("runtime_100", 1),
    ]


def test_before_and_after_run_hooks_run_only_when_called(tmp_path: Path) -> None:
    hook = dict(
        start=dict(type="test_record", position="before_run", priority=3),
        end=dict(type="test_record", position="after_run", priority=3),
        save_ckpt_after_run=False,
    )
    cfg = compiled("dqn", hook)
    learner = make_learner(cfg, make_policy(cfg), tmp_path)
    learner.call_hook("before_run")
    learner.train(dqn_batch(0), env_step=8)
    learner.train(dqn_batch(1), env_step=16)
    assert CALLS == [("start", 0)]
    learner.call_hook("after_run")
    assert CALLS == [("start", 0), ("end", 2)]


def test_bad_dict_form_hooks_are_config_errors(tmp_path: Path) -> None:
    cases = [
        (dict(bad=dict(type="test_record", position="after_itr")), "after_itr"),
        (dict(bad=dict(type="test_record", position="after_iter", priority=-1)), "-1"),
        (dict(bad=dict(type="test_record")), "position"),
        (dict(bad=dict(type="test_record", position="after_iter", priorty=5)), "priorty"),
    ]
    for hook, expected in cases:
        cfg = compiled("dqn", hook)
        with pytest.raises(ConfigError, match=expected):
            make_learner(cfg, make_policy(cfg), tmp_path)


def test_unknown_hook_type_lists_the_known_ones(tmp_path: Path) -> None:
    cfg = compiled("dqn", dict(bad=dict(type="save_ckp", position="after_iter")))
    with pytest.raises(UnknownNameError) as err:
        make_learner(cfg, make_policy(cfg), tmp_path)
    message = str(err.value)
    assert "save_ckp" in message
    for known in ("save_ckpt", "load_ckpt", "log_show", "test_record"):
        assert known in message


def test_log_show_after_iter_writes_the_text_log_every_n_iterations(tmp_path: Path) -> None:
    cfg = compiled("dqn", dict(log_show_after_iter=2))
    learner = make_learner(cfg, make_policy(cfg), tmp_path)
    for i in range(5):
        learner.train(dqn_batch(i), env_step=8 * (i + 1))
    learner.logger.flush()
    lines = (tmp_path / "log" / "learner" / "learner_logger.txt").read_text().splitlines()
    assert len(lines) == 2
    assert "train_iter 2 " in lines[0] and "total_loss=" in lines[0]
    assert "train_iter 4 " in lines[1]


# --------------------------------------------------------------------------- periodic and final saves


def test_save_ckpt_after_iter_holds_exactly_n_and_2n_updates(tmp_path: Path) -> None:
    n = 3
    cfg = compiled("dqn", dict(save_ckpt_after_iter=n, save_ckpt_after_run=False), learn__target_update_freq=2)
    policy = make_policy(cfg)
    by_hand = make_policy(cfg)
    assert_same_tensors(policy.learn_mode.state_dict(), by_hand.learn_mode.state_dict())
    learner = make_learner(cfg, policy, tmp_path)
    for i in range(2 * n + 1):
        learner.train(dqn_batch(i), env_step=10 * (i + 1))
    assert ckpt_files(tmp_path) == [f"iteration_{n}.pth.tar", f"iteration_{2 * n}.pth.tar"]

    for i in range(2 * n):
        by_hand.learn_mode.forward(dqn_batch(i))
        done = i + 1
        if done % n == 0:
            saved = torch.load(tmp_path / "ckpt" / f"iteration_{done}.pth.tar", weights_only=True)
            assert saved["last_iter"] == done
            assert saved["last_step"] == 10 * done
            assert {int(s["step"].item()) for s in saved["optimizer"]["state"].values()} == {done}
            assert_same_tensors(saved["model"], by_hand.model.state_dict())
            assert_same_tensors(saved["target_model"], by_hand.learn_mode.state_dict()["target_model"])
            assert_same_tensors(saved["optimizer"], by_hand.learn_mode.state_dict()["optimizer"])


def test_ppo_periodic_checkpoint_keys(tmp_path: Path) -> None:
    cfg = compiled("ppo", dict(save_ckpt_after_iter=2, save_ckpt_after_run=False))
    policy = make_policy(cfg)
    learner = make_learner(cfg, policy, tmp_path)
    for batch in policy.learn_mode.train_batches(ppo_rollout(0)):  # 32 samples, batch 64, 2 epochs: 2 iters
        learner.train(batch, env_step=32)
    assert ckpt_files(tmp_path) == ["iteration_2.pth.tar"]
    saved = torch.load(tmp_path / "ckpt" / "iteration_2.pth.tar", weights_only=True)
    assert {"model", "optimizer", "last_iter", "last_step"} <= set(saved)
    assert "target_model" not in saved
    assert saved["last_iter"] == 2 and saved["last_step"] == 32


@pytest.mark.parametrize("after_run", [False, True])
def test_save_ckpt_after_run_is_respected(tmp_path: Path, after_run: bool) -> None:
    cfg = compiled("dqn", dict(save_ckpt_after_run=after_run))
    learner = make_learner(cfg, make_policy(cfg), tmp_path)
    learner.call_hook("before_run")
    for i in range(2):
        learner.train(dqn_batch(i), env_step=8 * (i + 1))
    learner.call_hook("after_run")
    if not after_run:
        assert ckpt_files(tmp_path) == []
    else:
        assert ckpt_files(tmp_path) == ["iteration_2.pth.tar"]
        saved = torch.load(tmp_path / "ckpt" / "iteration_2.pth.tar", weights_only=True)
        assert saved["last_iter"] == 2 and saved["last_step"] == 16
        assert_same_tensors(saved["model"], learner.policy.model.state_dict())


# --------------------------------------------------------------------------- loading


def _trained_dqn_checkpoint(tmp_path: Path, iters: int = 4) -> tuple[Path, BaseLearner]:
    cfg = compiled("dqn", learn__target_update_freq=3)
    learner = make_learner(cfg, make_policy(cfg, torch_seed=0), tmp_path / "first")
    for i in range(iters):
        learner.train(dqn_batch(i), env_step=10 * (i + 1))
    return learner.save_checkpoint(), learner


@pytest.mark.parametrize("resume", [False, True])
def test_load_ckpt_before_run_restores_learn_state_and_counters(tmp_path: Path, resume: bool) -> None:
    path, first = _trained_dqn_checkpoint(tmp_path)
    cfg = compiled(
        "dqn", dict(load_ckpt_before_run=str(path)), learn__target_update_freq=3, learn__resume_training=resume
    )
    learner = make_learner(cfg, make_policy(cfg, torch_seed=1), tmp_path / "second")
    learner.call_hook("before_run")
    assert_same_tensors(learner.policy.learn_mode.state_dict(), first.policy.learn_mode.state_dict())
    assert learner.train_iter == 4
    if resume:
        assert learner.loaded_env_step == 40 and learner.env_step == 40
    else:
        assert learner.loaded_env_step is None and learner.env_step == 0

    # the restored learner continues exactly like the original one (target update at iteration 6 in both)
    for i in range(4, 8):
        first.train(dqn_batch(i), env_step=10 * (i + 1))
        learner.train(dqn_batch(i), env_step=10 * (i + 1))
        assert_same_tensors(learner.policy.learn_mode.state_dict(), first.policy.learn_mode.state_dict())
    assert learner.train_iter == first.train_iter == 8


def test_ppo_checkpoint_restores_value_norm_statistics(tmp_path: Path) -> None:
    cfg = compiled("ppo")
    assert cfg.policy.learn.value_norm is True
    first = make_learner(cfg, make_policy(cfg, torch_seed=0), tmp_path / "first")
    for batch in first.policy.learn_mode.train_batches(ppo_rollout(0)):
        first.train(batch, env_step=32)
    path = first.save_checkpoint()

    second = make_learner(cfg, make_policy(cfg, torch_seed=1), tmp_path / "second")
    second.load_checkpoint(path)
    rollout = ppo_rollout(1)
    torch.manual_seed(5)
    expected = list(first.policy.learn_mode.train_batches(rollout))
    torch.manual_seed(5)
    got = list(second.policy.learn_mode.train_batches(rollout))
    assert_same_tensors(got, expected)


def test_missing_load_path_raises_file_not_found_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "iteration_7.pth.tar"
    cfg = compiled("dqn", dict(load_ckpt_before_run=str(missing)))
    learner = make_learner(cfg, make_policy(cfg), tmp_path)
    with pytest.raises(FileNotFoundError, match=str(missing)):
        learner.call_hook("before_run")


def test_mismatched_shapes_are_listed_key_by_key_with_both_shapes(tmp_path: Path) -> None:
    three = compiled("dqn", model__action_shape=3)
    saver = make_learner(three, make_policy(three), tmp_path / "three")
    path = saver.save_checkpoint()

    cfg = compiled("dqn", dict(load_ckpt_before_run=str(path)))
    policy = make_policy(cfg)
    before = copy.deepcopy(policy.learn_mode.state_dict())
    learner = make_learner(cfg, policy, tmp_path / "two")
    with pytest.raises(CheckpointError) as err:
        learner.call_hook("before_run")
    message = str(err.value)
    assert str(path) in message
    assert "head.A.1.0.weight" in message and "(3, 64)" in message and "(2, 64)" in message
    assert "head.A.1.0.bias" in message and "(3,)" in message and "(2,)" in message
    for key in ("encoder.init.weight", "head.V.1.0.weight"):
        assert key not in message  # keys that fit are not reported
    assert_same_tensors(policy.learn_mode.state_dict(), before)
    assert learner.train_iter == 0


def test_rejected_checkpoint_leaves_the_policy_untouched(tmp_path: Path) -> None:
    cfg = compiled("dqn")
    saver = make_learner(cfg, make_policy(cfg, torch_seed=3), tmp_path / "saver")
    state = saver.checkpoint_state()
    three = compiled("dqn", model__action_shape=3)
    state["target_model"] = make_policy(three).learn_mode.state_dict()["target_model"]  # model fits, target not
    path = tmp_path / "mixed.pth.tar"
    ckpt_io.save_checkpoint(state, path)

    policy = make_policy(cfg, torch_seed=0)
    before = copy.deepcopy(policy.learn_mode.state_dict())
    learner = make_learner(cfg, policy, tmp_path / "loader")
    with pytest.raises(CheckpointError, match="target_model") as err:
        learner.load_checkpoint(path)
    assert "mixed.pth.tar" in str(err.value) and "head.A.1.0.weight" in str(err.value)
    assert_same_tensors(policy.learn_mode.state_dict(), before)


def test_checkpoint_of_another_policy_is_a_checkpoint_error_naming_the_file(tmp_path: Path) -> None:
    ppo = compiled("ppo")
    path = make_learner(ppo, make_policy(ppo), tmp_path / "ppo").save_checkpoint()
    cfg = compiled("dqn")
    learner = make_learner(cfg, make_policy(cfg), tmp_path / "dqn")
    with pytest.raises(CheckpointError, match=str(path)):
        learner.load_checkpoint(path)


def test_saved_checkpoint_carries_ding_lite_extras(tmp_path: Path) -> None:
    cfg = compiled("dqn")
    learner = make_learner(cfg, make_policy(cfg), tmp_path)
    learner.extra_state = lambda: {"note": "kept"}
    saved = ckpt_io.load_checkpoint(learner.save_checkpoint("named.pth.tar"))
    assert ckpt_files(tmp_path) == ["named.pth.tar"]
    extras = saved["ding_lite"]
    assert extras["format_version"] == ckpt_io.FORMAT_VERSION
    assert extras["policy_type"] == "dqn" and extras["note"] == "kept"
