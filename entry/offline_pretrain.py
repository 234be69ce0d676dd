"""Updates on the demonstrations alone before the first env step (``policy.offline_dataset.pretrain_updates``).

An off-policy run with an offline dataset can learn from it before it acts: ``pretrain_updates`` train
iterations whose whole batch comes from the offline buffer, at env step 0. They are the run's first train
iterations (0 to N-1), checkpointed like any other and logged over train_iter (``learner_iter/*``,
``buffer_iter/*``; the ``*_step`` tags, whose points would all sit at env step 0, start with the online
updates). The online loop (random warm-up, then collect and train) starts after them; its first
evaluation, at the end of the warm-up (at env step 0 without one), shows the pretrained policy.

The batches are drawn with the offline buffer's generator, which is in every checkpoint, so a run stopped
during pretraining and resumed does the remaining updates and ends bit-identical to an uninterrupted one.
A run whose collector has taken env steps is past pretraining: nothing is redone.

The updates are the policy's own, except with ``pretrain_actor_loss='td3_bc'`` (SAC): the actor's loss is
then TD3+BC's, ``2.5 * SAC's actor loss / mean |Q| + MSE(tanh(mu), batch action)``, which keeps it near the
demonstrated actions while the critics have seen no others. Online updates use SAC's loss again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ding_lite.errors import ConfigError
from ding_lite.policy import Policy
from ding_lite.policy.sac import SACPolicy

if TYPE_CHECKING:
    from ding_lite.entry.build import Experiment

PROGRESS_EVERY = 100  # train iterations between two refreshes of the progress line


def pretrain_updates(policy_cfg: Any) -> int:
    """``policy.offline_dataset.pretrain_updates`` (0 without an offline dataset section)."""
    offline = policy_cfg.get("offline_dataset") or {}
    return int(offline.get("pretrain_updates", 0) or 0)


def check_pretrain_config(policy_cfg: Any, has_demonstrations: bool, policy: Policy) -> None:
    """Pretraining needs demonstrations (an offline buffer that only interventions fill starts empty), and
    TD3+BC's actor loss an actor (SAC; its NumPy backend refuses it when the policy is built)."""
    count = pretrain_updates(policy_cfg)
    if count > 0 and not has_demonstrations:
        raise ConfigError(
            f"config key 'policy.offline_dataset.pretrain_updates' is {count} but policy.offline_dataset.root "
            "names no dataset, so there is nothing to pretrain on; set root or pretrain_updates=0"
        )
    if count > 0 and _actor_loss(policy_cfg) == "td3_bc" and not isinstance(policy, SACPolicy):
        raise ConfigError(
            "config key 'policy.offline_dataset.pretrain_actor_loss' is 'td3_bc', an actor loss, but policy "
            f"'{policy_cfg.type}' has no actor; use pretrain_actor_loss='sac' (its own loss)"
        )


def _actor_loss(policy_cfg: Any) -> str:
    return str((policy_cfg.get("offline_dataset") or {}).get("pretrain_actor_loss", "sac"))


def pretrain_on_offline(exp: Experiment, max_train_iter: int) -> None:
    """The pretraining updates not done yet, up to ``max_train_iter``; call after ``exp.start()`` (a resume
    restores train_iter)."""
    count = min(pretrain_updates(exp.cfg.policy), max_train_iter)
    learner, batch_size = exp.learner, int(exp.cfg.policy.learn.batch_size)
    if learner.train_iter >= count or exp.collector.env_step > 0:
        return
    assert exp.replay is not None  # check_pretrain_config: pretraining implies demonstrations
    exp.progress.event(f"pretraining on the offline buffer: {count - learner.train_iter} updates at env step 0")
    policy = exp.policy
    if isinstance(policy, SACPolicy):
        policy.behaviour_cloning = _actor_loss(exp.cfg.policy) == "td3_bc"
    learner.logs_over_env_step = False  # every point would be at env step 0: the *_iter tags only
    try:
        while learner.train_iter < count:
            learner.train(exp.replay.sample_offline(batch_size), 0)
            exp.check_stop_request()
            if learner.train_iter % PROGRESS_EVERY == 0:
                exp.update_progress()
    finally:
        learner.logs_over_env_step = True
        if isinstance(policy, SACPolicy):
            policy.behaviour_cloning = False
