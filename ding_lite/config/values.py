"""Value checks of a compiled config: types, ranges, and combinations that can never make progress.

Key names are checked by :func:`~ding_lite.config.validate.merge_strict`; this module checks what the keys
hold, before anything is built or written. Each rule names dotted keys (``fnmatch`` patterns) and what
they must hold; a key a config does not have is skipped. A bad value is one :class:`ConfigError` sentence
naming the key, the value, the file and what is allowed. Numbers are checked by :data:`RULES`, keys that
take one of a few names by :data:`CHOICES`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from ding_lite.actors.config import ENGINES
from ding_lite.errors import ConfigError
from ding_lite.intervention.rules import NORMS, RULE_NAMES


@dataclass(frozen=True)
class Rule:
    """Values of the matching keys: numbers (``integer``: whole numbers) within ``[low, high]``;
    ``low_open`` excludes ``low`` itself."""

    patterns: tuple[str, ...]
    integer: bool = False
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    optional: bool = False  # None is allowed too (meaning "none" or "no limit")

    def allowed(self) -> str:
        kind = "an integer" if self.integer else "a number"
        low = f"{int(self.low)}" if self.integer and math.isfinite(self.low) else f"{self.low:g}"
        if self.optional:
            kind = f"None or {kind}"
        if math.isfinite(self.low) and math.isfinite(self.high):
            return f"{kind} in {'(' if self.low_open else '['}{low}, {self.high:g}]"
        if math.isfinite(self.low):
            return f"{kind} {'>' if self.low_open else '>='} {low}"
        return kind

    def problem(self, value: Any) -> str | None:
        """Why ``value`` breaks the rule, or None."""
        if value is None and self.optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "not a number"
        if self.integer and not (isinstance(value, int) or (math.isfinite(value) and float(value).is_integer())):
            return "not a whole number"
        if math.isnan(value):
            return "NaN"
        too_low = value <= self.low if self.low_open else value < self.low
        return "out of range" if too_low or value > self.high else None


def _at_least(low: float, *patterns: str) -> Rule:
    return Rule(patterns, integer=True, low=low)


RULES = (
    Rule(("seed",), integer=True),
    _at_least(1, "env.collector_env_num", "env.evaluator_env_num", "env.n_evaluator_episode"),
    _at_least(8, "env.image_size"),  # smaller frames would not survive the conv encoders' three stride-2 layers
    Rule(("env.stop_value",)),
    _at_least(0, "env.manager.max_retry"),
    Rule(("env.manager.step_timeout", "env.manager.reset_timeout"), low=0, low_open=True, optional=True),
    Rule(("env.manager.connect_timeout",), low=0, low_open=True, optional=True),
    Rule(("env.manager.retry_waiting_time",), low=0),
    Rule(("env.manager.workers",), integer=True, low=1, optional=True),  # subprocess managers: None is one per env
    Rule(("policy.learn.learning_rate", "policy.learn.learning_rate_*"), low=0, low_open=True),
    _at_least(1, "policy.learn.batch_size", "policy.learn.epoch_per_collect"),
    Rule(("policy.learn.update_per_collect",), integer=True, low=1, optional=True),  # None in PPO configs
    _at_least(1, "policy.learn.target_update_freq", "policy.nstep", "policy.collect.n_sample"),
    _at_least(1, "policy.collect.unroll_len", "policy.collect.collector.collect_print_freq"),
    _at_least(1, "policy.eval.evaluator.eval_freq", "policy.other.replay_buffer.replay_buffer_size"),
    _at_least(0, "policy.random_collect_size", "policy.learn.learner.keep_last_n"),
    _at_least(0, "policy.learn.learner.train_iterations", "policy.offline_dataset.pretrain_updates"),
    _at_least(0, "policy.learn.learner.hook.save_ckpt_after_iter", "policy.learn.learner.hook.log_show_after_iter"),
    Rule(("policy.learn.target_theta",), low=0, high=1, low_open=True),
    Rule(("*discount_factor", "policy.collect.gae_lambda", "policy.offline_dataset.ratio"), low=0, high=1),
    Rule(("policy.other.eps.start", "policy.other.eps.end"), low=0, high=1),
    Rule(("policy.other.eps.decay", "policy.learn.clip_ratio"), low=0, low_open=True),
    Rule(("policy.learn.value_weight", "policy.learn.entropy_weight", "policy.learn.grad_clip_value"), low=0),
    Rule(("policy.model.*hidden_size",), integer=True, low=1, optional=True),
    Rule(("policy.model.*layer_num",), integer=True, low=0, optional=True),
    Rule(("env.reward_classifier.success_threshold", "policy.model.dropout_rate"), low=0, high=1),
    Rule(("env.reward_classifier.success_reward",)),
    Rule(("policy.learn.label.threshold",), optional=True),  # the reward classifier's; None: a 0/1 column
    _at_least(1, "policy.model.hidden_dim"),
    Rule(("policy.intervention.when.threshold",), low=0, low_open=True),
    _at_least(0, "policy.intervention.when.steps"),
    Rule(("policy.intervention.when.max_per_episode",), integer=True, low=1, optional=True),
    Rule(("policy.intervention.when.hold_steps",), integer=True, low=1),
    _at_least(1, "policy.distributed.n_actors"),
    Rule(("policy.distributed.weight_push_every_s",), low=0),
)

CHOICES: dict[str, tuple[str | None, ...]] = {
    "env.obs_type": ("state", "pixels", "pixels_state"),
    "env.manager.context": ("fork", "forkserver", "spawn"),
    "policy.learn.best_by": ("validation", "eval_return"),  # policies trained on a dataset (bc, act)
    "policy.intervention.when.rule": RULE_NAMES,
    "policy.intervention.when.norm": NORMS,
    "policy.distributed.engine": ENGINES,
    "policy.offline_dataset.pretrain_actor_loss": ("sac", "td3_bc"),
}


def _leaves(tree: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        full = f"{path}.{key}" if path else str(key)
        if isinstance(value, Mapping):
            yield from _leaves(value, full)
        else:
            yield full, value


def check_values(cfg: Mapping[str, Any], source: str) -> None:
    """Raise ConfigError for the first value no run could use (see the module docstring)."""
    for key, value in _leaves(cfg):
        if key in CHOICES:
            if value not in CHOICES[key]:
                allowed = ", ".join(repr(choice) for choice in CHOICES[key])
                raise ConfigError(f"config key '{key}' is {value!r} in {source}; it must be one of {allowed}")
            continue
        for rule in RULES:
            if any(fnmatchcase(key, pattern) for pattern in rule.patterns):
                if rule.problem(value) is not None:
                    raise ConfigError(f"config key '{key}' is {value!r} in {source}; it must be {rule.allowed()}")
                break
    _check_progress(cfg, source)


def _check_progress(cfg: Mapping[str, Any], source: str) -> None:
    """Combinations of valid values under which training would wait forever."""
    policy = cfg["policy"]
    if policy.get("on_policy") is False and "replay_buffer_size" in policy["other"]["replay_buffer"]:
        size, batch = policy["other"]["replay_buffer"]["replay_buffer_size"], policy["learn"]["batch_size"]
        if size < batch:
            raise ConfigError(
                f"config key 'policy.other.replay_buffer.replay_buffer_size' is {size} in {source}, below "
                f"policy.learn.batch_size {batch}: no batch could ever be sampled; make it at least {batch}"
            )
