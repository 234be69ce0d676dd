"""Specifications of starting from trained weights (issue 5): export and ``from_pretrained`` in a fresh process,
the load report, rename/include/exclude, the feature check, ``pretrained_path`` over resume, ``ding ckpt adapt``,
safetensors without unpickling, ``export_best``. Freezing: ``test_freeze.py``.

Each new process pays seconds of torch import on a small machine, so only what needs one gets one: the module
fixture ``background`` starts them together while the in-process tests run (the tests that read them come
last). In-process CLI tests call ``ding_lite.entry.cli.main``, the function the ``ding`` script runs.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import runpy
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import ding_lite
from ding_lite.checkpoint.pretrained import read_weights
from ding_lite.entry import cli, eval_pipeline, serial_pipeline, serial_pipeline_onpolicy
from ding_lite.entry.weights_cli import policy_from_config
from ding_lite.policy import Policy

REPO = Path(__file__).resolve().parents[1]
CONFIGS, FIXTURES = REPO / "dizoo_configs", REPO / "tests" / "fixtures" / "di-engine"
NAMES = ("cartpole_ppo", "cartpole_dqn", "pendulum_sac")
PPO_FIXTURE, DQN_FIXTURE, SAC_FIXTURE = (FIXTURES / f"{name}_seed0_best.pth.tar" for name in NAMES)
PPO_CONFIG, DQN_CONFIG, SAC_CONFIG = (CONFIGS / f"{name}_config.py" for name in NAMES)
GROWN_DQN = "main_config.env.extra_actions = 1\nmain_config.policy.model.action_shape = 3\n"
GROWN_SAC = "main_config.env.extra_action_dims = 1\nmain_config.policy.model.action_shape = 2\n"
ALIASES = ("actor.", "critic.")

# Eval actions and raw model outputs on a batch of observations: run in the fresh process and in the tests.
PROBE = """
import sys
import numpy as np
import torch

def probe(policy, obs):
    model, x = policy.model, torch.as_tensor(obs)
    with torch.no_grad():
        if policy.cfg["type"] == "ppo":
            out = dict(zip(("logits", "value"), model.compute_actor_critic(x)))
            stats = policy.normalization_state()["value_norm"]
            out["value_norm"] = torch.tensor([stats["mean"], stats["var"], stats["count"]], dtype=torch.float64)
        elif policy.cfg["type"] == "dqn":
            out = {"q": model(x)}
        else:
            mu, sigma = model.compute_actor(x)
            out = {"mu": mu, "sigma": sigma, **dict(enumerate(model.compute_critic(x, torch.tanh(mu))))}
    return {"action": torch.as_tensor(policy.eval_mode.forward(obs)), **{str(k): v for k, v in out.items()}}

if __name__ == "__main__":
    from ding_lite.policy import Policy
    results = {}
    for name in sys.argv[2:]:
        outputs = probe(Policy.from_pretrained(name), np.load(name + "_obs.npy"))
        results.update({name + "/" + key: value for key, value in outputs.items()})
    torch.save(results, sys.argv[1])
