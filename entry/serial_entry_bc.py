"""``serial_pipeline_bc`` / ``ding -m bc``: train a policy offline on a LeRobot dataset.

The same learner, hooks, checkpoints, TensorBoard logs and exact resume as RL; a dataset sampler takes
the collector's place. Each loop: validate when due (every ``policy.learn.val_freq`` updates, on the held
out episodes; a new best validation loss writes ``ckpt/ckpt_best.pth.tar`` and exports
``<exp>/checkpoints/best/pretrained_model/``), then one update on the next batch of the sampler. At the
end the final checkpoint is written and exported to ``<exp>/checkpoints/last/pretrained_model/`` (LeRobot's
layout); with ``policy.learn.save_freq`` every that many updates go to ``checkpoints/<step>/`` too.

A checkpoint holds, beside the policy's learn state: the sampler's epoch and position, every RNG, the
validation schedule and best loss, the learner's monitor window and the log positions, so a run stopped
at any iteration (``--train-iter``, SIGTERM, SIGKILL) and resumed ends identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ding_lite.checkpoint import io as ckpt_io
from ding_lite.checkpoint.resume_guard import check_resume_config
from ding_lite.config import compile_config
from ding_lite.config.compile import prepare_exp_dir, save_config_files
from ding_lite.config.loader import to_plain
from ding_lite.datasets import LeRobotDataset
from ding_lite.datasets.balanced import BalancedBatchSampler
from ding_lite.datasets.sampler import BatchSampler
from ding_lite.ddp.collectives import lead_decides
from ding_lite.ddp.replica import NullLogger, ReplicaLearner
from ding_lite.ddp.sampler import ShardedSampler
from ding_lite.ddp.world import World, check_resume_world_size
from ding_lite.entry.build import ConfigInput, load_input_config
from ding_lite.envs import make_env_manager
from ding_lite.errors import ConfigError, TrainingInterrupted
from ding_lite.learner import BaseLearner
from ding_lite.policy import POLICY_REGISTRY
from ding_lite.policy.weights import load_pretrained, pretrained_spec
from ding_lite.utils.log import ExperimentLogger, Progress
from ding_lite.utils.rng import capture_global_rng, restore_global_rng, seed_everything
from ding_lite.utils.signals import StopRequest
from ding_lite.utils.threads import single_thread_compute
from ding_lite.worker import InteractionEvaluator

log = logging.getLogger("ding_lite")


@dataclass
class BCRun:
    cfg: Any
    policy: Any  # a policy trained offline: BCPolicy, ACTTrainingPolicy or RewardClassifierPolicy
    learner: BaseLearner
    logger: ExperimentLogger
    progress: Progress
    train_set: LeRobotDataset
    val_set: LeRobotDataset | None
    sampler: BatchSampler | BalancedBatchSampler | ShardedSampler
    stop_request: StopRequest
    evaluator: InteractionEvaluator | None = None  # with policy.learn.best_by='eval_return'
    world: World | None = None  # this process's place in a torchrun job (ding_lite.ddp.bc_run); None: the only one
    validation: dict[str, Any] = field(default_factory=lambda: {"last_iter": None, "last": None, "best": None})
    started: float = field(default_factory=time.perf_counter)

    @property
    def exp_dir(self) -> Path:
        return Path(self.cfg.exp_name)

    def next_batch(self) -> dict[str, torch.Tensor]:
        policy = self.policy
        return self.train_set.batch(self.sampler.next_batch(), policy.dataset_windows(), keys=policy.dataset_keys())

    def validate_if_due(self) -> None:
        freq, done = int(self.cfg.policy.learn.val_freq), self.validation["last_iter"]
        iteration = self.learner.train_iter
        if self.val_set is None or freq <= 0 or iteration % freq != 0 or done == iteration:
            return
        metrics = self.measure_validation(self.val_set)
        loss, others = metrics.pop("loss"), metrics
        best = self.validation["best"]
        self.validation.update(last_iter=iteration, last=loss)
        self.logger.scalar("validation/loss", loss, iteration)
        for name, value in others.items():
            self.logger.scalar(f"validation/{name}", value, iteration)
        if others:
            self.validation["last_metrics"] = others
        shown = "".join(f" {name} {value:.4g}" for name, value in others.items())
        self.logger.text("evaluator", f"train_iter {iteration}{shown} validation_loss {loss:.6g}")
        self.progress.event(
            f"[validation] train_iter {iteration}: loss {loss:.5g} (best {min(loss, best or loss):.5g}){shown}"
        )
        if best is None or loss < best:
            self.validation["best"] = loss
            if others:
                self.validation["best_metrics"] = others
            if self.evaluator is None:
                self.save_best()

    @property
    def global_batch_size(self) -> int:
        """Samples per update, over every process (one here)."""
        return int(self.cfg.policy.learn.batch_size)

    def samples_seen(self) -> int:
        """The step axis of ``*_step`` TensorBoard tags in offline training: dataset samples trained on."""
        return self.learner.train_iter * self.global_batch_size

    def measure_validation(self, dataset: LeRobotDataset) -> dict[str, float]:
        return validation_metrics(self.policy, dataset, self.global_batch_size)

    def save_best(self) -> None:
        self.learner.save_checkpoint("ckpt_best.pth.tar")
        self.export("best")

    def export(self, name: str) -> None:
        """``<exp>/checkpoints/<name>/pretrained_model/``."""
        self.policy.save_pretrained(self.exp_dir / "checkpoints" / name)

    def write_config(self) -> None:
        save_config_files(self.cfg, self.exp_dir)

    def evaluate_if_due(self) -> None:
        """With ``best_by='eval_return'``: play ``n_evaluator_episode`` episodes when due; a new best return
        writes ckpt_best and checkpoints/best."""
        evaluator, iteration = self.evaluator, self.learner.train_iter
        if evaluator is None or not evaluator.should_eval(iteration):
            return
        if hasattr(self.policy, "reset_eval"):
            self.policy.reset_eval()
        _, value = evaluator.eval(iteration, self.samples_seen())
        self.progress.event(f"[eval] train_iter {iteration}: mean return {value:.2f} (best {evaluator.best_value:.2f})")

    def check_stop_request(self) -> None:
        request = self.stop_request
        if not request.requested:
            return
        path = self.learner.save_checkpoint(logged=False)
        self.write_result(interrupted=request.signal_name)
        self.close()
        raise TrainingInterrupted(str(request.signal_name), request.signal_number, str(path), self.learner.train_iter)

    def write_result(self, interrupted: str | None = None) -> dict[str, Any]:
        result = self.result(interrupted)
        (self.exp_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        return result

    def result(self, interrupted: str | None = None) -> dict[str, Any]:
        result = {
            "train_iter": self.learner.train_iter,
            "validation_loss": self.validation["last"],
            "best_validation_loss": self.validation["best"],
            "best_eval_return": self.evaluator.best_value if self.evaluator is not None else None,
            "wall_time_s": round(time.perf_counter() - self.started, 3),
            "seed": int(self.cfg.seed),
            "exp_dir": str(self.exp_dir),
            "interrupted": interrupted,
        }
        for key, name in (("validation_metrics", "last_metrics"), ("best_validation_metrics", "best_metrics")):
            if name in self.validation:  # the policy's own validation_metrics (the reward classifier's)
                result[key] = self.validation[name]
        return result

    def close(self) -> None:
        self.stop_request.uninstall()
        self.progress.close()
        if self.evaluator is not None:
            self.evaluator.env.close()
        self.logger.close()

    # --- the resumable state beside the policy's ---------------------------------------------------------
    def capture(self) -> dict[str, Any]:
        return {
            "config": to_plain(self.cfg),
            "rng": capture_global_rng(),
            "learner": self.learner.state_dict(),
            "sampler": self.sampler.state_dict(),
            "validation": dict(self.validation),
            "evaluator": self.evaluator.state_dict() if self.evaluator is not None else None,
            "logs": self.logger.state_dict(),
        }

    def restore(self) -> None:
        state = self.learner.loaded_state
        if state is None or not self.learner.resume_training:
            return
        extras = state.get(ckpt_io.EXTRAS, {})
        if "sampler" not in extras:
            raise ConfigError(
                f"'{self.learner.loaded_path}' is not a checkpoint of a ding -m bc run; it cannot resume one"
            )
        self.learner.load_state_dict(extras["learner"])
        self.sampler.load_state_dict(extras["sampler"])
        self.validation = dict(extras["validation"])
        if self.evaluator is not None and extras.get("evaluator") is not None:
            self.evaluator.load_state_dict(extras["evaluator"])
        self.logger.restore(extras["logs"])
        restore_global_rng(extras["rng"])
        log.info("resumed exactly from %s at train_iter %d", self.learner.loaded_path, self.learner.train_iter)


def validation_metrics(policy: Any, dataset: LeRobotDataset, size: int) -> dict[str, float]:
    """``{"loss": ...}``, plus whatever else the policy's own ``validation_metrics`` measures (the reward
    classifier's accuracies); in batches of ``size`` frames (the training batch size, over all processes)."""
    own = getattr(policy, "validation_metrics", None)
    if own is not None:
        return dict(own(dataset, size))
    return {"loss": validation_loss(policy, dataset, size)}


