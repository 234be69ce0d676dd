"""``serial_pipeline``: off-policy training (DQN), with DI-engine's loop order.

Each loop: evaluate when due (stop at the stop value), collect ``n_sample`` env steps into the replay
buffer, train ``update_per_collect`` times on fresh batches, stop at ``max_env_step``/``max_train_iter``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from ding_lite.entry.build import ConfigInput, build_experiment, restore_counters

from ding_lite.data import NStepTransitions
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
) -> Policy:
    exp = build_experiment(input_cfg, seed, env_fn=env_fn, model=model, quiet=quiet, source=source)
    cfg, learner, collector, buffer = exp.cfg.policy, exp.learner, exp.collector, exp.buffer
    if buffer is None:
        raise ValueError(f"policy '{cfg.type}' is on-policy; run it with serial_pipeline_onpolicy (-m serial_onpolicy)")
    restore_counters(exp)
    nstep = NStepTransitions(collector.env.env_num, *exp.policy.nstep_and_gamma())
    warmup = int(cfg.get("random_collect_size", 0) or 0)
    if warmup > 0 and learner.train_iter == 0:
        for transitions in collector.collect_transitions(warmup, 0, nstep, random_actions=True):
            buffer.push(transitions)
    n_sample, batch_size = int(cfg.collect.n_sample), int(cfg.learn.batch_size)
    updates = int(cfg.learn.update_per_collect)
    stop = False
    while learner.train_iter < max_train_iter and collector.env_step < max_env_step:
        if exp.evaluate():
            stop = True
            break
        for transitions in collector.collect_transitions(n_sample, learner.train_iter, nstep):
            buffer.push(transitions)
        if len(buffer) >= batch_size:
            for _ in range(min(updates, max_train_iter - learner.train_iter)):
                learner.train(buffer.sample(batch_size), collector.env_step)
        exp.update_progress()
    exp.finish(stop)
    return exp.policy
