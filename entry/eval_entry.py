"""``eval_pipeline``: play a checkpoint greedily and report its returns (``ding -m eval``).

The checkpoint is ``load_path`` if given, else the config's ``policy.load_path``. Only the model's weights
are read: a ding_lite or DI-engine ``.pth.tar``, or a ``pretrained_model/`` folder. Writes
``<exp>/eval_result.json``. Envs that report more about each episode (``last_episode_extras``: under
``env.reward_classifier`` the env's own return ``env_reward`` beside the classifier's) add ``episode_extras``
and ``<name>_mean`` to it, taken from the same episodes as the returns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ding_lite.checkpoint.partial import partial_load
from ding_lite.checkpoint.pretrained import pretrained_folder, read_weights
from ding_lite.config import compile_config
from ding_lite.entry.build import ConfigInput, load_input_config
from ding_lite.envs import make_env_manager
from ding_lite.errors import ConfigError
from ding_lite.policy import POLICY_REGISTRY
from ding_lite.utils.rng import seed_everything
from ding_lite.utils.threads import single_thread_compute
from ding_lite.worker.evaluator import run_episodes

log = logging.getLogger("ding_lite")


def eval_pipeline(
    input_cfg: ConfigInput,
    seed: int = 0,
    *,
    load_path: str | Path | None = None,
    n_episode: int | None = None,
    env_fn: Callable[[], Any] | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    main, create, source = load_input_config(input_cfg, source)
    cfg = compile_config((main, create), seed, source=source, save_cfg=False)
    seed_everything(seed)
    single_thread_compute()
    path = str(load_path or cfg.policy.load_path or "")
    if not path:
        raise ConfigError(f"no checkpoint to evaluate: pass --load-path or set policy.load_path in {source}")
    weights, _ = read_weights(path, what="checkpoint")
    policy_cls = POLICY_REGISTRY.get(str(cfg.policy.type))
    if hasattr(policy_cls, "from_folder"):  # ACT: weights, features and normalisation from the folder's files
        if not Path(path).is_dir():
            raise ConfigError(f"evaluate {cfg.policy.type} from a pretrained_model/ folder, not '{path}'")
        policy = policy_cls.from_folder(cfg.policy, pretrained_folder(Path(path)) or path)
    else:
        if hasattr(policy_cls, "model_config_from_weights"):  # shapes set from a dataset in training (BC)
            cfg.policy.model.update(policy_cls.model_config_from_weights(weights))
        policy = policy_cls(cfg.policy)
        partial_load(policy.model, weights, source=path, strict=True, hint="")
    if hasattr(policy, "reset_eval"):
        policy.reset_eval()
    env = make_env_manager(cfg.env, cfg.env.manager, int(cfg.env.evaluator_env_num), env_fn)
    episodes = int(n_episode or cfg.env.n_evaluator_episode)
    extras: list[dict[str, float]] = []
    began = getattr(policy, "reset_eval", None)
    try:
        returns = run_episodes(env, policy.eval_mode.forward, episodes, seed, began, extras)
    finally:
        env.close()
    result: dict[str, Any] = {
        "episode_return_mean": sum(returns) / len(returns),
        "episode_returns": returns,
        "ckpt": str(path),
        "seed": seed,
    }
    if all(extras):  # every episode's env reported extras
        result["episode_extras"] = extras
        result.update({f"{key}_mean": float(np.mean([e[key] for e in extras])) for key in extras[0]})
        if "env_reward_mean" in result:
            log.info("the env's own return: mean %.2f (the reward classifier's: %.2f; a success in %.0f%% of the "
                     "episodes)", result["env_reward_mean"], result["episode_return_mean"],
                     100 * result.get("classifier_success_mean", 0.0))  # fmt: skip
    exp_dir = Path(cfg.exp_name)
    exp_dir.mkdir(parents=True, exist_ok=True)
    (exp_dir / "eval_result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