def validation_loss(policy: Any, dataset: LeRobotDataset, size: int) -> float:
    """Mean loss over every frame of ``dataset``, in order, in batches of ``size`` frames."""
    keys, windows = policy.dataset_keys(), policy.dataset_windows()
    total = 0.0
    for start in range(0, len(dataset), size):
        indices = np.arange(start, min(start + size, len(dataset)))
        total += policy.validation_loss(dataset.batch(indices, windows, keys=keys)) * len(indices)
    return total / len(dataset)


def split_episodes(dataset_cfg: Any, available: list[int], source: str) -> tuple[list[int], list[int]]:
    """(training episodes, validation episodes) from ``dataset.episodes`` / ``val_episodes`` / ``val_ratio``."""
    chosen = [int(e) for e in dataset_cfg.episodes] if dataset_cfg.episodes is not None else available
    if dataset_cfg.val_episodes is not None:
        held = [int(e) for e in dataset_cfg.val_episodes]
    else:
        ratio = float(dataset_cfg.val_ratio)
        if not 0 <= ratio < 1:
            raise ConfigError(f"config key 'dataset.val_ratio' is {ratio} in {source}; it must be in [0, 1)")
        held = chosen[len(chosen) - math.ceil(ratio * len(chosen)) :] if ratio > 0 and len(chosen) > 1 else []
    train = [e for e in chosen if e not in set(held)]
    if not train:
        raise ConfigError(f"no training episodes are left in {source} once {len(held)} are held out for validation")
    return train, held