"""


def write_config(path: Path | str, base: str, edits: str = "") -> str:
    """A config file loading ``dizoo_configs/<base>_config.py`` and then running ``edits`` on ``main_config``."""
    Path(path).write_text(
        f"import runpy\n\n_base = runpy.run_path({str(CONFIGS / f'{base}_config.py')!r})\n"
        "main_config, create_config = _base['main_config'], _base['create_config']\n" + textwrap.dedent(edits)
    )
    return str(path)


def model_state(path: Path | str) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def read_json(path: Path | str) -> Any:
    return json.loads(Path(path).read_text())


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("ding: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def loaded_policy(config: Path, ckpt: Path) -> Policy:
    policy = policy_from_config(config)
    policy.eval_mode.load_state_dict({"model": model_state(ckpt)})
    return policy


def same_weights(weights: Mapping[str, torch.Tensor], reference: Mapping[str, torch.Tensor]) -> bool:
    return all(torch.equal(value, reference[key]) for key, value in weights.items())


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own directory; experiments are written relative to it."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module", autouse=True)
def background(tmp_path_factory: pytest.TempPathFactory, run_ding: Any) -> Iterator[dict[str, Any]]:
    """Exports of a ding_lite PPO checkpoint with value-norm statistics and of the SAC fixture (``ding export``,
    ``-c`` for SAC) and of the DQN fixture (``Policy.save_pretrained``); then, in the background, the
    fresh-process probe of all three, ``ding -m eval`` of the PPO folder and a run with a missing pretrained path."""
    work = tmp_path_factory.mktemp("background")
    edits = (
        f"main_config.exp_name = {str(work / 'ppo_run')!r}\nmain_config.policy.pretrained_path = {str(PPO_FIXTURE)!r}"
    )
    serial_pipeline_onpolicy(write_config(work / "ppo.py", "cartpole_ppo", edits), 0, max_train_iter=16, quiet=True)
    ckpt = work / "ppo_run" / "ckpt" / "iteration_16.pth.tar"
    assert cli.main(["export", str(ckpt), "--out", str(work / "ppo")]) == 0
    assert cli.main(["export", str(SAC_FIXTURE), "--out", str(work / "sac"), "-c", str(SAC_CONFIG)]) == 0
    originals = {"ppo": loaded_policy(PPO_CONFIG, ckpt), "dqn": loaded_policy(DQN_CONFIG, DQN_FIXTURE),
                 "sac": loaded_policy(SAC_CONFIG, SAC_FIXTURE)}  # fmt: skip
    originals["ppo"].load_normalization_state(torch.load(ckpt, weights_only=True)["ding_lite"])
    originals["dqn"].save_pretrained(work / "dqn")
    rng = np.random.default_rng(0)
    obs = {"ppo": rng.uniform(-0.2, 0.2, (16, 4)), "dqn": rng.uniform(-0.2, 0.2, (16, 4)),
           "sac": rng.uniform(-1.0, 1.0, (16, 3)) * np.array([1.0, 1.0, 8.0])}  # fmt: skip
    obs = {name: batch.astype(np.float32) for name, batch in obs.items()}
    for name, batch in obs.items():
        np.save(work / f"{name}_obs.npy", batch)
    (work / "probe.py").write_text(PROBE)
    missing = write_config(
        work / "missing.py", "cartpole_dqn", "main_config.policy.pretrained_path = 'no/such.pth.tar'"
    )
    probe = [sys.executable, "probe.py", "probe.pt", "ppo", "dqn", "sac"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = {
            "probe": pool.submit(subprocess.run, probe, cwd=work, capture_output=True, text=True, timeout=600),
            "eval": pool.submit(
                run_ding, "-m", "eval", "-c", PPO_CONFIG, "--load-path", "ppo/pretrained_model", cwd=work
            ),
            "missing": pool.submit(run_ding, "-m", "serial", "-c", missing, "--train-iter", "1", cwd=work),
        }
        yield {"work": work, "ckpt": ckpt, "originals": originals, "obs": obs, "jobs": jobs}


def finished(background: dict[str, Any], name: str) -> subprocess.CompletedProcess[str]:
    proc: subprocess.CompletedProcess[str] = background["jobs"][name].result()
    assert proc.returncode in (0, 2), f"{proc.args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


# --- the load report -------------------------------------------------------------------------------------------
def edited_dqn_source(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Random weights for ``model`` with one key dropped, one added and the advantage output grown to 3."""
    source = {key: torch.randn_like(value) for key, value in model.state_dict().items()}
    del source["encoder.init.bias"]
    source["extra.scale"] = torch.ones(3)
    source["head.A.1.0.weight"], source["head.A.1.0.bias"] = torch.randn(3, 64), torch.randn(3)
    return source


EXPECTED_REPORT = {
    "loaded": ["encoder.init.weight", "encoder.main.0.weight", "encoder.main.0.bias", "encoder.main.2.weight",
               "encoder.main.2.bias", "head.A.0.0.weight", "head.A.0.0.bias"],
    "mismatched": [["head.A.1.0.weight", [3, 64], [2, 64]], ["head.A.1.0.bias", [3], [2]]],
    "missing": ["encoder.init.bias"],
    "unexpected": ["extra.scale"],
    "excluded": ["head.V.0.0.weight", "head.V.0.0.bias", "head.V.1.0.weight", "head.V.1.0.bias"],
}  # fmt: skip


def categories(report: Any) -> dict[str, list[str]]:
    """The report's lists, order-free (a LoadReport or its JSON)."""
    fields = report if isinstance(report, Mapping) else vars(report)
    return {name: sorted(json.dumps(item, default=list) for item in fields[name]) for name in EXPECTED_REPORT}


