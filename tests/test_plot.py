"""``ding plot``: reading runs, averaging seeds, steps to a target, the image, and its user errors.

Synthetic runs are written with the engine's own TensorBoard writer (``ScalarWriter``), so the files
match what training writes. There are two arms of three seeds each, with known curves. ``alpha``'s
seeds are logged at different steps, which exercises the interpolation. ``beta_seed0`` has a second
event file, as a resumed run does. The last test trains two real cartpole DQN seeds, resumes both,
and plots them with the ``ding`` command in a subprocess.
"""

from __future__ import annotations

import builtins
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import RunDing

from ding_lite.entry.cli import main
from ding_lite.plot.figure import NEEDS_MATPLOTLIB, first_reach, seed_band, steps_to_target
from ding_lite.plot.runs import (
    DEFAULT_TAG,
    LOG_SUBDIR,
    Curve,
    PlotError,
    arm_name,
    group_arms,
    read_run,
    read_runs,
    resolve_tag,
)
from ding_lite.utils.log import ScalarWriter

DQN_CONFIG = Path(__file__).resolve().parents[1] / "dizoo_configs" / "cartpole_dqn_config.py"
ITER_TAG = "evaluator_iter/reward_mean"
LOSS_TAG = "learner_iter/total_loss_avg"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# env_step -> value of each seed's evaluator_step/reward_mean; each file is one list (a second one is a resume)
ALPHA = {
    "alpha_seed0": [{0: 0.0, 100: 10.0, 200: 20.0, 300: 30.0}],
    "alpha_seed1": [{0: 6.0, 150: 21.0, 300: 36.0}],
    "alpha_seed2": [{50: 10.0, 100: 20.0, 200: 40.0, 350: 70.0}],
}
BETA = {
    "beta_seed0": [{0: 0.0, 100: 5.0}, {200: 10.0, 300: 15.0}],
    "beta_seed1": [{0: 1.0, 100: 6.0, 200: 11.0, 300: 16.0}],
    "beta_seed2": [{0: 2.0, 100: 7.0, 200: 12.0, 300: 17.0}],
}