def fill_model_config(cfg: Any, dataset: LeRobotDataset, source: str) -> None:
    """``policy.model``'s dataset-dependent keys from the dataset's features (the policy's own
    ``configure_from_dataset``, else BC's obs_shape, action_shape and discrete)."""
    model = cfg.policy.model
    for name in [*model.obs_features, *([model.action_feature] if "action_feature" in model else [])]:
        if name not in dataset.features:
            raise ConfigError(
                f"policy.model names feature '{name}' in {source}, which the dataset '{dataset.root}' does not have "
                f"(it has {', '.join(dataset.features)})"
            )
    configure = getattr(POLICY_REGISTRY.get(str(cfg.policy.type)), "configure_from_dataset", None)
    if configure is not None:
        configure(cfg.policy, dataset.features)
        return
    images = [n for n in model.obs_features if dataset.features[n].visual]
    if len(images) > 1:
        raise ConfigError(f"policy.model.obs_features in {source} names {len(images)} camera features "
                          f"({', '.join(images)}); BC takes one, ACT takes several")  # fmt: skip
    if images:
        model.image_feature, model.image_shape = images[0], list(dataset.features[images[0]].chw)
    states = [n for n in model.obs_features if n not in images]
    model.obs_shape = int(sum(int(np.prod(dataset.features[n].shape)) for n in states))
    action = dataset.features[model.action_feature]
    if model.discrete is None:
        model.discrete = action.dtype.startswith("int")
    if model.action_shape is None:
        model.action_shape = int(dataset.arrays(model.action_feature).max()) + 1 if model.discrete else int(
            np.prod(action.shape)
        )  # fmt: skip


