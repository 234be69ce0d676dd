"""``serial_pipeline_onpolicy``: on-policy training (PPO), with DI-engine's loop order.

Each loop: evaluate when due (stop at the stop value), collect ``n_sample`` transitions, then train
``epoch_per_collect`` epochs in minibatches; every minibatch update is one train iteration. The train
cycle in flight (``exp.loop['cycle']``) is part of every checkpoint, so a run stopped between two
minibatches resumes with exactly the remaining ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ding_lite.entry.build import ConfigInput, build_experiment
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
    exp = build_experiment(input_cfg, seed, env_fn=env_fn, model=model, quiet=quiet, source=source, on_policy=True)
    cfg, learner, collector, policy = exp.cfg.policy, exp.learner, exp.collector, exp.policy
    exp.start()  # loads the checkpoint, if any; the loop below continues from the restored counters
    n_sample = int(cfg.collect.n_sample)
    stop = False
    while learner.train_iter < max_train_iter:
        if exp.loop.get("cycle") is None:
            exp.check_stop_request()
            if collector.env_step >= max_env_step:
                break
            if exp.evaluate():
                stop = True
                break
            exp.loop["cycle"] = policy.learn_mode.new_cycle(collector.collect_rollout(n_sample, learner.train_iter))
        while learner.train_iter < max_train_iter:
            batch = exp.loop["cycle"].next_batch()
            if batch is None:
                exp.loop["cycle"] = None
                break
            learner.train(batch, collector.env_step)
            exp.check_stop_request()
        exp.update_progress()
    exp.finish(stop)
    return exp.policy
