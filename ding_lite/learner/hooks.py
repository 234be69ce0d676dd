"""Learner hooks: callables run at four positions of the learner's life, ordered by priority.

Positions: ``before_run``, ``after_run``, ``before_iter``, ``after_iter``. Lower priority runs first;
equal priorities keep registration order. Hooks are built from ``policy.learn.learner.hook``, either by
DI-engine's shorthands (priority 20)::

    load_ckpt_before_run='path'   save_ckpt_after_iter=1000   save_ckpt_after_run=True   log_show_after_iter=100

or in dict form ``name=dict(type=..., name=..., position=..., priority=100, ext_args=dict(...))``, where
``type`` is a name registered with :func:`register_learner_hook`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ding_lite.config.validate import HookSection
from ding_lite.errors import ConfigError
from ding_lite.utils.registry import Registry

if TYPE_CHECKING:
    from ding_lite.learner.base_learner import BaseLearner

POSITIONS = ("before_run", "after_run", "before_iter", "after_iter")
SHORTHAND_PRIORITY = 20
DEFAULT_PRIORITY = 100


class LearnerHook:
    """Base class. Subclasses read their options from ``ext_args`` and implement ``__call__``."""

    def __init__(
        self, name: str, position: str, priority: int = DEFAULT_PRIORITY, ext_args: Mapping[str, Any] | None = None
    ) -> None:
        if position not in POSITIONS:
            raise ConfigError(f"hook '{name}' has position '{position}'; use one of {', '.join(POSITIONS)}")
        if int(priority) < 0:
            raise ConfigError(f"hook '{name}' has priority {priority}; priorities are >= 0")
        self.name = name
        self.position = position
        self.priority = int(priority)
        self.ext_args = dict(ext_args or {})

    def __call__(self, learner: BaseLearner) -> None:
        raise NotImplementedError


HOOK_REGISTRY: Registry[type[LearnerHook]] = Registry("learner hook")


def register_learner_hook(name: str, cls: type[LearnerHook]) -> type[LearnerHook]:
    """Make a user hook class available to config files as ``type=name``."""
    return HOOK_REGISTRY.register(name)(cls)


@HOOK_REGISTRY.register("load_ckpt")
class LoadCkptHook(LearnerHook):
    """Restores the learner from ``ext_args['load_path']`` (no-op for an empty path)."""

    def __call__(self, learner: BaseLearner) -> None:
        path = self.ext_args.get("load_path", "")
        if path:
            learner.load_checkpoint(path)


@HOOK_REGISTRY.register("save_ckpt")
class SaveCkptHook(LearnerHook):
    """After an iteration: saves ``iteration_<train_iter>`` every ``freq`` iterations; after a run: always."""

    def __call__(self, learner: BaseLearner) -> None:
        if self.position == "after_iter":
            freq = int(self.ext_args.get("freq", 10000))
            if freq <= 0 or learner.train_iter % freq != 0:
                return
        learner.save_checkpoint(logged=self.position != "after_run")


@HOOK_REGISTRY.register("log_show")
class LogShowHook(LearnerHook):
    """Every ``freq`` iterations: averages of the monitored variables to TensorBoard and the text log."""

    def __call__(self, learner: BaseLearner) -> None:
        freq = int(self.ext_args.get("freq", 100))
        if self.position == "after_iter" and (freq <= 0 or learner.train_iter % freq != 0):
            return
        learner.flush_monitor()


def hook_section_defaults() -> HookSection:
    return HookSection(
        load_ckpt_before_run="",  # checkpoint path restored before the run ('' for none)
        save_ckpt_after_iter=10000,  # save iteration_<N>.pth.tar every N train iterations (0: never)
        save_ckpt_after_run=True,  # save the final iteration_<N>.pth.tar when the run ends
        log_show_after_iter=100,  # average and log the learner's variables every N iterations
    )


def build_hooks(hook_cfg: Mapping[str, Any]) -> list[LearnerHook]:
    """Hooks for one learner from its ``hook`` config section (shorthands and dict forms)."""
    hooks: list[LearnerHook] = []
    for key, value in hook_cfg.items():
        if key == "load_ckpt_before_run":
            if value:
                hooks.append(LoadCkptHook(key, "before_run", SHORTHAND_PRIORITY, {"load_path": value}))
        elif key == "save_ckpt_after_iter":
            if value and int(value) > 0:
                hooks.append(SaveCkptHook(key, "after_iter", SHORTHAND_PRIORITY, {"freq": int(value)}))
        elif key == "save_ckpt_after_run":
            if value:
                hooks.append(SaveCkptHook(key, "after_run", SHORTHAND_PRIORITY))
        elif key == "log_show_after_iter":
            if value and int(value) > 0:
                hooks.append(LogShowHook(key, "after_iter", SHORTHAND_PRIORITY, {"freq": int(value)}))
        else:
            hooks.append(_build_dict_form(key, value))
    return hooks


def _build_dict_form(key: str, spec: Mapping[str, Any]) -> LearnerHook:
    allowed = {"type", "name", "position", "priority", "ext_args"}
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigError(f"hook '{key}' has unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    if "type" not in spec or "position" not in spec:
        raise ConfigError(f"hook '{key}' needs at least 'type' and 'position'")
    cls = HOOK_REGISTRY.get(str(spec["type"]))
    return cls(
        str(spec.get("name", key)),
        str(spec["position"]),
        int(spec.get("priority", DEFAULT_PRIORITY)),
        spec.get("ext_args"),
    )
