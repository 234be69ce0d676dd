"""``serial_pipeline_onpolicy``: on-policy training (PPO), with DI-engine's loop order.

Each loop: evaluate when due (stop at the stop value), collect ``n_sample`` transitions, then train
``epoch_per_collect`` epochs in minibatches; every minibatch update is one train iteration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from ding_lite.entry.build import ConfigInput, build_experiment, restore_counters

from ding_lite.policy import Policy


def serial_pipeline_onpolicy(
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
    cfg, learner, collector = exp.cfg.policy, exp.learner, exp.collector
    if not exp.policy.on_policy:
        raise ValueError(f"policy '{cfg.type}' is off-policy; run it with serial_pipeline (-m serial)")
    restore_counters(exp)
    n_sample = int(cfg.collect.n_sample)
    stop = False
    while learner.train_iter < max_train_iter and collector.env_step < max_env_step:
        if exp.evaluate():
            stop = True
            break
        rollout = collector.collect_rollout(n_sample, learner.train_iter)
        for batch in exp.policy.learn_mode.train_batches(rollout):
            learner.train(batch, collector.env_step)
            if learner.train_iter >= max_train_iter:
                break
        exp.update_progress()
    exp.finish(stop)
    return exp.policy
