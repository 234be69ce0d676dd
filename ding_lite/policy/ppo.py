"""PPO (clipped objective, GAE, value normalisation) on the shared-encoder ``VAC`` model.

Collected data is a rollout of T steps from N envs: arrays of shape (T, N, ...) with ``obs``, ``action``,
``reward``, ``done`` and ``next_obs``. A :class:`TrainCycle` turns it into ``epoch_per_collect`` passes of
minibatches of ``batch_size``; each minibatch is one train iteration. The behaviour policy's log
probabilities are computed once before the first update (the model is the one that collected), and with
``recompute_adv`` values and advantages are recomputed with the current model at the start of each epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ding_lite.checkpoint.model_io import load_learn_state
from ding_lite.errors import ConfigError
from ding_lite.model.common import ReparameterizationHead
from ding_lite.model.vac import VAC, vac_default_config
from ding_lite.numpy_learn.adam import NumpyAdam
from ding_lite.numpy_learn.ppo import NumpyPPO
from ding_lite.policy.base import Policy, clip_gradients, register_policy, use_numpy_learning
from ding_lite.policy.distributions import action_log_prob_entropy
from ding_lite.policy.optim import Adam
from ding_lite.policy.running_stats import RunningMeanStd
from ding_lite.policy.train_cycle import TrainCycle
from ding_lite.policy.weights import trainable
from ding_lite.utils.obs import map_obs


@register_policy("ppo")
class PPOPolicy(Policy):
    on_policy = True
    _model: VAC
    config: ClassVar[dict[str, Any]] = dict(
        type="ppo",
        import_names=[],
        cuda=False,
        on_policy=True,
        priority=False,
        priority_IS_weight=False,
        action_space="discrete",  # 'discrete' or 'continuous'
        recompute_adv=True,  # recompute values and GAE with the current model at every epoch
        nstep_return=False,
        multi_agent=False,
        transition_with_policy_data=True,
        load_path="",  # checkpoint evaluated by `ding -m eval` when --load-path is not given
        learn=dict(
            epoch_per_collect=10,  # passes over each collected rollout
            batch_size=64,  # minibatch size; one minibatch update = one train iteration
            learning_rate=3e-4,
            lr_scheduler=None,
            value_weight=0.5,  # weight of the value loss in the total loss
            entropy_weight=0.0,  # weight of the entropy bonus
            clip_ratio=0.2,  # PPO ratio clip, also used to clip the value update
            adv_norm=True,  # normalise advantages per minibatch
            value_norm=True,  # learn values in units of the running std of returns
            ppo_param_init=True,  # orthogonal init, zero biases
            grad_clip_type="clip_norm",
            grad_clip_value=0.5,
            ignore_done=False,  # bootstrap through episode ends (for time-limit-only envs)
            resume_training=False,  # also restore env_step and reuse the experiment directory
            update_per_collect=None,  # accepted for DI-engine configs; PPO uses epoch_per_collect
            multi_gpu=False,
            backend="auto",  # 'auto' | 'numpy' | 'torch': how updates are computed (docs/numpy_learn.md)
        ),
        collect=dict(
            n_sample=64,  # transitions per collect (rounded up to a multiple of collector_env_num)
            unroll_len=1,
            discount_factor=0.99,
            gae_lambda=0.95,
        ),
        eval=dict(),
        other=dict(),
    )

    @classmethod
    def default_model_config(cls) -> dict[str, Any]:
        return vac_default_config()

    def _create_model(self, model_cfg: Mapping[str, Any]) -> VAC:
        return VAC(
            obs_shape=model_cfg["obs_shape"],  # a state size, or an image shape (ding_lite.model.pixels)
            action_shape=int(model_cfg["action_shape"]),
            action_space=str(model_cfg.get("action_space") or self._cfg["action_space"]),
            encoder_hidden_size_list=list(model_cfg["encoder_hidden_size_list"]),
            actor_head_hidden_size=int(model_cfg["actor_head_hidden_size"]),
            actor_head_layer_num=int(model_cfg["actor_head_layer_num"]),
            critic_head_hidden_size=int(model_cfg["critic_head_hidden_size"]),
            critic_head_layer_num=int(model_cfg["critic_head_layer_num"]),
            sigma_type=str(model_cfg["sigma_type"]),
            bound_type=model_cfg.get("bound_type"),
        )

    def _init_learn(self) -> None:
        learn = self._cfg["learn"]
        self._continuous = str(self._cfg["action_space"]) == "continuous"
        if learn["ppo_param_init"]:
            self._orthogonal_init()
        self._params = trainable(self._model.parameters())
        self._numpy: NumpyPPO | None = None
        if use_numpy_learning(self, self._numpy_obstacle()):
            self._numpy = NumpyPPO(self._model, learn)
            self._optimizer: Adam | NumpyAdam = self._numpy.optimizer
        else:
            self._optimizer = Adam(self._params, lr=float(learn["learning_rate"]))
        if learn.get("lr_scheduler"):
            raise ConfigError("policy.learn.lr_scheduler is not supported by ding_lite yet; remove it from the config")
        self._value_rms = RunningMeanStd()
        self._gamma = float(self._cfg["collect"]["discount_factor"])
        self._gae_lambda = float(self._cfg["collect"]["gae_lambda"])

    def _numpy_obstacle(self) -> str | None:
        if type(self._model) is not VAC:
            return f"the model is a {type(self._model).__name__}, not the built-in VAC"
        return None

    def _orthogonal_init(self) -> None:
        for module in self._model.modules():
            if isinstance(module, nn.Linear):
                nn.init.orthogonal_(module.weight)
                nn.init.zeros_(module.bias)
        if self._continuous:
            head = self._model.actor_head
            assert isinstance(head, ReparameterizationHead)
            if head.sigma_type == "independent":
                nn.init.constant_(head.log_sigma_param, -0.5)
            for module in head.modules():
                if isinstance(module, nn.Linear):
                    nn.init.zeros_(module.bias)
                    module.weight.data.mul_(0.01)

    # --- collect / eval -------------------------------------------------------------------------
    def _init_collect(self) -> None:
        self._actor = self._model.numpy_actor()

    def _forward_collect(self, obs: np.ndarray, **kwargs: Any) -> dict[str, np.ndarray]:
        out = self._actor(obs)
        if self._continuous:
            mu, sigma = out
            return {"action": (mu + sigma * self.rng.standard_normal(mu.shape, dtype=np.float32)).astype(np.float32)}
        return {"action": (out + self.rng.gumbel(size=out.shape)).argmax(-1)}

    def _forward_eval(self, obs: np.ndarray) -> np.ndarray:
        out = self._actor(obs)
        return out[0] if self._continuous else out.argmax(-1)

    # --- learn ----------------------------------------------------------------------------------
    def _values(self, obs: Any) -> np.ndarray:
        """The critic's (normalised) values of a batch of observations (arrays, or a dict of them)."""
        if self._numpy is not None:
            return self._numpy.value(obs)
        with torch.no_grad():
            return self._model.compute_critic(map_obs(torch.from_numpy, obs)).numpy()

    def _advantages(self, rollout: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """GAE over time per env: returns (advantage, value, return), each (T, N), value normalised."""
        steps, envs = rollout["reward"].shape
        obs = map_obs(lambda t: t.numpy(), _flat_steps(rollout["obs"], steps * envs))
        next_obs = map_obs(lambda t: t.numpy(), _flat_steps(rollout["next_obs"], steps * envs))
        value = self._values(obs).reshape(steps, envs)
        next_value = self._values(next_obs).reshape(steps, envs)
        value_norm = bool(self._cfg["learn"]["value_norm"])
        std = np.float32(self._value_rms.std) if value_norm else np.float32(1.0)
        value, next_value = value * std, next_value * std
        if self._cfg["learn"]["ignore_done"]:
            not_done = np.ones_like(value)
        else:
            not_done = 1.0 - rollout["done"].numpy()
        reward = rollout["reward"].numpy()
        delta = reward + self._gamma * not_done * next_value - value
        adv = np.zeros_like(value)
        running = np.zeros(envs, dtype=np.float32)
        decay = np.float32(self._gamma * self._gae_lambda)
        for t in range(steps - 1, -1, -1):
            running = delta[t] + decay * not_done[t] * running
            adv[t] = running
        returns = adv + value
        if value_norm:
            self._value_rms.update(returns)
            value, returns = value / std, returns / std
        return torch.from_numpy(adv), torch.from_numpy(value), torch.from_numpy(returns)

    def normalization_state(self) -> dict[str, Any]:
        return {"value_norm": self._value_rms.state_dict()} if self._cfg["learn"]["value_norm"] else {}

    def load_normalization_state(self, state: Mapping[str, Any]) -> None:
        if "value_norm" in state:
            self._value_rms.load_state_dict(state["value_norm"])

    def _new_train_cycle(self, data: Mapping[str, Any]) -> TrainCycle:
        rollout = {k: map_obs(torch.as_tensor, v) for k, v in data.items()}
        rollout["done"] = rollout["done"].float()
        total = rollout["reward"].numel()
        flat_obs = _flat_steps(rollout["obs"], total)
        flat_action = rollout["action"].reshape(total, *rollout["action"].shape[2:])
        if self._numpy is not None:
            old_logp = torch.from_numpy(self._numpy.log_prob(flat_obs.numpy(), flat_action.numpy()))
        else:
            with torch.no_grad():
                actor_out = self._model.compute_actor(flat_obs)
                old_logp, _ = action_log_prob_entropy(actor_out, flat_action, self._continuous)
        return self._cycle(rollout, old_logp)

    def _restore_train_cycle(self, state: Mapping[str, Any]) -> TrainCycle:
        cycle = self._cycle(state["rollout"], state["old_logp"])
        cycle.load_state_dict(state)
        return cycle

    def _cycle(self, rollout: Mapping[str, torch.Tensor], old_logp: torch.Tensor) -> TrainCycle:
        learn = self._cfg["learn"]
        return TrainCycle(
            rollout,
            old_logp,
            epochs=int(learn["epoch_per_collect"]),
            batch_size=int(learn["batch_size"]),
            recompute_adv=bool(self._cfg["recompute_adv"]),
            advantages=self._advantages,
        )

    def _forward_learn(self, batch: Mapping[str, torch.Tensor]) -> dict[str, float]:
        if self._numpy is not None:
            return self._numpy.update(batch)
        learn = self._cfg["learn"]
        clip = float(learn["clip_ratio"])
        adv = batch["adv"]
        if learn["adv_norm"]:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        actor_out, value = self._model.compute_actor_critic(batch["obs"])
        logp, entropy = action_log_prob_entropy(actor_out, batch["action"], self._continuous)
        ratio = torch.exp(logp - batch["logp_old"])
        policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
        value_old, ret = batch["value_old"], batch["return"]
        value_clipped = value_old + (value - value_old).clamp(-clip, clip)
        value_loss = 0.5 * torch.max((ret - value) ** 2, (ret - value_clipped) ** 2).mean()
        entropy_loss = entropy.mean()
        total = policy_loss + float(learn["value_weight"]) * value_loss - float(learn["entropy_weight"]) * entropy_loss
        assert isinstance(self._optimizer, Adam)
        self._optimizer.zero_grad()
        total.backward()
        clip_gradients(self._params, learn["grad_clip_type"], float(learn["grad_clip_value"]))
        self._optimizer.step()
        with torch.no_grad():
            stats = torch.stack(
                [
                    total,
                    policy_loss,
                    value_loss,
                    entropy_loss,
                    batch["adv"].max(),
                    batch["adv"].mean(),
                    value.mean(),
                    value.max(),
                    (batch["logp_old"] - logp).mean(),
                    ((ratio - 1).abs() > clip).float().mean(),
                ]
            ).tolist()
        return {"cur_lr": self._optimizer.param_groups[0]["lr"], **dict(zip(self._monitor_vars_learn()[1:], stats))}

    def _monitor_vars_learn(self) -> list[str]:
        return [
            "cur_lr",
            "total_loss",
            "policy_loss",
            "value_loss",
            "entropy_loss",
            "adv_max",
            "adv_mean",
            "value_mean",
            "value_max",
            "approx_kl",
            "clipfrac",
        ]

    # --- state ----------------------------------------------------------------------------------
    def _state_dict_learn(self) -> dict[str, Any]:
        return {
            "model": self._model.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "ding_lite": {"value_norm": self._value_rms.state_dict()},
        }

    def _load_state_dict_learn(self, state: Mapping[str, Any]) -> None:
        optimizers = [(self._optimizer, state["optimizer"], "optimizer")] if "optimizer" in state else []
        load_learn_state([(self._model, state["model"], "model")], optimizers)
        value_norm = state.get("ding_lite", {}).get("value_norm")
        if value_norm is not None:
            self._value_rms.load_state_dict(value_norm)


def _flat_steps(obs: Any, total: int) -> Any:
    """(T, N, ...) observation tensors (or a dict of them) as (T * N, ...)."""
    return map_obs(lambda t: t.reshape(total, *t.shape[2:]), obs)
