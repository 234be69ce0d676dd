"""``serial_pipeline``: off-policy training (DQN, SAC), with DI-engine's loop order.

Each loop: evaluate when due (stop at the stop value), collect ``n_sample`` env steps into the replay
buffer, train ``update_per_collect`` times on fresh batches, stop at ``max_env_step``/``max_train_iter``.
Updates start once the replay buffer holds ``batch_size`` transitions (after the random warm-up of
``random_collect_size``), with or without ``policy.offline_dataset``; with it, every batch also draws
from the demonstrations (:mod:`ding_lite.data.mixing`), and ``offline_dataset.pretrain_updates`` train
iterations on the demonstrations alone come before everything else (:mod:`ding_lite.entry.offline_pretrain`).
With an intervention controller (``policy.intervention``, or a callable as ``intervention=``) the controller
takes over where its rule says so after the warm-up, and ``exp.store`` also copies those transitions into
the offline buffer.
``exp.loop['updates_left']`` is the only state between these steps, so a checkpoint written after any
train iteration resumes the loop exactly where it was. With ``policy.distributed.engine='ray'`` Ray actors
collect instead (:mod:`ding_lite.entry.serial_entry_ray`). Under torchrun every process runs this loop on its
own envs and replay buffer, with averaged gradients (:mod:`ding_lite.ddp.serial_run`, docs/ddp.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ding_lite.actors.config import engine_of
from ding_lite.ddp.world import World, joined
from ding_lite.entry.build import ConfigInput, Experiment, build_experiment
from ding_lite.entry.offline_pretrain import pretrain_on_offline, pretrain_updates
from ding_lite.intervention.controller import Controller
from ding_lite.policy import Policy


def serial_pipeline(
    input_cfg: ConfigInput,
    seed: int = 0,
    *,
    env_fn: Callable[[], Any] | None = None,
    model: torch.nn.Module | None = None,
    max_train_iter: int = int(1e10),
    max_env_step: int = int(1e10),
    quiet: bool = False,
    source: str | None = None,
    intervention: Controller | None = None,
    ray_address: str | None = None,
) -> Policy:
    world = World.from_environment()  # under torchrun: one rank of a data-parallel run (docs/ddp.md)
    with joined(world):
        exp = build_experiment(input_cfg, seed, env_fn=env_fn, model=model, quiet=quiet, source=source,
                               on_policy=False, intervention=intervention, world=world)  # fmt: skip
        if engine_of(exp.cfg.policy) == "ray":  # collection in Ray actors (docs/ray.md); ray_address: a cluster
            from ding_lite.entry.serial_entry_ray import serial_loop_ray

            return serial_loop_ray(exp, seed, max_train_iter=max_train_iter, max_env_step=max_env_step,
                                   ray_address=ray_address)  # fmt: skip
        return serial_loop(exp, max_train_iter, max_env_step)


def serial_loop(exp: Experiment, max_train_iter: int, max_env_step: int) -> Policy:
    cfg, learner, collector, buffer, nstep = exp.cfg.policy, exp.learner, exp.collector, exp.buffer, exp.nstep
    assert buffer is not None and nstep is not None  # build_experiment checked the policy is off-policy
    exp.start()  # loads the checkpoint, if any; the loop below continues from the restored counters
    pretrain_on_offline(exp, max_train_iter)  # offline_dataset.pretrain_updates: before the first env step
    warmup = int(cfg.get("random_collect_size", 0) or 0)
    if warmup > 0 and learner.train_iter == pretrain_updates(cfg) and collector.env_step == 0:
        for transitions in collector.collect_transitions(warmup, 0, nstep, random_actions=True):
            exp.store(transitions)
        exp.after_collect()
    n_sample, batch_size = int(cfg.collect.n_sample), int(cfg.learn.batch_size)
    stop = False
    while learner.train_iter < max_train_iter:
        if exp.loop.get("updates_left", 0) == 0:
            exp.check_stop_request()
            if collector.env_step >= max_env_step:
                break
            if exp.evaluate():
                stop = True
                break
            for transitions in collector.collect_transitions(n_sample, learner.train_iter, nstep):
                exp.store(transitions)
            exp.after_collect()
            exp.loop["updates_left"] = int(cfg.learn.update_per_collect) if exp.buffers_hold(batch_size) else 0
        while exp.loop["updates_left"] > 0 and learner.train_iter < max_train_iter:
            exp.loop["updates_left"] -= 1
            learner.train(exp.sample(batch_size), collector.env_step)
            exp.check_stop_request()
        exp.update_progress()
    exp.finish(stop)
    return exp.policy