def test_partial_load_reports_each_category_and_keeps_skipped_tensors_fresh() -> None:
    policy = policy_from_config(DQN_CONFIG)
    fresh = {key: value.clone() for key, value in policy.model.state_dict().items()}
    source = edited_dqn_source(policy.model)
    save_file(source, "edited.safetensors")
    report = policy.load_pretrained("edited.safetensors", strict=False, exclude=["head.V*"])
    assert categories(report) == categories(EXPECTED_REPORT)
    for key, value in policy.model.state_dict().items():
        assert torch.equal(value, source[key] if key in report.loaded else fresh[key]), key


def test_training_run_writes_load_report_json_and_prints_table(caplog: pytest.LogCaptureFixture) -> None:
    torch.save({"model": edited_dqn_source(policy_from_config(DQN_CONFIG).model)}, "edited.pth.tar")
    edits = "main_config.policy.pretrained = dict(path='edited.pth.tar', strict=False, exclude=['head.V*'])\n"
    with caplog.at_level(logging.INFO, logger="ding_lite"):
        serial_pipeline(write_config("cfg.py", "cartpole_dqn", edits), 0, max_train_iter=1, quiet=True)
    report = read_json("cartpole_dqn_seed0/load_report.json")
    assert report["source"] == "edited.pth.tar" and categories(report) == categories(EXPECTED_REPORT)
    assert "load report for edited.pth.tar" in caplog.text
    assert "head.A.1.0.weight: source (3, 64) vs model (2, 64)" in caplog.text
    for category, count in (("loaded", 7), ("mismatched", 2), ("missing", 1), ("unexpected", 1), ("excluded", 4)):
        assert re.search(rf"{category}\s+{count}\n", caplog.text), category


def test_strict_load_with_mismatch_names_every_key_and_changes_nothing() -> None:
    policy = policy_from_config(DQN_CONFIG)
    before = {key: value.clone() for key, value in policy.model.state_dict().items()}
    torch.save({"model": edited_dqn_source(policy.model)}, "edited.pth.tar")
    with pytest.raises(ValueError) as err:
        policy.load_pretrained("edited.pth.tar")
    for part in ("edited.pth.tar", "head.A.1.0.weight source (3, 64) vs model (2, 64)", "encoder.init.bias missing",
                 "head.A.1.0.bias source (3,) vs model (2,)", "extra.scale unexpected"):  # fmt: skip
        assert part in str(err.value)
    assert same_weights(policy.model.state_dict(), before)


# --- rename_map, include, DI-engine alias keys -----------------------------------------------------------------
def test_rename_map_in_config_maps_source_prefixes() -> None:
    fixture = model_state(DQN_FIXTURE)
    save_file({key.replace("encoder.", "backbone.", 1): value for key, value in fixture.items()}, "renamed.safetensors")
    edits = "main_config.policy.pretrained = dict(path='renamed.safetensors', rename_map={'backbone': 'encoder'})\n"
    policy = serial_pipeline(write_config("cfg.py", "cartpole_dqn", edits), 0, max_train_iter=0, quiet=True)
    report = read_json("cartpole_dqn_seed0/load_report.json")
    assert sorted(report["loaded"]) == sorted(fixture) and not report["unexpected"] and not report["missing"]
    assert same_weights(policy.model.state_dict(), fixture)


def test_include_loads_only_the_matching_keys() -> None:
    policy = policy_from_config(DQN_CONFIG)
    head = {key: value.clone() for key, value in policy.model.state_dict().items() if key.startswith("head.")}
    report = policy.load_pretrained(DQN_FIXTURE, include=["encoder"])
    fixture = model_state(DQN_FIXTURE)
    assert report.loaded == [key for key in fixture if key.startswith("encoder.")]
    assert sorted(report.excluded) == sorted(head) and not report.missing
    assert same_weights(policy.model.state_dict(), {**fixture, **head})


def test_di_engine_alias_keys_are_never_missing_or_unexpected(background: dict[str, Any]) -> None:
    report = read_json(background["work"] / "ppo_run" / "load_report.json")  # pretrained_path = the PPO fixture
    assert len(report["loaded"]) == 14 and not report["missing"] and not report["unexpected"]
    assert not [key for key in report["loaded"] if key.startswith(ALIASES)]


