"""``policy.distributed``: the config section that moves off-policy collection into Ray actors.

This module does not import Ray: the defaults and checks run for every off-policy config, with or without
Ray installed.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from ding_lite.errors import ConfigError

ENGINES = (None, "", "ray")  # None and '': serial collection in the training process


def distributed_default_config() -> dict[str, Any]:
    return dict(
        engine=None,  # None or '': serial collection; 'ray': collectors run as Ray actors (docs/ray.md)
        n_actors=2,  # collector actors, each stepping env.collector_env_num envs
        weight_push_every_s=1.0,  # the learner publishes its weights at most this often (seconds; 0: every collect)
    )


def engine_of(policy_cfg: Mapping[str, Any]) -> str:
    """The engine named by ``policy.distributed.engine``: '' when collection is serial."""
    section = policy_cfg.get("distributed") or {}
    return str(section.get("engine") or "")


def ray_problem(cfg: Mapping[str, Any], source: str) -> str | None:
    """Why ``policy.distributed.engine='ray'`` cannot run here (one sentence), or None."""
    if engine_of(cfg["policy"]) != "ray":
        return None
    try:
        importlib.import_module("ray")
    except ImportError:
        return f"policy.distributed.engine is 'ray' in {source} but Ray is not installed; pip install 'ding_lite[ray]'"
    intervention = cfg["policy"].get("intervention") or {}
    if intervention.get("pretrained_path") or intervention.get("controller"):
        return (
            f"policy.intervention is set in {source} but interventions run in the training process, not in Ray "
            "actors; unset policy.intervention or policy.distributed.engine"
        )
    return None


def check_ray_config(cfg: Mapping[str, Any], source: str) -> None:
    """Raise the :func:`ray_problem` as a ConfigError."""
    problem = ray_problem(cfg, source)
    if problem is not None:
        raise ConfigError(problem)