def build_bc(input_cfg: ConfigInput, seed: int, quiet: bool, source: str | None, world: World | None = None) -> BCRun:
    """The run of one process; ``world``: this process's place in a torchrun job (None: the only process)."""
    main, create, source = load_input_config(input_cfg, source)
    cfg = compile_config((main, create), seed, source=source, save_cfg=False)
    if "dataset" not in cfg or not cfg.dataset.root:
        raise ConfigError(f"{source} has no dataset.root; ding -m bc trains on a dataset (and policy type 'bc')")
    whole = LeRobotDataset(cfg.dataset.root)
    train_episodes, val_episodes = split_episodes(cfg.dataset, [int(e) for e in whole.episode_index], source)
    fill_model_config(cfg, whole, source)
    resume = bool(cfg.policy.learn.resume_training)
    policy_cls = POLICY_REGISTRY.get(str(cfg.policy.type))
    if not getattr(policy_cls, "needs_dataset", False):
        raise ConfigError(f"policy type '{cfg.policy.type}' in {source} does not train offline; use 'bc' or 'act'")
    if whole.stats is None:
        raise ConfigError(
            f"'{whole.root}/meta/stats.json' is missing: BC normalises its inputs with the dataset's stats"
        )
    best_by = str(cfg.policy.learn.best_by)
    if best_by not in ("validation", "eval_return"):
        raise ConfigError(
            f"config key 'policy.learn.best_by' is {best_by!r} in {source}; use 'validation' or 'eval_return'"
        )
    if world is None:
        cfg.exp_name = prepare_exp_dir(str(cfg.exp_name), resume=resume, renew_dir=True)
    else:  # the config passed every check above on every rank; rank 0 makes the directory and names it
        world.connect()
        cfg.exp_name = lead_decides(lambda: prepare_exp_dir(str(cfg.exp_name), resume=resume, renew_dir=True))
    lead = world is None or world.lead  # the process that writes
    seed_everything(seed)
    single_thread_compute()
    policy: Any = policy_cls(cfg.policy)
    policy.set_normalisation(whole.stats)
    spec = pretrained_spec(cfg.policy)
    if spec is not None:  # weights to start from (a BC model keeps its own normalisation buffers)
        load_pretrained(policy, spec, Path(cfg.exp_name) if lead else None)
    logger = ExperimentLogger(cfg.exp_name) if lead else NullLogger(cfg.exp_name)
    learner_cls = BaseLearner if lead else ReplicaLearner
    learner = learner_cls(cfg.policy.learn.learner, policy, cfg.exp_name, logger, policy_type=str(cfg.policy.type),
                          resume_training=resume)  # fmt: skip
    train_set = LeRobotDataset(cfg.dataset.root, episodes=train_episodes)
    val_set = LeRobotDataset(cfg.dataset.root, episodes=val_episodes) if val_episodes else None
    batch_size = int(cfg.policy.learn.batch_size) * (1 if world is None else world.size)  # over all processes
    make_sampler = getattr(policy, "dataset_sampler", None)  # the reward classifier's balanced batches
    sampler = make_sampler(train_set, batch_size, seed) if make_sampler else train_set.sampler(batch_size, seed=seed)
    if world is not None:
        sampler = ShardedSampler(sampler, world.rank, world.size)
    stop_request = StopRequest()
    run_cls: type[BCRun] = BCRun
    if world is not None:  # wraps the policy's loss in DDP, seeds each rank (ding_lite.ddp.bc_run)
        from ding_lite.ddp.bc_run import DistributedBCRun

        run_cls = DistributedBCRun
    run = run_cls(cfg, policy, learner, logger, Progress(str(cfg.exp_name), quiet=quiet or not lead), train_set,
                  val_set, sampler, stop_request, world=world)  # fmt: skip
    if best_by == "eval_return" and lead:  # the other ranks of a torchrun job do not evaluate
        env = make_env_manager(cfg.env, cfg.env.manager, int(cfg.env.evaluator_env_num))
        run.evaluator = InteractionEvaluator(cfg.policy.eval.evaluator, env, policy, logger, seed=seed,
                                             n_episode=int(cfg.env.n_evaluator_episode), stop_value=math.inf,
                                             save_best=run.save_best)  # fmt: skip
    learner.extra_state = run.capture
    learner.before_load = lambda state, path: _guard(run, state, path)
    log.info("experiment directory: %s (%d training and %d validation episodes)", cfg.exp_name,
             len(train_episodes), len(val_episodes))  # fmt: skip
    return run


def _guard(run: BCRun, state: dict[str, Any], path: Path) -> None:
    extras = state.get(ckpt_io.EXTRAS, {})
    if run.learner.resume_training and "config" in extras:
        check_resume_config(extras["config"], to_plain(run.cfg), str(path))
    if run.learner.resume_training and "sampler" in extras:
        check_resume_world_size(int(extras.get("world_size", 1)), 1 if run.world is None else run.world.size, path)


def serial_pipeline_bc(
    input_cfg: ConfigInput,
    seed: int = 0,
    *,
    max_train_iter: int = int(1e10),
    quiet: bool = False,
    source: str | None = None,
) -> Any:
    world = World.from_environment()  # under torchrun with several processes; None otherwise
    try:
        run = build_bc(input_cfg, seed, quiet, source, world)
        learner, cfg = run.learner, run.cfg
        run.stop_request.install()
        try:
            learner.call_hook("before_run")
            run.restore()
            run.write_config()
            iterations = min(max_train_iter, int(cfg.policy.learn.learner.train_iterations))
            save_freq = int(cfg.policy.learn.get("save_freq", 0) or 0)
            while learner.train_iter < iterations:
                run.check_stop_request()
                run.validate_if_due()
                run.evaluate_if_due()
                learner.train(run.next_batch(), run.samples_seen())
                if save_freq and learner.train_iter % save_freq == 0:
                    run.export(f"{learner.train_iter:06d}")
                run.progress.update(learner.train_iter, run.samples_seen(), None, None)  # validation: printed as events
            run.check_stop_request()
            run.validate_if_due()
            run.evaluate_if_due()
            learner.call_hook("after_run")
            run.export("last")
            result = run.write_result()
            run.progress.event(
                f"done: train_iter {result['train_iter']} validation loss {result['validation_loss']} "
                f"(best {result['best_validation_loss']}) in {result['wall_time_s']}s\n"
                f"  deployable: {run.exp_dir / 'checkpoints' / 'last' / 'pretrained_model'}"
            )
        finally:
            run.close()
    except TrainingInterrupted:
        if world is not None:
            world.close(together=True)  # every rank stopped after the same update
        raise
    except BaseException:
        if world is not None:
            world.close()
        raise
    if world is not None:
        world.close(together=True)
    return run.policy