def test_exclude_also_covers_di_engine_alias_keys() -> None:
    """``actor_head`` is stored again as ``actor.1`` in DI-engine files; excluding it must keep it fresh."""
    policy = policy_from_config(PPO_CONFIG)
    head = {f"actor_head.{key}": value.clone() for key, value in policy.model.actor_head.state_dict().items()}
    report = policy.load_pretrained(PPO_FIXTURE, strict=False, exclude=["actor_head"])
    assert sorted(report.excluded) == sorted(head)
    assert not [key for key in report.loaded if key.startswith("actor_head.")], report.loaded
    assert same_weights(head, policy.model.state_dict()), "the excluded actor_head was loaded through its alias"


# --- the feature check -----------------------------------------------------------------------------------------
def grown_dqn(background: dict[str, Any], strict: bool = True) -> str:
    folder = str(background["work"] / "dqn" / "pretrained_model")
    return write_config(
        "grown.py",
        "cartpole_dqn",
        GROWN_DQN + f"main_config.policy.pretrained = dict(path={folder!r}, strict={strict})",
    )


def test_feature_mismatch_is_refused_unless_strict_is_off(background: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"action: pretrained \(2,\) discrete vs config \(3,\) discrete"):
        serial_pipeline(grown_dqn(background), 0, max_train_iter=0, quiet=True)
    serial_pipeline(grown_dqn(background, strict=False), 0, max_train_iter=1, quiet=True)
    [report_file] = Path().glob("cartpole_dqn_seed0*/load_report.json")
    report = read_json(report_file)
    assert report["mismatched"] == [["head.A.1.0.weight", [2, 64], [3, 64]], ["head.A.1.0.bias", [2], [3]]]
    assert len(report["loaded"]) == 12 and not report["missing"] and not report["unexpected"]


def test_feature_mismatch_is_one_cli_error_line(background: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = cli.main(["-m", "serial", "-c", grown_dqn(background), "--train-iter", "1", "-q"])
    except Exception as err:
        pytest.fail(f"`ding -m serial` ends in a traceback instead of a `ding: error:` line: {err!r}")
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and "action: pretrained (2,)" in line and "config (3,)" in line


# --- pretrained_path wins over resume --------------------------------------------------------------------------
@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_pretrained_path_wins_over_resume_with_one_warning(
    in_tmp_path: Path, caplog: pytest.LogCaptureFixture, absolute: bool
) -> None:
    serial_pipeline(
        write_config("src.py", "cartpole_dqn", "main_config.exp_name = 'run'"), 0, max_train_iter=20, quiet=True
    )
    source_env_step = read_json("run/result.json")["env_step"]
    ckpts = {path.name: path.read_bytes() for path in Path("run/ckpt").glob("*.pth.tar")}
    weights = str(in_tmp_path / "run/ckpt/iteration_20.pth.tar") if absolute else "run/ckpt/iteration_20.pth.tar"
    edits = f"""
        main_config.exp_name = 'run'
        main_config.policy.pretrained_path = {weights!r}
        main_config.policy.learn.resume_training = True
        main_config.policy.learn.learner = dict(hook=dict(load_ckpt_before_run='run/ckpt/iteration_20.pth.tar'))
    """
    with caplog.at_level(logging.INFO, logger="ding_lite"):
        serial_pipeline(write_config("both.py", "cartpole_dqn", edits), 0, max_train_iter=10, quiet=True)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == "ding_lite"]
    assert len(warnings) == 1 and "resume" in warnings[0] and "ignored" in warnings[0], warnings
    assert "loaded checkpoint" not in caplog.text
    [new_dir] = Path().glob("run_*")
    assert re.fullmatch(r"run_\d{6}_\d{6}", new_dir.name)
    result = read_json(new_dir / "result.json")
    assert result["train_iter"] == 10 and result["env_step"] < source_env_step  # counted from 0, not resumed
    assert read_json(new_dir / "load_report.json")["source"] == weights
    assert {path.name: path.read_bytes() for path in Path("run/ckpt").glob("*.pth.tar")} == ckpts


