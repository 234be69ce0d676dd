"""DQN: double-Q targets from a hard-updated target network, n-step returns, epsilon-greedy collection.

A train batch (from the replay buffer) holds ``obs``, ``action``, ``reward`` (the n-step discounted
reward sum), ``gamma_n`` (discount for the bootstrap, ``discount_factor ** k`` for the k steps actually
taken), ``done`` and ``next_obs``. The target network is copied from the online one after every
``target_update_freq`` train iterations (counted by ``train_iter``, so it survives a reload).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from ding_lite.checkpoint.model_io import load_learn_state
from ding_lite.model.q_network import DQN, dqn_default_config
from ding_lite.numpy_learn.adam import NumpyAdam
from ding_lite.numpy_learn.dqn import NumpyDQN
from ding_lite.policy.base import Policy, register_policy, use_numpy_learning
from ding_lite.policy.optim import Adam
from ding_lite.policy.weights import trainable


def epsilon_at(eps_cfg: Mapping[str, Any], env_step: int) -> float:
    """DI-engine's exploration schedule, keyed on collector env steps ('exp' or 'linear')."""
    start, end, decay = float(eps_cfg["start"]), float(eps_cfg["end"]), float(eps_cfg["decay"])
    if eps_cfg["type"] == "exp":
        return end + (start - end) * math.exp(-env_step / decay)
    if eps_cfg["type"] == "linear":
        return max(end, start - (start - end) * env_step / decay)
    raise ValueError(f"unknown policy.other.eps.type '{eps_cfg['type']}'; use 'exp' or 'linear'")


@register_policy("dqn")
class DQNPolicy(Policy):
    on_policy = False
    _model: DQN
    config: ClassVar[dict[str, Any]] = dict(
        type="dqn",
        import_names=[],
        cuda=False,
        on_policy=False,
        priority=False,
        priority_IS_weight=False,
        discount_factor=0.97,  # reward discount
        nstep=1,  # n-step return length
        random_collect_size=0,  # uniformly random transitions collected before training starts
        load_path="",  # checkpoint evaluated by `ding -m eval` when --load-path is not given
        learn=dict(
            update_per_collect=3,  # train iterations after each collect
            batch_size=64,
            learning_rate=0.001,
            target_update_freq=100,  # hard target update period, in train iterations
            target_theta=0.005,  # accepted for DI-engine configs (soft updates are not used by DQN)
            ignore_done=False,
            resume_training=False,  # also restore env_step and reuse the experiment directory
            multi_gpu=False,
            backend="auto",  # 'auto' | 'numpy' | 'torch': how updates are computed (docs/numpy_learn.md)
        ),
        collect=dict(n_sample=8, unroll_len=1),
        eval=dict(),
        other=dict(eps=dict(type="exp", start=0.95, end=0.1, decay=10000)),
    )

    @classmethod
    def default_model_config(cls) -> dict[str, Any]:
        return dqn_default_config()

    def _create_model(self, model_cfg: Mapping[str, Any]) -> DQN:
        return DQN(
            obs_shape=model_cfg["obs_shape"],  # a state size, or an image shape (ding_lite.model.pixels)
            action_shape=int(model_cfg["action_shape"]),
            encoder_hidden_size_list=list(model_cfg["encoder_hidden_size_list"]),
            dueling=bool(model_cfg["dueling"]),
            head_hidden_size=model_cfg.get("head_hidden_size"),
            head_layer_num=int(model_cfg["head_layer_num"]),
        )

    def _init_learn(self) -> None:
        learn = self._cfg["learn"]
        self._target_model = copy.deepcopy(self._model)
        self._target_model.requires_grad_(False)
        self._numpy: NumpyDQN | None = None
        obstacle = None if type(self._model) is DQN else f"the model is a {type(self._model).__name__}, not DQN"
        if use_numpy_learning(self, obstacle):
            self._numpy = NumpyDQN(
                self._model, self._target_model, float(learn["learning_rate"]), bool(learn["ignore_done"])
            )
            self._optimizer: Adam | NumpyAdam = self._numpy.optimizer
        else:
            self._optimizer = Adam(trainable(self._model.parameters()), lr=float(learn["learning_rate"]))
        self._train_iter = 0
        self._n_actions = int(self._cfg["model"]["action_shape"])

    def _init_collect(self) -> None:
        self._q = self._model.numpy_q(ranking_only=True)  # acting needs only the argmax

    def _forward_collect(self, obs: np.ndarray, env_step: int = 0, **kwargs: Any) -> dict[str, np.ndarray]:
        eps = epsilon_at(self._cfg["other"]["eps"], env_step)
        greedy = self._q(obs).argmax(-1)
        explore = self.rng.random(len(greedy)) < eps
        return {"action": np.where(explore, self.rng.integers(0, self._n_actions, len(greedy)), greedy)}

    def _forward_eval(self, obs: np.ndarray) -> np.ndarray:
        return self._q(obs).argmax(-1)

    def sync_targets(self) -> None:
        self._target_model.load_state_dict(self._model.state_dict())

    def set_train_iter(self, train_iter: int) -> None:
        """Aligns the target-update schedule with the learner's counter (after loading a checkpoint)."""
        self._train_iter = train_iter

    def _forward_learn(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        if self._numpy is not None:
            result = self._numpy.update(batch)
            self._after_update()
            return result
        obs, next_obs = batch["obs"], batch["next_obs"]
        action = batch["action"].long()
        q_value = self._model(obs).gather(1, action.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            next_action = self._model(next_obs).argmax(-1, keepdim=True)
            target_q = self._target_model(next_obs).gather(1, next_action).squeeze(1)
            not_done = torch.ones_like(target_q) if self._cfg["learn"]["ignore_done"] else 1.0 - batch["done"].float()
            target = batch["reward"] + batch["gamma_n"] * not_done * target_q
        loss = torch.nn.functional.mse_loss(q_value, target)
        assert isinstance(self._optimizer, Adam)
        self._optimizer.zero_grad()
        loss.backward()
        self._optimizer.step()
        self._after_update()
        return {
            "cur_lr": self._optimizer.param_groups[0]["lr"],
            "total_loss": loss.item(),
            "q_value": q_value.mean().item(),
            "target_q_value": target_q.mean().item(),
        }

    def _after_update(self) -> None:
        """Count the update; copy the online net into the target net every ``target_update_freq`` of them."""
        self._train_iter += 1
        if self._train_iter % int(self._cfg["learn"]["target_update_freq"]) == 0:
            self._target_model.load_state_dict(self._model.state_dict())

    def _monitor_vars_learn(self) -> list[str]:
        return ["cur_lr", "total_loss", "q_value", "target_q_value"]

    def _state_dict_learn(self) -> dict[str, Any]:
        return {
            "model": self._model.state_dict(),
            "target_model": self._target_model.state_dict(),
            "optimizer": self._optimizer.state_dict(),
        }

    def _load_state_dict_learn(self, state: Mapping[str, Any]) -> None:
        models = [(self._model, state["model"], "model"),
                  (self._target_model, state.get("target_model", state["model"]), "target_model")]  # fmt: skip
        optimizers = [(self._optimizer, state["optimizer"], "optimizer")] if "optimizer" in state else []
        load_learn_state(models, optimizers)