def write_run(root: Path, files: list[dict[int, float]]) -> Path:
    """One event file per dict, in order. Each point is logged under both evaluator variants (the iter
    variant at step // 10) plus a loss tag, as the engine logs them."""
    for points in files:
        writer = ScalarWriter(root / LOG_SUBDIR)
        for step, value in points.items():
            writer.add_scalar(DEFAULT_TAG, value, step)
            writer.add_scalar(ITER_TAG, value, step // 10)
            writer.add_scalar(LOSS_TAG, 1.0, step // 10)
        writer.close()
    return root


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for name, files in {**ALPHA, **BETA}.items():
        write_run(root / name, files)
    return root


def curve_of(runs_dir: Path, name: str, tag: str = DEFAULT_TAG) -> Curve:
    return read_run(runs_dir / name).curve(tag)


# --- reading runs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("run_name", "arm"),
    [
        ("reacher_sac_scratch_seed0", "reacher_sac_scratch"),
        ("reacher_sac_priors_seed12", "reacher_sac_priors"),
        ("cartpole_dqnseed3", "cartpole_dqn"),
        ("cartpole_dqn_seed1_250101_120000", "cartpole_dqn"),  # the engine's suffix for an existing name
        ("exp_seed1_lr3", "exp_seed1_lr3"),  # the seed is not at the end
        ("seed0", "seed0"),
    ],
)
def test_arm_name_drops_a_trailing_seed(run_name: str, arm: str) -> None:
    assert arm_name(run_name) == arm


def test_runs_group_into_arms_by_seed_suffix_in_the_order_given(runs_dir: Path) -> None:
    given = ["beta_seed1", "alpha_seed0", "beta_seed0", "alpha_seed2", "alpha_seed1", "beta_seed2"]
    arms = group_arms(read_runs([runs_dir / name for name in given]))
    assert {arm: [run.name for run in runs] for arm, runs in arms.items()} == {
        "beta": ["beta_seed1", "beta_seed0", "beta_seed2"],
        "alpha": ["alpha_seed0", "alpha_seed2", "alpha_seed1"],
    }
    assert list(arms) == ["beta", "alpha"]


def test_a_run_given_twice_is_read_once(runs_dir: Path) -> None:
    runs = read_runs([runs_dir / "alpha_seed0", runs_dir / "alpha_seed0" / ".", runs_dir / "alpha_seed1"])
    assert [run.name for run in runs] == ["alpha_seed0", "alpha_seed1"]


def test_read_run_gives_every_tag_with_exact_steps_and_values(runs_dir: Path) -> None:
    run = read_run(runs_dir / "alpha_seed1")
    assert sorted(run.curves) == sorted([DEFAULT_TAG, ITER_TAG, LOSS_TAG])
    curve = run.curve(DEFAULT_TAG)
    assert curve.steps.dtype == np.int64 and curve.steps.tolist() == [0, 150, 300]
    assert curve.values.tolist() == [6.0, 21.0, 36.0]
    assert run.curve(ITER_TAG).steps.tolist() == [0, 15, 30]
    assert curve.resumes.size == 0


def test_a_resumed_run_reads_across_files_and_marks_the_first_step_of_the_later_file(runs_dir: Path) -> None:
    assert len(list((runs_dir / "beta_seed0" / LOG_SUBDIR).glob("events.out.tfevents.*"))) == 2
    curve = curve_of(runs_dir, "beta_seed0")
    assert curve.steps.tolist() == [0, 100, 200, 300]
    assert curve.values.tolist() == [0.0, 5.0, 10.0, 15.0]
    assert curve.resumes.tolist() == [200]
    assert curve_of(runs_dir, "beta_seed0", ITER_TAG).resumes.tolist() == [20]


def test_a_later_file_repeating_steps_wins(tmp_path: Path) -> None:
    root = write_run(tmp_path / "repeat_seed0", [{0: 1.0, 100: 2.0, 200: 3.0}, {100: 20.0, 200: 30.0, 300: 40.0}])
    curve = read_run(root).curve(DEFAULT_TAG)
    assert curve.steps.tolist() == [0, 100, 200, 300]
    assert curve.values.tolist() == [1.0, 20.0, 30.0, 40.0]
    assert curve.resumes.tolist() == [100]


@pytest.mark.parametrize(
    ("tag", "x", "read", "axis"),
    [
        (DEFAULT_TAG, None, DEFAULT_TAG, "env_step"),
        (DEFAULT_TAG, "train_iter", ITER_TAG, "train_iter"),
        (ITER_TAG, None, ITER_TAG, "train_iter"),
        (ITER_TAG, "env_step", DEFAULT_TAG, "env_step"),
        ("validation/loss", None, "validation/loss", "step"),
    ],
)
def test_x_picks_the_step_or_iter_variant_of_a_tag(tag: str, x: str | None, read: str, axis: str) -> None:
    assert resolve_tag(tag, x) == (read, axis)


def test_x_with_a_tag_without_variants_is_an_error() -> None:
    with pytest.raises(PlotError, match=r"tag 'validation/loss' has no env_step/train_iter variants"):
        resolve_tag("validation/loss", "env_step")


# --- seeds and targets ------------------------------------------------------------------------------------
def test_band_is_mean_min_max_over_seeds_on_the_common_range(runs_dir: Path) -> None:
    band = seed_band("alpha", [curve_of(runs_dir, name) for name in ALPHA])
    # common range 50..300; seeds interpolated there: y = x/10, y = x/10 + 6 and y = x/5
    assert band.x.tolist() == [50.0, 100.0, 150.0, 200.0, 300.0]
    seeds = np.array([[5, 10, 15, 20, 30], [11, 16, 21, 26, 36], [10, 20, 30, 40, 60]], dtype=np.float64)
    np.testing.assert_allclose(band.mean, seeds.mean(axis=0), rtol=0, atol=1e-12)
    assert band.low.tolist() == [5.0, 10.0, 15.0, 20.0, 30.0]
    assert band.high.tolist() == [11.0, 20.0, 30.0, 40.0, 60.0]


def test_one_seed_is_its_own_curve(runs_dir: Path) -> None:
    curve = curve_of(runs_dir, "alpha_seed2")
    band = seed_band("alpha", [curve])
    assert band.x.tolist() == curve.steps.tolist()
    assert band.mean.tolist() == band.low.tolist() == band.high.tolist() == curve.values.tolist()


def test_seeds_without_a_common_range_are_an_error_naming_the_arm() -> None:
    early = Curve(np.array([0, 10]), np.array([1.0, 2.0]), np.array([], dtype=np.int64))
    late = Curve(np.array([20, 30]), np.array([1.0, 2.0]), np.array([], dtype=np.int64))
    with pytest.raises(PlotError, match=r"the seeds of arm 'gap' share no x range"):
        seed_band("gap", [early, late])


@pytest.mark.parametrize(
    ("target", "firsts", "median"),
    [
        (20.0, [200, 150, 100], 150.0),
        (35.0, [None, 300, 200], 300.0),  # one seed never gets there: it counts as the latest
        (50.0, [None, None, 350], None),  # most never get there: the median is not reached
    ],
)
def test_steps_to_target_is_the_median_of_each_seeds_first_reach(
    runs_dir: Path, target: float, firsts: list[int | None], median: float | None
) -> None:
    curves = [curve_of(runs_dir, name) for name in ALPHA]
    assert [first_reach(curve, target) for curve in curves] == firsts
    (result,) = steps_to_target({"alpha": curves}, target)
    assert (result.arm, result.first_steps, result.median) == ("alpha", firsts, median)


# --- the command ------------------------------------------------------------------------------------------
def table_row(stdout: str, arm: str) -> list[str]:
    (line,) = [line for line in stdout.splitlines() if line.startswith(arm + " ")]
    return re.split(r"\s{2,}", line.strip())


def test_plot_writes_a_png_atomically_and_prints_steps_to_target(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib.image

    out = tmp_path / "figures" / "curves.png"
    runs = [str(runs_dir / name) for name in [*ALPHA, *BETA]]
    assert main(["plot", *runs, "--target", "20", "--out", str(out), "--title", "alpha vs beta"]) == 0
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 0
    image = matplotlib.image.imread(out)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert [path.name for path in out.parent.iterdir()] == ["curves.png"]  # no temporary file left behind
    stdout = capsys.readouterr().out
    assert f"wrote {out}: {DEFAULT_TAG} against env_step for alpha (3 seeds), beta (3 seeds)" in stdout
    assert table_row(stdout, "alpha") == ["alpha", "3", "3/3", "150", "200 150 100"]
    assert table_row(stdout, "beta") == ["beta", "3", "0/3", "not reached", "not reached not reached not reached"]


def test_plot_against_train_iter_reads_the_iter_variant(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "iter.png"
    assert main(["plot", str(runs_dir / "alpha_seed0"), "--x", "train_iter", "--target", "20", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert f"{ITER_TAG} against train_iter for alpha (1 seed)" in stdout
    assert table_row(stdout, "alpha") == ["alpha", "1", "1/1", "20", "20"]
    assert out.read_bytes().startswith(PNG_SIGNATURE)


def test_missing_tag_is_exit_2_naming_the_directory_and_its_tags(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = runs_dir / "alpha_seed0"
    out = tmp_path / "never.png"
    assert main(["plot", str(run), "--tag", "evaluator_envstep/reward_mean", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ding: error: '{run}' has no scalar tag 'evaluator_envstep/reward_mean'")
    assert "closest: 'evaluator_step/reward_mean'" in err
    assert all(tag in err for tag in (DEFAULT_TAG, ITER_TAG, LOSS_TAG))
    assert err.count("\n") == 1 and not out.exists()


def test_directory_without_event_files_is_exit_2_naming_it(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty_seed0"
    (empty / LOG_SUBDIR).mkdir(parents=True)
    assert main(["plot", str(runs_dir / "alpha_seed0"), str(empty), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    expected = f"'{empty}' has no TensorBoard event files in log/serial/; pass the experiment directory of a run"
    assert err == f"ding: error: {expected}\n"


def test_without_matplotlib_plot_exits_2_saying_how_to_install_it(
    runs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named '{name}'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    out = tmp_path / "curves.png"
    assert main(["plot", str(runs_dir / "alpha_seed0"), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"ding: error: {NEEDS_MATPLOTLIB}\n"
    assert NEEDS_MATPLOTLIB == "ding plot needs matplotlib: pip install 'ding_lite[plot]'"
    assert not out.exists()


def test_end_to_end_two_trained_and_resumed_seeds_plot_through_the_ding_command(
    run_ding: RunDing, tmp_path: Path
) -> None:
    """Two cartpole DQN seeds train 150 iterations, resume to 300, and are plotted by ``ding plot``."""
    train = ["-m", "serial", "-c", DQN_CONFIG, "-s", "0", "-s", "1", "-q"]
    first = run_ding(*train, "--train-iter", "150", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = {seed: curve_of(tmp_path, f"cartpole_dqn_seed{seed}").steps[-1] for seed in (0, 1)}
    resumed = run_ding(*train, "--train-iter", "300", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    for seed in (0, 1):
        curve = curve_of(tmp_path, f"cartpole_dqn_seed{seed}")
        assert curve.resumes.tolist() == [curve.steps[curve.steps > before[seed]][0]]

    plotted = run_ding("plot", "cartpole_dqn_seed0", "cartpole_dqn_seed1", "--target", "1", cwd=tmp_path)
    assert plotted.returncode == 0, plotted.stderr
    assert "for cartpole_dqn (2 seeds)" in plotted.stdout
    # every return is at least 1, and the evaluator runs first at env step 0
    assert table_row(plotted.stdout, "cartpole_dqn") == ["cartpole_dqn", "2", "2/2", "0", "0 0"]
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG_SIGNATURE)