# --- ding ckpt adapt -------------------------------------------------------------------------------------------
def test_ckpt_adapt_dqn_into_grown_action_space_then_strict_pretrained_path(capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config("grown.py", "cartpole_dqn", GROWN_DQN)
    assert cli.main(["ckpt", "adapt", str(DQN_FIXTURE), "--config", config, "--out", "init.pth.tar"]) == 0
    out = capsys.readouterr().out
    assert "head.A.1.0.weight: source (2, 64) vs model (3, 64)" in out
    assert "head.A.1.0.bias: source (2,) vs model (3,)" in out
    adapted, fixture = model_state("init.pth.tar"), model_state(DQN_FIXTURE)
    assert adapted["head.A.1.0.weight"].shape == (3, 64)
    assert same_weights({k: v for k, v in fixture.items() if not k.startswith("head.A.1.")}, adapted)
    config = write_config("grown.py", "cartpole_dqn", GROWN_DQN + "main_config.policy.pretrained_path = 'init.pth.tar'")
    serial_pipeline(config, 0, max_train_iter=1, quiet=True)
    report = read_json("cartpole_dqn_seed0/load_report.json")
    assert len(report["loaded"]) == 14 and not report["mismatched"] and not report["missing"]


def test_ckpt_adapt_exclude_and_rename(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = model_state(DQN_FIXTURE)
    torch.save({"model": {key.replace("encoder.", "trunk.", 1): value for key, value in fixture.items()}}, "old.pth")
    argv = ["ckpt", "adapt", "old.pth", "-c", str(DQN_CONFIG), "--out", "new.pth.tar", "--rename", "trunk=encoder"]
    assert cli.main([*argv, "--exclude", "head.V.*"]) == 0
    assert re.search(r"excluded\s+4\n", capsys.readouterr().out)
    adapted = model_state("new.pth.tar")
    for key, value in fixture.items():
        assert torch.equal(adapted[key], value) != key.startswith("head.V."), key


def test_ckpt_adapt_sac_into_extra_action_dim(capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config("grown.py", "pendulum_sac", GROWN_SAC)
    assert cli.main(["ckpt", "adapt", str(SAC_FIXTURE), "-c", config, "--out", "a.pth.tar"]) == 0
    report = torch.load("a.pth.tar", weights_only=True)["ding_lite"]["load_report"]
    expected = {"actor_head.2.mu.weight": ([1, 128], [2, 128]), "actor_head.2.mu.bias": ([1], [2]),
                "actor_head.2.log_sigma_layer.weight": ([1, 128], [2, 128]),
                "actor_head.2.log_sigma_layer.bias": ([1], [2]),
                "critic_head.0.0.weight": ([128, 4], [128, 5]),
                "critic_head.1.0.weight": ([128, 4], [128, 5])}  # fmt: skip
    assert {key: (a, b) for key, a, b in report["mismatched"]} == expected
    assert len(report["loaded"]) == 14 and not report["unexpected"] and not report["missing"]
    assert "critic_head.1.0.weight: source (128, 4) vs model (128, 5)" in capsys.readouterr().out


# --- safetensors are never unpickled ---------------------------------------------------------------------------
def test_safetensors_loading_never_unpickles(in_tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = loaded_policy(DQN_CONFIG, DQN_FIXTURE)
    folder, real_load = policy.save_pretrained(in_tmp_path), torch.load

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("loading a safetensors folder unpickled something")

    for module, name in ((pickle, "Unpickler"), (pickle, "load"), (pickle, "loads"), (torch, "load")):
        monkeypatch.setattr(module, name, refuse)
    weights, meta = read_weights(folder)
    assert meta is not None and meta["policy_type"] == "dqn" and same_weights(weights, policy.model.state_dict())
    assert same_weights(Policy.from_pretrained(in_tmp_path).model.state_dict(), policy.model.state_dict())
    calls: list[Any] = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k.get("weights_only")) or real_load(*a, **k))
    read_weights(DQN_FIXTURE)
    assert calls == [True]


# --- export_best -----------------------------------------------------------------------------------------------
def test_export_best_exports_each_new_best(monkeypatch: pytest.MonkeyPatch) -> None:
    evaluations: list[int] = []
    exports: list[bool] = []
    real_save = Policy.save_pretrained

    def rising_returns(env: Any, act: Any, n_episode: int, seed: int, *hooks: Any) -> list[float]:
        evaluations.append(len(evaluations))
        return [10.0 + len(evaluations)] * n_episode  # every evaluation is a new best, far below the stop value

    def checked_save(self: Policy, directory: str | Path) -> Path:
        out = real_save(self, directory)
        exports.append(same_weights(load_file(str(out / "model.safetensors")), self.model.state_dict()))
        return out

    monkeypatch.setattr("ding_lite.worker.evaluator.run_episodes", rising_returns)
    monkeypatch.setattr(Policy, "save_pretrained", checked_save)
    edits = "main_config.policy.eval.evaluator.eval_freq = 5\nmain_config.policy.learn.learner = dict(export_best=True)"
    serial_pipeline(write_config("cfg.py", "cartpole_dqn", edits), 0, max_train_iter=20, quiet=True)
    assert len(evaluations) >= 3 and exports == [True] * len(evaluations)
    best = Path("cartpole_dqn_seed0/ckpt/best/pretrained_model")
    assert same_weights(load_file(str(best / "model.safetensors")), model_state(best.parents[1] / "ckpt_best.pth.tar"))
    assert read_json(best / "config.json")["policy_type"] == "dqn"


# --- what needs its own process (started by `background`) ------------------------------------------------------
@pytest.mark.parametrize("name", ["ppo", "dqn", "sac"])
def test_from_pretrained_in_fresh_process_gives_identical_actions_and_outputs(
    background: dict[str, Any], name: str
) -> None:
    assert finished(background, "probe").returncode == 0
    fresh = torch.load(background["work"] / "probe.pt", weights_only=True)
    probe = runpy.run_path(str(background["work"] / "probe.py"))["probe"]
    original = probe(background["originals"][name], background["obs"][name])
    assert set(original) == {key.split("/", 1)[1] for key in fresh if key.startswith(name + "/")}
    for key, value in original.items():
        assert torch.equal(fresh[f"{name}/{key}"], value), f"{name} {key} differs after from_pretrained"


def test_export_writes_safetensors_without_aliases_and_config_json(background: dict[str, Any]) -> None:
    folder = background["work"] / "ppo" / "pretrained_model"
    weights, saved = load_file(str(folder / "model.safetensors")), torch.load(background["ckpt"], weights_only=True)
    assert len(weights) == 14 and not [key for key in weights if key.startswith(ALIASES)]
    assert same_weights(weights, saved["model"])
    config = read_json(folder / "config.json")
    assert config["policy_type"] == "ppo" and config["ding_lite_version"] == ding_lite.__version__
    assert config["policy"]["model"]["encoder_hidden_size_list"] == [64, 64, 128]
    assert config["input_features"] == {"observation": {"shape": [4]}}
    assert config["output_features"] == {"action": {"shape": [2], "kind": "discrete"}}
    value_norm = saved["ding_lite"]["value_norm"]
    assert value_norm["count"] > 1  # the statistics of 16 trained iterations, not a fresh RunningMeanStd
    assert config["normalization"] == {"value_norm": value_norm}
    sac = load_file(str(background["work"] / "sac" / "pretrained_model" / "model.safetensors"))
    assert len(sac) == 20 and not [key for key in sac if key.startswith(ALIASES)]


def test_eval_of_exported_folder_matches_eval_of_checkpoint(background: dict[str, Any]) -> None:
    proc = finished(background, "eval")
    assert proc.returncode == 0 and "ppo/pretrained_model: mean return" in proc.stdout
    folder = read_json(background["work"] / "cartpole_ppo_seed0" / "eval_result.json")
    ckpt = eval_pipeline(str(PPO_CONFIG), 0, load_path=background["ckpt"])
    assert folder["episode_returns"] == ckpt["episode_returns"]


def test_export_of_di_engine_file_needs_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", str(SAC_FIXTURE), "--out", "sac"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "pendulum_sac_seed0_best.pth.tar" in line and "-c" in line and not Path("sac").exists()


def test_missing_pretrained_path_names_it(background: dict[str, Any]) -> None:
    config = write_config("cfg.py", "cartpole_dqn", "main_config.policy.pretrained_path = 'no/such.pth.tar'")
    with pytest.raises(FileNotFoundError, match="no/such.pth.tar"):
        serial_pipeline(config, 0, max_train_iter=1, quiet=True)
    proc = finished(background, "missing")
    assert proc.returncode == 2 and "no/such.pth.tar" in one_error_line(proc.stderr)
