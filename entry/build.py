"""Everything a serial run needs, built from one compiled config (shared by both serial entries)."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ding_lite.actors.config import check_ray_config, engine_of
from ding_lite.config import compile_config, read_config
from ding_lite.config.compile import prepare_exp_dir, save_config_files
from ding_lite.data import BUFFER_REGISTRY, NStepTransitions, ReplayBuffer
from ding_lite.data.mixing import BufferLogHook, MixedReplay, OfflineBuffer, split_batch
from ding_lite.data.offline import load_offline_transitions
from ding_lite.ddp.collectives import lead_decides
from ding_lite.ddp.replica import NullLogger
from ding_lite.ddp.world import World
from ding_lite.entry import training_state
from ding_lite.entry.checks import check_config, check_env_fits
from ding_lite.entry.offline_pretrain import check_pretrain_config
from ding_lite.envs import VectorEnvManager, make_env_manager
from ding_lite.envs.env_view import EnvView
from ding_lite.errors import ConfigError, TrainingInterrupted
from ding_lite.intervention.controller import Controller
from ding_lite.intervention.session import Intervention, build_intervention
from ding_lite.learner import BaseLearner
from ding_lite.policy import POLICY_REGISTRY, Policy
from ding_lite.policy.weights import load_pretrained, pretrained_spec
from ding_lite.priors.bc_pretrain import start_policy_from_bc
from ding_lite.reward.wrapper import RewardClassifierEnv
from ding_lite.utils.log import ExperimentLogger, Progress
from ding_lite.utils.obs import take
from ding_lite.utils.rng import seed_everything
from ding_lite.utils.signals import StopRequest
from ding_lite.utils.threads import single_thread_compute
from ding_lite.worker import InteractionEvaluator, SampleCollector

log = logging.getLogger("ding_lite")

ConfigInput = str | Path | tuple[Mapping[str, Any], Mapping[str, Any]] | Mapping[str, Any]


def load_input_config(input_cfg: ConfigInput, source: str | None = None) -> tuple[dict[str, Any], dict[str, Any], str]:
    """``(main_config, create_config, source)`` from a config path, a pair, or a main config alone.

    ``source`` names the config in error messages (the CLI passes the config file's path).
    """
    if isinstance(input_cfg, (str, Path)):
        main, create = read_config(input_cfg)
        return main, create, source or f"'{input_cfg}'"
    if isinstance(input_cfg, tuple):
        return dict(input_cfg[0]), dict(input_cfg[1]), source or "the config"
    return dict(input_cfg), {}, source or "the config"


@dataclass
class Experiment:
    cfg: Any
    policy: Policy
    learner: BaseLearner
    collector: SampleCollector
    evaluator: InteractionEvaluator
    collector_env: VectorEnvManager
    evaluator_env: VectorEnvManager
    logger: ExperimentLogger
    progress: Progress
    buffer: ReplayBuffer | None = None
    nstep: NStepTransitions | None = None
    replay: MixedReplay | None = None  # online + offline buffers: policy.offline_dataset or policy.intervention
    # where the loop is between two steps: {'updates_left': int} off-policy, {'cycle': TrainCycle} on-policy
    loop: dict[str, Any] = field(default_factory=dict)
    stop_request: StopRequest = field(default_factory=StopRequest)
    started: float = field(default_factory=time.perf_counter)
    world: World | None = None  # this process's place in a torchrun job (ding_lite.ddp.serial_run); None: alone

    @property
    def exp_dir(self) -> Path:
        return Path(self.cfg.exp_name)

    def start(self) -> None:
        """Run ``before_run`` hooks (a checkpoint loads there) and restore the rest on resume."""
        self.learner.call_hook("before_run")
        training_state.restore(self)
        save_config_files(self.cfg, self.exp_dir)  # after a resume was accepted: a refused one changes nothing

    def store(self, transitions: dict[str, Any]) -> None:
        """Collected transitions into the replay buffer; the intervened ones (``is_intervention``) are also
        copied into the offline buffer."""
        assert self.buffer is not None
        self.buffer.push(transitions)
        flags = transitions.get("is_intervention")
        if flags is not None and self.replay is not None and flags.any():
            self.replay.offline.add({key: take(values, flags) for key, values in transitions.items()})

    def after_collect(self) -> None:
        """After each collect: nothing in one process (under torchrun the ranks add up their env steps)."""

    def buffers_hold(self, batch_size: int) -> bool:
        """Whether the replay buffer holds a batch (under torchrun: every rank's buffer)."""
        assert self.buffer is not None
        return len(self.buffer) >= batch_size

    def capture(self) -> dict[str, Any]:
        """The training state a checkpoint holds beside the policy's (:mod:`ding_lite.entry.training_state`)."""
        return training_state.capture(self)

    def sample(self, batch_size: int) -> dict[str, Any]:
        """A train batch from the replay buffer, or mixed with the offline buffer (:mod:`ding_lite.data.mixing`)."""
        if self.replay is not None:
            return self.replay.sample(batch_size)
        assert self.buffer is not None
        return self.buffer.sample(batch_size)

    def update_progress(self) -> None:
        self.progress.update(
            self.learner.train_iter, self.collector.env_step, self.evaluator.last_value, self.evaluator.best_value
        )

    def check_stop_request(self) -> None:
        """After SIGTERM/SIGINT: write a checkpoint of this exact moment and stop the run."""
        request = self.stop_request
        if not request.requested:
            return
        self.learner.env_step = self.collector.env_step
        path = self.learner.save_checkpoint(logged=False)
        self.write_result(stop=False, interrupted=request.signal_name)
        self.close()
        raise TrainingInterrupted(str(request.signal_name), request.signal_number, str(path), self.learner.train_iter)

    def evaluate(self) -> bool:
        """Evaluate when due; returns True when the stop value is reached (after at least one update)."""
        if not self.evaluator.should_eval(self.learner.train_iter):
            return False
        self.learner.env_step = self.collector.env_step
        reached, value = self.evaluator.eval(self.learner.train_iter, self.collector.env_step)
        self.progress.event(
            f"[eval] train_iter {self.learner.train_iter} env_step {self.collector.env_step}: "
            f"mean return {value:.2f} (best {self.evaluator.best_value:.2f}, stop at {self.evaluator.stop_value:g})"
        )
        return reached and self.learner.train_iter > 0

    def result(self, stop: bool, interrupted: str | None = None) -> dict[str, Any]:
        return {
            "stop": bool(stop),
            "train_iter": self.learner.train_iter,
            "env_step": self.collector.env_step,
            "eval_value": self.evaluator.last_value,
            "best_eval_value": self.evaluator.best_value,
            "wall_time_s": round(time.perf_counter() - self.started, 3),
            "seed": int(self.cfg.seed),
            "exp_dir": str(self.exp_dir),
            "interrupted": interrupted,
        }

    def write_result(self, stop: bool, interrupted: str | None = None) -> dict[str, Any]:
        result = self.result(stop, interrupted)
        (self.exp_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        return result

    def finish(self, stop: bool) -> dict[str, Any]:
        """Run ``after_run`` hooks (the final checkpoint), write ``result.json``, close envs and logs."""
        self.learner.env_step = self.collector.env_step
        self.learner.call_hook("after_run")
        result = self.write_result(stop)
        self.progress.close()
        self.progress.event(
            f"done: stop={stop} train_iter {result['train_iter']} env_step {result['env_step']} "
            f"best eval {self.evaluator.best_value} in {result['wall_time_s']}s\n"
            f"  checkpoints: {self.exp_dir / 'ckpt'}\n  logs: tensorboard --logdir {self.exp_dir / 'log'}"
        )
        self.close()
        return result

    def close(self) -> None:
        self.stop_request.uninstall()
        self.progress.close()
        self.collector_env.close()
        self.evaluator_env.close()
        self.logger.close()


def prefer_pretrained_over_resume(main: dict[str, Any]) -> None:
    """With pretrained weights set, resume settings are ignored (as LeRobot does), with one warning."""
    policy = main.get("policy") or {}
    if not (policy.get("pretrained_path") or (policy.get("pretrained") or {}).get("path")):
        return
    learn = policy.get("learn") or {}
    hook = (learn.get("learner") or {}).get("hook") or {}
    if learn.get("resume_training") or hook.get("load_ckpt_before_run"):
        log.warning("pretrained weights are set, so resume_training/load_ckpt_before_run are ignored: new run")
        learn["resume_training"] = False
        if "load_ckpt_before_run" in hook:
            hook["load_ckpt_before_run"] = ""


def save_best(learner: BaseLearner, policy: Policy, export: bool) -> None:
    learner.save_checkpoint("ckpt_best.pth.tar")
    if export:
        policy.save_pretrained(learner.ckpt_dir / "best")


def build_experiment(
    input_cfg: ConfigInput,
    seed: int,
    *,
    env_fn: Callable[[], Any] | None = None,
    model: torch.nn.Module | None = None,
    quiet: bool = False,
    source: str | None = None,
    on_policy: bool | None = None,
    intervention: Controller | None = None,
    world: World | None = None,
) -> Experiment:
    """Everything for one run; ``on_policy`` (when given) must match the policy's kind; ``intervention``: a
    controller callable (:mod:`ding_lite.intervention.controller`) instead of one named by the config;
    ``world``: this process's place in a torchrun job (:mod:`ding_lite.ddp.serial_run`), None when alone."""
    stop_request = StopRequest()
    stop_request.install()  # from here on SIGTERM/SIGINT ask for a checkpoint and a clean stop
    made: list[Path] = []  # the experiment directory, once made
    try:
        exp = _build(input_cfg, seed, env_fn, model, quiet, source, on_policy, intervention, made, world)
    except BaseException:
        stop_request.uninstall()
        for path in made:  # a run that failed before writing anything leaves no directory: a rerun keeps its name
            with contextlib.suppress(OSError):
                path.rmdir()  # only an empty directory goes
        raise
    exp.stop_request = stop_request
    return exp


def _build(
    input_cfg: ConfigInput,
    seed: int,
    env_fn: Callable[[], Any] | None,
    model: torch.nn.Module | None,
    quiet: bool,
    source: str | None,
    on_policy: bool | None,
    intervention: Controller | None = None,
    made: list[Path] | None = None,
    world: World | None = None,
) -> Experiment:
    main, create, source = load_input_config(input_cfg, source)
    prefer_pretrained_over_resume(main)
    cfg = compile_config((main, create), seed, source=source, save_cfg=False)
    check_config(cfg, on_policy)
    if world is not None:  # before anything else about Ray: it is refused under torchrun
        from ding_lite.ddp import serial_run

        serial_run.prepare_distributed_config(cfg, source)
    check_ray_config(cfg, source)  # engine='ray' trains with Ray, which must be importable (ding -m eval need not)
    distributed = engine_of(cfg.policy) == "ray"  # Ray actors step the collector envs, built from the config
    if distributed and (env_fn is not None or model is not None or intervention is not None):
        raise ConfigError("policy.distributed.engine='ray' builds envs and models from the config in each actor; "
                          "pass no env_fn, model or intervention, or unset policy.distributed.engine")  # fmt: skip
    resume = bool(cfg.policy.learn.resume_training)
    lead, collect_seed = True, seed  # this process writes; the seed of its collection (per rank under torchrun)
    if world is None:
        cfg.exp_name = prepare_exp_dir(str(cfg.exp_name), resume=resume, renew_dir=True)
    else:  # the config passed every check on every rank; rank 0 makes the directory and names it
        world.connect()
        cfg.exp_name = lead_decides(lambda: prepare_exp_dir(str(cfg.exp_name), resume=resume, renew_dir=True))
        lead, collect_seed = world.lead, serial_run.collect_seed(seed, world)
    if made is not None and lead:
        made.append(Path(cfg.exp_name))
    seed_everything(seed)
    single_thread_compute()
    env_cfg, policy_cfg = cfg.env, cfg.policy
    collector_env_num = 1 if distributed else int(env_cfg.collector_env_num)  # with Ray: spec checks only
    collector_env = make_env_manager(env_cfg, env_cfg.manager, collector_env_num, env_fn)
    evaluator_env = make_env_manager(env_cfg, env_cfg.manager, int(env_cfg.evaluator_env_num), env_fn)
    collector_env.seed(collect_seed)
    with contextlib.suppress(RuntimeError):  # an adapted env without spaces knows its spec only after reset()
        check_env_fits(cfg, collector_env.spec)
    policy = POLICY_REGISTRY.get(str(policy_cfg.type))(policy_cfg, model=model)
    policy.seed(collect_seed)
    spec = pretrained_spec(policy_cfg)
    if spec is not None:
        load_pretrained(policy, spec, Path(cfg.exp_name) if lead else None)
    if policy_cfg.get("bc_pretrain") and not resume:  # a resumed run takes its encoder from the checkpoint
        start_policy_from_bc(policy, policy_cfg.bc_pretrain, Path(cfg.exp_name) if lead else None)
    if world is not None:  # the model is built alike on every rank; from here on each rank draws its own numbers
        seed_everything(collect_seed)
    logger = ExperimentLogger(cfg.exp_name) if lead else NullLogger(cfg.exp_name)
    learner = (BaseLearner if lead else serial_run.StateSendingLearner)(
        policy_cfg.learn.learner,
        policy,
        cfg.exp_name,
        logger,
        policy_type=str(policy_cfg.type),
        resume_training=bool(policy_cfg.learn.resume_training),
    )
    collector = SampleCollector(policy_cfg.collect.collector, collector_env, policy, logger)
    collector.intervention = _intervention(policy, collector_env, intervention)
    evaluator = InteractionEvaluator(
        policy_cfg.eval.evaluator,
        evaluator_env,
        policy,
        logger,
        n_episode=int(env_cfg.n_evaluator_episode),
        stop_value=float(env_cfg.stop_value),
        seed=seed,
        save_best=lambda: save_best(learner, policy, bool(policy_cfg.learn.learner.export_best)),
    )
    buffer, nstep, replay = None, None, None
    if not policy.on_policy:
        buffer_cls = BUFFER_REGISTRY.get(str(policy_cfg.other.replay_buffer.type))
        buffer = buffer_cls(policy_cfg.other.replay_buffer, seed=collect_seed)
        flagged = collector.intervention is not None
        nstep = NStepTransitions(collector_env.env_num, *policy.nstep_and_gamma(), flagged=flagged)
        replay = _offline_replay(policy_cfg, collector_env, policy, buffer, collect_seed, flagged)
        if replay is not None:
            learner.register_hook(BufferLogHook(replay, int(policy_cfg.learn.learner.hook.log_show_after_iter)))
    progress = Progress(str(cfg.exp_name), quiet=quiet or not lead)
    log.info("experiment directory: %s", cfg.exp_name)
    exp_cls: type[Experiment] = Experiment
    if world is not None:  # averages gradients, adds up env steps, lets rank 0 alone write and evaluate
        exp_cls = serial_run.DistributedExperiment
    exp = exp_cls(cfg, policy, learner, collector, evaluator, collector_env, evaluator_env, logger, progress, buffer,
                  nstep, world=world)  # fmt: skip
    exp.replay = replay
    learner.extra_state = exp.capture
    learner.before_load = lambda state, path: training_state.guard(exp, state, path)
    return exp


def _intervention(policy: Policy, env: VectorEnvManager, given: Controller | None) -> Intervention | None:
    """The intervening controller of ``policy.intervention`` or ``given`` (off-policy runs only), or None."""
    if policy.on_policy:
        if given is not None:
            raise ConfigError(f"interventions need an off-policy policy; '{policy.cfg['type']}' is on-policy")
        return None
    return build_intervention(policy.cfg, env.spec, env.env_num, given)


def _offline_replay(
    policy_cfg: Any, env: VectorEnvManager, policy: Policy, online: ReplayBuffer, seed: int, interventions: bool
) -> MixedReplay | None:
    """The demonstrations of ``policy.offline_dataset`` in an offline buffer mixed with ``online``.

    With ``interventions`` the transitions carry ``is_intervention`` (False for demonstrations) and there is
    an offline buffer even without a dataset: it starts empty and joins the batches, at
    ``offline_dataset.ratio``, once it holds the offline part of a batch (``round(batch_size * ratio)``).
    """
    transitions = load_offline_transitions(policy_cfg, env.envs[0], policy.nstep_and_gamma()[1])
    check_pretrain_config(policy_cfg, transitions is not None, policy)
    ratio = float(policy_cfg.offline_dataset.ratio)
    if transitions is None:
        if not interventions:
            return None
        needed = split_batch(int(policy_cfg.learn.batch_size), ratio)[1]
        return MixedReplay(online, OfflineBuffer(seed), ratio, min_offline=needed)
    if interventions:
        transitions["is_intervention"] = np.zeros(len(transitions["reward"]), dtype=bool)
    judge = env.envs[0].shadow if isinstance(env.envs[0], EnvView) else env.envs[0]  # an env of this process
    if isinstance(judge, RewardClassifierEnv):  # the online reward is the classifier's: so is theirs
        transitions = judge.relabel(transitions)
    offline = OfflineBuffer(seed)
    offline.add(transitions)
    return MixedReplay(online, offline, ratio)
